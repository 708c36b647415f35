#!/usr/bin/env bash
# Side-by-side benchmarks. Each prints one line "name: value unit (details)".
#   bash bench/run.sh [startup] [rss] [mem] [xen] [nested-boot]   (nested-boot: ROUNDS=3, ~2 min;
#   xen: NESTED=1 adds the same guests in the nested L1)
set -uo pipefail
cd "$(dirname "$0")/.."
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(startup rss mem xen nested-boot)
for b in "${benches[@]}"; do
	bash "bench/$b.sh"
done
