#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Model-check the guest-physical cache protocol (tests/model/gpc.pml) with spin: the correct
# model must verify exhaustively, its progress check must find no fair non-progress cycle, and
# every mutant must produce a counterexample of the expected kind.  Prints one line per run and
# a summary; exits non-zero if any run did not turn out as expected.
#
#   bash tests/model/run.sh            from the repo root (any cwd works)
#   JOBS=1 bash tests/model/run.sh     runs in sequence (default: 2 at a time)
#   KEEP=1 bash tests/model/run.sh     keep build/model.XXXXXX (pan sources, outputs, trails)
#
# Needs only spin and gcc.  Work happens in a fresh directory under build/.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
model=$here/gpc.pml
JOBS=${JOBS:-2}
DEPTH=${DEPTH:-20000}   # pan -m; runs are also checked for "max search depth too small"

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL model: $tool not found"
		echo "model: 0 passed, 1 failed"
		exit 1
	fi
done

mkdir -p "$root/build"
work=$(mktemp -d "$root/build/model.XXXXXX") || exit 1
if [ "${KEEP:-0}" = 1 ]; then
	echo "work directory: $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi

# name | mode | expected outcome | spin -D switches
#   mode: safety   = pan -DSAFETY: assertions + invalid end states (deadlock)
#         progress = pan -DNP -l -f: non-progress cycles under weak fairness
#   expected: verify, or the kinds of counterexample accepted (comma separated):
#         P1 P2 P2b P2c (the tag of the violated assertion), deadlock, livelock
runs=(
	"model|safety|verify|"
	"progress|progress|verify|-DIOTHREAD -DNINV=1 -DMAXMOVES=0"
	"model-iothread|safety|verify|-DIOTHREAD -DNINV=1 -DMAXMOVES=0"
	"control-skip-invalid-alone|safety|verify|-DMUTANT_SKIP_INVALID -DNINV=1"
	"mutant-speculative-valid|safety|P1,P2|-DMUTANT_SPECULATIVE_VALID"
	"mutant-ignore-in-progress|safety|P1,P2|-DMUTANT_IGNORE_IN_PROGRESS"
	"mutant-no-publish-recheck|safety|P1,P2|-DMUTANT_NO_PUBLISH_RECHECK"
	"mutant-no-wait|progress|livelock|-DIOTHREAD -DNINV=1 -DMAXMOVES=0 -DMUTANT_NO_WAIT"
	"mutant-skip-invalid|safety|P2b|-DMUTANT_SKIP_INVALID -DMUTANT_KEEP_PTR -DNO_P2C"
	"mutant-keep-ptr|safety|P2c|-DMUTANT_KEEP_PTR"
	"mutant-xen-lock-order|safety|deadlock|-DMUTANT_XEN_LOCK_ORDER"
	"mutant-count-before-pause|progress|livelock|-DMAXMOVES=0 -DNINV=1 -DMUTANT_COUNT_BEFORE_PAUSE"
	"mutant-refresh-always-retargets|progress|livelock|-DMAXMOVES=0 -DREFRESH_ALWAYS_RETARGETS"
	"livelock-users-disagree-on-gpa|progress|livelock|-DMAXMOVES=1"
)

# run_one INDEX: writes the result line to $work/INDEX.res
run_one() {
	local idx=$1 name mode expect flags dir out res kind line tag depth states errors
	IFS='|' read -r name mode expect flags <<<"${runs[$idx]}"
	local -a fl=()
	read -r -a fl <<<"$flags"
	dir=$work/$idx-$name
	mkdir -p "$dir"
	cp "$model" "$dir/gpc.pml"
	out=$dir/pan.out
	res=$work/$idx.res
	if ! (cd "$dir" && spin -a "${fl[@]}" gpc.pml >spin.out 2>&1); then
		echo "FAIL $name: spin -a failed: $(head -n 3 "$dir/spin.out" | tr '\n' ' ')" >"$res"
		return
	fi
	# exhaustive runs get an optimised pan; counterexample runs stop early, compile faster
	local cflags=(-w -DMEMLIM=3072) pargs=(-m"$DEPTH" -w24)
	if [ "$expect" = verify ]; then cflags+=(-O2); else cflags+=(-O1); fi
	if [ "$mode" = progress ]; then
		cflags+=(-DNP -DNFAIR=4)
		pargs+=(-l -f)
	else
		cflags+=(-DSAFETY)
	fi
	if ! (cd "$dir" && gcc "${cflags[@]}" -o pan pan.c >gcc.out 2>&1); then
		echo "FAIL $name: gcc failed: $(head -n 3 "$dir/gcc.out" | tr '\n' ' ')" >"$res"
		return
	fi
	(cd "$dir" && ./pan "${pargs[@]}" >"$out" 2>&1)

	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
	depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
	states=$(awk '/states, stored/ { print $1; exit }' "$out")
	if [ -z "$errors" ]; then
		echo "FAIL $name: pan did not finish: $(tail -n 2 "$out" | tr '\n' ' ')" >"$res"
		return
	fi
	if grep -q 'max search depth too small' "$out"; then
		echo "FAIL $name: search truncated (max search depth too small; DEPTH=$DEPTH)" >"$res"
		return
	fi
	if grep -qE 'reached -DMEMLIM bound|out of memory' "$out"; then
		echo "FAIL $name: out of memory; search incomplete" >"$res"
		return
	fi

	if [ "$expect" = verify ]; then
		if [ "$errors" = 0 ]; then
			echo "PASS $name: verified ($states states, depth $depth)" >"$res"
		else
			kind=$(grep -m1 '^pan:1:' "$out" | sed 's/^pan:1: //')
			echo "FAIL $name: unexpected counterexample: $kind" >"$res"
		fi
		return
	fi

	if [ "$errors" = 0 ]; then
		echo "FAIL $name: no counterexample ($states states, depth $depth); the check is blind to this mutant" >"$res"
		return
	fi
	line=$(grep -m1 '^pan:1:' "$out")
	local at=${line##*(at depth }
	at=${at%)}
	case $line in
	*'invalid end state'*) kind=deadlock; tag="invalid end state" ;;
	*'non-progress cycle'*) kind=livelock; tag="non-progress cycle" ;;
	*'assertion violated'*)
		# replay the trail to find the assertion's source line and its /* Pn */ tag
		local src
		src=$(cd "$dir" && spin -t "${fl[@]}" gpc.pml 2>&1 |
			sed -n 's/^spin: gpc.pml:\([0-9][0-9]*\), Error: assertion violated.*/\1/p' | head -n 1)
		kind=$( [ -n "$src" ] && sed -n "${src}p" "$dir/gpc.pml" | grep -o 'P[0-9][a-z]*' | head -n 1)
		[ -n "$kind" ] || kind="untagged assertion"
		tag="$kind violated, gpc.pml:$src" ;;
	*) kind=unknown; tag=$line ;;
	esac
	if [[ ",$expect," == *",$kind,"* ]]; then
		echo "PASS $name: counterexample found ($tag at depth $at)" >"$res"
	else
		echo "FAIL $name: wrong counterexample: $tag at depth $at (expected $expect)" >"$res"
	fi
}

for idx in "${!runs[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	run_one "$idx" &
done
wait

passed=0
failed=0
for idx in "${!runs[@]}"; do
	if [ -s "$work/$idx.res" ]; then
		cat "$work/$idx.res"
	else
		IFS='|' read -r name _ <<<"${runs[$idx]}"
		echo "FAIL $name: no result"
	fi
	if grep -q '^PASS ' "$work/$idx.res" 2>/dev/null; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "model: $passed passed, $failed failed"
[ "$failed" = 0 ]
