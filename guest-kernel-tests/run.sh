#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the guest-kernel-tests listed in tests.list.
#
#   guest-kernel-tests/run.sh [options] [NAME...]
#     --qemu            run under QEMU microvm on /dev/kvm instead of $VMM
#     --vmm PATH        the VMM (default: $VMM, else ./minivmm, else the one at
#                       the top of this repository); invoked as
#                       PATH run --kernel FILE --cpus N --memory SIZE --cmdline STR
#     --timeout SEC     per-test timeout (default: $TIMEOUT, else 60)
#     --build-dir DIR   where the *.elf are (default: $OUT, else guest-kernel-tests/build)
#     --list FILE       test list (default: guest-kernel-tests/tests.list)
#     --time            append the wall time to each PASS/FAIL line
#     -v, --verbose     show the command, and the output tail of failing tests
#     NAME...           run only these tests
# Prints "PASS name" or "FAIL name: reason" per test, then
# "guest-kernel-tests: N passed, N failed". Exit status 1 if any test failed,
# 2 on a usage or setup error. Logs: <build-dir>/logs/<name>.{out,err}.
#
# QEMU mode: isa-debug-exit turns a guest exit code C into the status
# (C << 1) | 1, so only C & 0x7f is recoverable and the expectation is
# compared modulo 128; status 0 means QEMU shut down without an exit-port
# write (with -no-reboot: a triple fault or reset) and counts as exit 1, the
# status minivmm gives a guest shutdown. stderr regexes are not checked.
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=vmm
vmm=${VMM:-./minivmm}
# run from elsewhere than the top of the repository: use the repository's binary
[ -z "${VMM:-}" ] && [ ! -e ./minivmm ] && [ -x "$here/../minivmm" ] && vmm=$here/../minivmm
timeout_s=${TIMEOUT:-60}
build=${OUT:-$here/build}
list=$here/tests.list
show_time=0
verbose=0
qemu=${QEMU:-qemu-system-x86_64}
only=()

die() { echo "run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--qemu) mode=qemu ;;
	--vmm) [ $# -ge 2 ] || die "--vmm needs a path"; vmm=$2; shift ;;
	--vmm=*) vmm=${1#*=} ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s=$2; shift ;;
	--timeout=*) timeout_s=${1#*=} ;;
	--build-dir) [ $# -ge 2 ] || die "--build-dir needs a directory"; build=$2; shift ;;
	--build-dir=*) build=${1#*=} ;;
	--list) [ $# -ge 2 ] || die "--list needs a file"; list=$2; shift ;;
	--list=*) list=${1#*=} ;;
	--time) show_time=1 ;;
	-v|--verbose) verbose=1 ;;
	-h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) only+=("$1") ;;
	esac
	shift
done

