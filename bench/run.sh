#!/usr/bin/env bash
# Side-by-side benchmarks. Each prints one line "name: value unit (details)".
#   bash bench/run.sh [startup] [rss] [mem] [nested-boot]   (nested-boot: ROUNDS=3, ~2 min)
set -uo pipefail
cd "$(dirname "$0")/.."
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(startup rss mem nested-boot)
for b in "${benches[@]}"; do
	bash "bench/$b.sh"
done
