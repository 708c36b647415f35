#!/usr/bin/env bash
# minivmm's own resident memory outside guest RAM while a guest runs (from /proc/PID/smaps):
# every mapping except the guest RAM mappings (memfd "minivmm-ram", or the shared anonymous
# mappings of an anonymous backing). QEMU microvm on the same guest for comparison.
set -uo pipefail
cd "$(dirname "$0")/.."
GUEST=guest-kernel-tests/build/idle.elf
MEM=64M

vmm_rss_kib() { # PID: Rss of all mappings except guest RAM
	awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = ($0 ~ /minivmm-ram/) } /^Rss:/ { if (!ram) s += $2 } END { print s }' "/proc/$1/smaps"
}

./minivmm run --kernel "$GUEST" --memory "$MEM" </dev/null >/dev/null 2>&1 &
pid=$!
sleep 1
if ! kill -0 $pid 2>/dev/null; then
	echo "rss: minivmm exited early"
	exit 1
fi
mv=$(vmm_rss_kib $pid)
total=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
kill $pid
wait $pid 2>/dev/null
qemu-system-x86_64 -accel kvm -M microvm -nographic -no-reboot -nodefaults -serial stdio \
	-m "$MEM" -kernel "$GUEST" </dev/null >/dev/null 2>&1 &
qpid=$!
sleep 1
q=$(awk '/^VmRSS/ {print $2}' /proc/$qpid/status 2>/dev/null)
kill $qpid 2>/dev/null
wait $qpid 2>/dev/null
echo "rss: ${mv} KiB minivmm outside guest RAM (total VmRSS ${total} KiB with guest RAM; QEMU microvm total VmRSS ${q:-?} KiB, same guest and ${MEM})"
