#!/usr/bin/env bash
# virtio-blk from an L2 Linux guest, minivmm vs QEMU microvm (virtio-blk-device, aio=io_uring)
# on the same kind of image, in the same nested L1 run (tests/nested/l1-tests.sh virtio_perf):
# sequential 1 MiB writes and reads (dd, O_DIRECT) and 4 KiB random reads at queue depth 1
# (tests/nested/randread.c). Prints the harness's INFO lines, then minivmm/QEMU ratios
# (above 1: minivmm is faster).
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(bash tests/nested/run.sh --minivmm ./minivmm --only 'virtio-perf-.*bookworm' 2>/dev/null |
	grep -E '^(INFO|PASS|FAIL)')
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '/^INFO virtio-perf-/ {
		for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$2, kv[1]] = kv[2] }
		if ($2 ~ /minivmm/) m = $2; else q = $2
	}
	END {
		if (!m || !q) { print "nested-virtio: no figures from both VMMs"; exit 1 }
		n = split("seq_write_mib_s seq_read_mib_s randread4k_qd1_iops", k, " ")
		for (i = 1; i <= n; i++)
			if (v[q, k[i]] > 0)
				printf "nested-virtio: %s minivmm %s, QEMU %s: %.2fx\n", k[i], v[m, k[i]], v[q, k[i]], v[m, k[i]] / v[q, k[i]]
	}'
