#!/usr/bin/env bash
# virtio-blk throughput from an L2 Linux guest, minivmm vs QEMU microvm (virtio-blk-device,
# aio=io_uring) on the same image, in the same nested L1 runs (tests/nested/l1-tests.sh
# virtio_perf). Prints the harness's INFO lines with the figures.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tests/nested/run.sh --minivmm ./minivmm --only 'virtio-perf-.*bookworm' 2>/dev/null |
	grep -E '^(INFO|PASS|FAIL)'
