#!/usr/bin/env bash
# Side-by-side benchmarks. Each prints one line "name: value unit (details)".
#   bash bench/run.sh [startup] [rss]
set -uo pipefail
cd "$(dirname "$0")/.."
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(startup rss mem)
for b in "${benches[@]}"; do
	bash "bench/$b.sh"
done
