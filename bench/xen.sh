#!/usr/bin/env bash
# Xen HVM emulation costs, measured by the freestanding guests themselves (TSC in the guest):
#  - hypercall round trip (xen_version through the hypercall page) vs a bare port-I/O exit timed
#    by the same guest in the same run: the bare exit is the host's floor, so the ratio is what
#    the Xen path adds;
#  - EVTCHNOP_send to the other vCPU: IPI ping-pong round trip, send-to-upcall latency (half of
#    it) and sends per second with 2 vCPUs;
#  - the same ping-pong on the global callback vector (injected by the target's own thread)
#    against the per-vCPU vectors (KVM_SIGNAL_MSI to the target's local APIC), same rounds.
# On this host the hypercalls arrive through the port-I/O stub page (PVM has no vmcall exit);
# NESTED=1 also runs the same guests in the nested L1 (real KVM, KVM_EXIT_XEN transport) through
# tests/nested/run.sh --only xen-bench (a few minutes: L1 boots under TCG).
#   bash bench/xen.sh            ROUNDS=5 by default; medians are printed
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BUILD_DIR=guest-kernel-tests/build

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -nE "s|.*$1.*|\\1|p" | head -n 1; } # field REGEX-WITH-ONE-GROUP < text

hc=() bare=() rtt=() sps=() rtt_cb=()
for ((i = 0; i < ROUNDS; i++)); do
	out=$(./minivmm run --kernel $BUILD_DIR/xen_basic.elf --memory 64M --xen --cmdline bench=2000 \
		</dev/null 2>&1) || { echo "xen: xen_basic failed: $(tail -n 3 <<<"$out")"; exit 1; }
	hc+=("$(field 'round trip ([0-9]+) ns, bare' <<<"$out")")
	bare+=("$(field 'bare port-I/O exit ([0-9]+) ns' <<<"$out")")
	out=$(./minivmm run --kernel $BUILD_DIR/xen_ipi.elf --cpus 2 --memory 64M --xen --cmdline n=1000 \
		</dev/null 2>&1) || { echo "xen: xen_ipi failed: $(tail -n 3 <<<"$out")"; exit 1; }
	rtt+=("$(field 'none lost or doubled; round trip ([0-9]+) us' <<<"$out")")
	sps+=("$(field ' ([0-9]+) sends/s' <<<"$out")")
	out=$(./minivmm run --kernel $BUILD_DIR/xen_ipi.elf --cpus 2 --memory 64M --xen \
		--cmdline "n=1000 xen-callback=global" </dev/null 2>&1) ||
		{ echo "xen: xen_ipi (global callback) failed: $(tail -n 3 <<<"$out")"; exit 1; }
	rtt_cb+=("$(field 'none lost or doubled; round trip ([0-9]+) us' <<<"$out")")
done
for v in "${hc[@]}" "${bare[@]}" "${rtt[@]}" "${sps[@]}" "${rtt_cb[@]}"; do
	[ -n "$v" ] || { echo "xen: a guest printed no figure (format changed?)"; exit 1; }
done
m_hc=$(printf '%s\n' "${hc[@]}" | median)
m_bare=$(printf '%s\n' "${bare[@]}" | median)
m_rtt=$(printf '%s\n' "${rtt[@]}" | median)
m_sps=$(printf '%s\n' "${sps[@]}" | median)
m_rtt_cb=$(printf '%s\n' "${rtt_cb[@]}" | median)
awk -v h="$m_hc" -v b="$m_bare" -v r="$ROUNDS" 'BEGIN {
	printf "xen-hypercall: %.2f x a bare port-I/O exit (xen_version %.1f us, bare exit %.1f us, host port-I/O stubs, median of %d runs)\n", h / b, h / 1000, b / 1000, r }'
echo "xen-ipi: EVTCHNOP_send ping-pong between 2 vCPUs: round trip $m_rtt us, send-to-upcall ~$((m_rtt / 2)) us, $m_sps sends/s (host, median of $ROUNDS runs of 1000)"
awk -v c="$m_rtt_cb" -v p="$m_rtt" -v r="$ROUNDS" 'BEGIN {
	printf "xen-ipi-callback: the same ping-pong on the global callback vector: round trip %d us, %.2f x the per-vCPU vectors (median of %d runs each)\n", c, c / p, r }'

[ "${NESTED:-0}" = 1 ] || exit 0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash tests/nested/run.sh --only '^xen-bench$' >"$log" 2>&1 ||
	{ echo "xen (L1): the nested run failed: $(grep -E 'FAIL|nested:' "$log" | tail -n 3)"; exit 1; }
info=$(grep -E 'INFO xen-bench ' "$log" | tail -n 1)
l1() { sed -nE "s/.* $1=([0-9]+).*/\\1/p" <<<"$info"; }
[ -n "$(l1 hypercall_ns)" ] || { echo "xen (L1): no figures in the nested log"; exit 1; }
awk -v h="$(l1 hypercall_ns)" -v b="$(l1 bare_exit_ns)" 'BEGIN {
	printf "xen-hypercall (L1): %.2f x a bare port-I/O exit (xen_version %.1f us through KVM_EXIT_XEN, bare exit %.1f us, nested under TCG)\n", h / b, h / 1000, b / 1000 }'
echo "xen-ipi (L1): round trip $(l1 ipi_rtt_us) us, send-to-upcall ~$(($(l1 ipi_rtt_us) / 2)) us, $(l1 sends_per_s) sends/s"
