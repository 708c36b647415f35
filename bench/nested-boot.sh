#!/usr/bin/env bash
# Linux boot time, minivmm vs QEMU microvm, as L2 guests of the same nested L1 run: VMM start
# to the guest's init marker (measured inside L1), same kernel, initrd, memory and vCPUs.
# ROUNDS L1 boots, each booting every case once, alternating VMMs; medians and their ratio.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
cases='(minivmm|qemu)-bookworm-6.1-(bzimage|pvh)-1cpu'
out=$(mktemp)
for ((r = 0; r < ROUNDS; r++)); do
	bash tests/nested/run.sh --minivmm ./minivmm --only "$cases" 2>/dev/null |
		grep -E '^(TIME|INFO) ' >>"$out"
done
for proto in bzimage pvh; do
	awk -v p="$proto" -v rounds="$ROUNDS" '
	function median(a, n,    i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$1 == "TIME" && $2 ~ "^minivmm-bookworm-6.1-" p "-" { m[++nm] = $3 }
	$1 == "TIME" && $2 ~ "^qemu-bookworm-6.1-" p "-" { q[++nq] = $3 }
	$1 == "INFO" && $2 ~ "^minivmm-bookworm-6.1-" p "-" {
		for (i = 3; i <= NF; i++) {
			if ($i ~ /^vmm_rss_kib=[0-9]/) r[++nr] = substr($i, 13)
			if ($i ~ /^total_rss_kib=[0-9]/) t[++nt] = substr($i, 15)
		}
	}
	$1 == "INFO" && $2 ~ "^qemu-bookworm-6.1-" p "-" {
		for (i = 3; i <= NF; i++) if ($i ~ /^total_rss_kib=[0-9]/) qt[++nqt] = substr($i, 15)
	}
	END {
		if (!nm || !nq) { printf "nested-boot-%s: not measured (no TIME lines)\n", p; exit 1 }
		mm = median(m, nm); qm = median(q, nq)
		printf "nested-boot-%s: %.2f x QEMU microvm boot time (minivmm %d ms, qemu %d ms, median of %d/%d L2 boots of Debian 6.1 to init, 1 vCPU, %d L1 runs)\n", p, mm / qm, mm, qm, nm, nq, rounds
		if (nr && nqt)
			printf "nested-rss-%s: %d KiB minivmm outside guest RAM with the booted guest running (total %d KiB; QEMU microvm total %d KiB; medians)\n", p, median(r, nr), median(t, nt), median(qt, nqt)
	}' "$out"
done
rm -f "$out"
