#!/usr/bin/env bash
# Start-up + teardown of a guest that exits at once: minivmm vs QEMU microvm booting the same
# PVH ELF, alternating in the same run. Prints the median of each and their ratio.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-15}
GUEST=guest-kernel-tests/build/hello.elf
QEMU=${QEMU:-qemu-system-x86_64}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

mv_times=() q_times=()
for ((i = 0; i < ROUNDS; i++)); do
	t0=$(now_us)
	./minivmm run --kernel "$GUEST" --memory 64M </dev/null >/dev/null 2>&1
	rc=$?
	t1=$(now_us)
	[ $rc -eq 0 ] || { echo "startup: minivmm failed (exit $rc)"; exit 1; }
	mv_times+=($((t1 - t0)))
	t0=$(now_us)
	"$QEMU" -accel kvm -M microvm -nographic -no-reboot -nodefaults -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -m 64 -kernel "$GUEST" \
		</dev/null >/dev/null 2>&1
	rc=$?
	t1=$(now_us)
	[ $rc -eq 1 ] || { echo "startup: qemu failed (exit $rc, expected 1)"; exit 1; }
	q_times+=($((t1 - t0)))
done
mv=$(printf '%s\n' "${mv_times[@]}" | median)
q=$(printf '%s\n' "${q_times[@]}" | median)
awk -v m="$mv" -v q="$q" -v r="$ROUNDS" 'BEGIN {
	printf "startup: %.2f x faster than QEMU microvm (minivmm %.1f ms, qemu %.1f ms, median of %d rounds, hello.elf start to exit)\n", q / m, m / 1000, q / 1000, r }'
