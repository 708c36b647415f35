#!/usr/bin/env bash
# Guest-memory and shared-cache benchmarks (bench/bench_mem.c).
set -uo pipefail
cd "$(dirname "$0")/.."
exec "${BUILD:-build}/release/bench_mem"