case $timeout_s in ''|*[!0-9]*) die "bad timeout '$timeout_s'" ;; esac
[ -r "$list" ] || die "cannot read $list"
listname=${list##*/}
if [ $mode = qemu ]; then
	command -v "$qemu" >/dev/null || die "$qemu not found"
else
	case $vmm in
	*/*) [ -x "$vmm" ] || die "VMM '$vmm' not found or not executable (set VMM=, --vmm, or use --qemu)" ;;
	*) command -v "$vmm" >/dev/null || die "VMM '$vmm' not found (set VMM=, --vmm, or use --qemu)" ;;
	esac
fi
command -v timeout >/dev/null || die "timeout(1) not found"
logs=$build/logs
mkdir -p "$logs" || die "cannot create $logs"

now() { date +%s.%N; }
selected() {
	[ ${#only[@]} -eq 0 ] && return 0
	local n
	for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

pass=0
fail=0
seen=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case $line in ''|'#'*) continue ;; esac
	case $line in *[![:space:]]*) ;; *) continue ;; esac
	fields=()
	while IFS= read -r -d '' f; do fields+=("$f"); done < <(printf '%s\n' "$line" | xargs printf '%s\0' 2>/dev/null)
	if [ ${#fields[@]} -lt 6 ] || [ ${#fields[@]} -gt 7 ]; then
		name=${fields[0]:-line$lineno}
		selected "$name" || continue
		seen+=("$name")
		echo "FAIL $name: bad line $lineno in $listname (${#fields[@]} fields, want 6 or 7; unbalanced quote?)"
		fail=$((fail + 1))
		continue
	fi
	name=${fields[0]} cpus=${fields[1]} mem=${fields[2]} cmdline=${fields[3]}
	want=${fields[4]} out_re=${fields[5]} err_re=${fields[6]:-}
	selected "$name" || continue
	seen+=("$name")
	cmdline=${cmdline//\{cpus\}/$cpus}
	cmdline=${cmdline//\{memory\}/$mem}
	kernel=$build/${name%%-*}.elf
	out=$logs/$name.out
	err=$logs/$name.err
	: >"$out"
	: >"$err"
	if [ ! -r "$kernel" ]; then
		echo "FAIL $name: missing kernel $kernel (build with make -C guest-kernel-tests)"
		fail=$((fail + 1))
		continue
	fi
	if [ $mode = qemu ]; then
		cmd=("$qemu" -accel kvm -M microvm -nographic -no-reboot
			-device 'isa-debug-exit,iobase=0xf4,iosize=4'
			-m "$mem" -smp "$cpus" -kernel "$kernel" -append "$cmdline")
	else
		cmd=("$vmm" run --kernel "$kernel" --cpus "$cpus" --memory "$mem" --cmdline "$cmdline")
	fi
	[ $verbose = 1 ] && { printf '#'; printf ' %q' "${cmd[@]}"; echo; }

	t0=$(now)
	timeout --kill-after=5 "$timeout_s" "${cmd[@]}" </dev/null >"$out" 2>"$err"
	st=$?
	t1=$(now)
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

	reasons=()
	timed_out=0
	if { [ $st -eq 124 ] || [ $st -eq 137 ]; } &&
		awk -v e="$elapsed" -v t="$timeout_s" 'BEGIN { exit !(e >= t - 0.5) }'; then
		timed_out=1
		reasons+=("timeout after ${timeout_s}s")
	fi
	if [ $timed_out = 0 ]; then
		got=$st
		exp=$want
		if [ $mode = qemu ]; then
			if [ $st -eq 0 ]; then
				got=1       # shutdown without exit-port write
			elif [ $((st & 1)) -eq 1 ]; then
				got=$((st >> 1))
			else
				got="qemu-status-$st"
			fi
			exp=$((want & 0x7f))
		fi
		[ "$got" = "$exp" ] || reasons+=("exit status $got expected $exp")
	fi
	if ! tr -d '\r' <"$out" | grep -Eq -- "$out_re"; then
		reasons+=("missing output /$out_re/")
	fi
	if [ -n "$err_re" ] && [ $mode != qemu ] && ! grep -Eiq -- "$err_re" "$err"; then
		reasons+=("missing stderr /$err_re/")
	fi

	suffix=
	[ $show_time = 1 ] && suffix=" (${elapsed}s)"
	if [ ${#reasons[@]} -eq 0 ]; then
		echo "PASS $name$suffix"
		pass=$((pass + 1))
	else
		r=$(printf '%s; ' "${reasons[@]}")
		echo "FAIL $name: ${r%; }$suffix"
		fail=$((fail + 1))
		if [ $verbose = 1 ]; then
			echo "  --- $out (last 20 lines)"
			tail -n 20 "$out" | tr -d '\r' | sed 's/^/  | /'
			echo "  --- $err (last 20 lines)"
			tail -n 20 "$err" | sed 's/^/  | /'
		fi
	fi
done <"$list"

for n in ${only[@]+"${only[@]}"}; do
	found=0
	for s in ${seen[@]+"${seen[@]}"}; do [ "$s" = "$n" ] && found=1; done
	if [ $found = 0 ]; then
		echo "FAIL $n: no such test in $listname"
		fail=$((fail + 1))
	fi
done
echo "guest-kernel-tests: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
