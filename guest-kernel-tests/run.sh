#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the guest-kernel-tests described by configs/smoke/*.ini, the same files
# `minivmm test configs/smoke/` runs; this script is the QEMU comparison tool.
#
#   guest-kernel-tests/run.sh [options] [NAME...]
#     --qemu            run under QEMU microvm on /dev/kvm instead of $VMM
#     --vmm PATH        the VMM (default: $VMM, else ./minivmm, else the one at
#                       the top of this repository); invoked as
#                       PATH run --kernel FILE --cpus N --memory SIZE --cmdline STR
#                       [--memory-backing B] [--memory-hugepages S] [--initrd FILE]
#     --timeout SEC     per-test timeout (default: $TIMEOUT, else the config's
#                       [test] timeout, else 60)
#     --build-dir DIR   where the *.elf are (default: $OUT, else guest-kernel-tests/build);
#                       a config kernel under guest-kernel-tests/build/ is taken from DIR
#     --configs DIR     the test configs (default: $CONFIGS, else configs/smoke)
#     --time            append the wall time to each PASS/FAIL line
#     -v, --verbose     show the command, and the output tail of failing tests
#     NAME...           run only these tests (config file names without .ini)
# Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per test, then
# "guest-kernel-tests: N passed, N failed" (", N skipped" appended when some
# were). Exit status 1 if any test failed or none passed, 2 on a usage or
# setup error. Logs: <build-dir>/logs/<name>.{out,err}.
#
# From each config: [machine] cpus, [memory] size/backing/hugepages, [boot]
# kernel (relative to the config's directory)/initrd/cmdline (repeated lines
# joined with spaces), [test] timeout, expect (every one must match a console
# line), fail-on (none may match), exit-status (default 0). Comment lines of
# the form "#: key = value" are for this script only:
#   #: needs = testdev     the guest uses minivmm's test device: SKIP in --qemu mode
# [xen] enabled = true adds --xen (minivmm's Xen HVM emulation); SKIP in --qemu mode.
#   #: stderr = REGEX      extended regex, case-insensitive, that must match the
#                          VMM's stderr (not checked in --qemu mode)
#
# QEMU mode: isa-debug-exit turns a guest exit code C into the status
# (C << 1) | 1, so only C & 0x7f is recoverable and the expectation is
# compared modulo 128; status 0 means QEMU shut down without an exit-port
# write (with -no-reboot: a triple fault or reset) and counts as exit 1, the
# status minivmm gives a guest shutdown. [memory] backing and hugepages are
# ignored there.
set -u
LC_COLLATE=C # the order of `minivmm test`: byte order of the file names

here=$(cd "$(dirname "$0")" && pwd)
mode=vmm
vmm=${VMM:-./minivmm}
# run from elsewhere than the top of the repository: use the repository's binary
[ -z "${VMM:-}" ] && [ ! -e ./minivmm ] && [ -x "$here/../minivmm" ] && vmm=$here/../minivmm
timeout_s=${TIMEOUT:-}
build=${OUT:-$here/build}
configs=${CONFIGS:-$here/../configs/smoke}
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
	--configs) [ $# -ge 2 ] || die "--configs needs a directory"; configs=$2; shift ;;
	--configs=*) configs=${1#*=} ;;
	--time) show_time=1 ;;
	-v|--verbose) verbose=1 ;;
	-h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) only+=("$1") ;;
	esac
	shift
done

case $timeout_s in ''|*[!0-9]*) [ -z "$timeout_s" ] || die "bad timeout '$timeout_s'" ;; esac
[ -d "$configs" ] || die "no config directory $configs (set --configs or CONFIGS=)"
configs=$(cd "$configs" && pwd)
ini_files=()
for f in "$configs"/*.ini; do [ -f "$f" ] && ini_files+=("${f##*/}"); done
[ ${#ini_files[@]} -gt 0 ] || die "no .ini files in $configs"
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

# parse_ini FILE: prints "section.key=value" per setting (as minivmm's reader
# sees it: indentation stripped, ';' or '#' comment lines, inline " ;" comments,
# '=' or ':' separator, value trimmed) and "directive.key=value" per "#: key = value"
parse_ini() {
	awk '
	function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		if (line ~ /^#:/) {
			line = substr(line, 3)
			i = index(line, "=")
			if (i) print "directive." trim(substr(line, 1, i - 1)) "=" trim(substr(line, i + 1))
			next
		}
		if (line ~ /^[;#]/ || trim(line) == "") next
		if (line ~ /^\[/) { s = line; sub(/^\[/, "", s); sub(/\].*$/, "", s); section = trim(s); next }
		if (match(line, /[ \t];/)) line = substr(line, 1, RSTART - 1)
		i = match(line, /[=:]/)
		if (!i) { print "error.syntax=" NR; next }
		print section "." trim(substr(line, 1, i - 1)) "=" trim(substr(line, i + 1))
	}' "$1"
}

pass=0
fail=0
skip=0
seen=()
for ini in "${ini_files[@]}"; do
	name=${ini%.ini}
	selected "$name" || continue
	seen+=("$name")
	file=$configs/$ini
	cpus=1 mem=256M backing='' hugepages='' kernel='' initrd='' cmdline='' want=0
	ini_timeout='' needs='' err_re='' bad='' xen=false
	expects=() fail_ons=()
	while IFS= read -r kv; do
		key=${kv%%=*} val=${kv#*=}
		case $key in
		machine.cpus) cpus=$val ;;
		memory.size) mem=$val ;;
		memory.backing) backing=$val ;;
		memory.hugepages) hugepages=$val ;;
		boot.kernel) kernel=$val ;;
		boot.initrd) initrd=$val ;;
		boot.cmdline) cmdline=${cmdline:+$cmdline }$val ;;
		test.timeout) ini_timeout=$val ;;
		test.expect) expects+=("$val") ;;
		test.fail-on) fail_ons+=("$val") ;;
		test.exit-status) want=$val ;;
		directive.needs) needs=$val ;;
		xen.enabled) xen=$val ;;
		directive.stderr) err_re=$val ;;
		error.*) bad="syntax error on line $val" ;;
		esac
	done < <(parse_ini "$file")
	[ -z "$kernel" ] && [ -z "$bad" ] && bad="no [boot] kernel"
	case $want in ''|*[!0-9]*) bad="bad exit-status '$want'" ;; esac
	if [ -n "$bad" ]; then
		echo "FAIL $name: $ini: $bad"
		fail=$((fail + 1))
		continue
	fi
	if [ $mode = qemu ] && [ "$needs" = testdev ]; then
		echo "SKIP $name: needs the minivmm test device"
		skip=$((skip + 1))
		continue
	fi
	case $xen in true|yes|on|1) xen=true ;; *) xen=false ;; esac
	if [ $mode = qemu ] && [ $xen = true ]; then
		echo "SKIP $name: needs minivmm's Xen HVM emulation"
		skip=$((skip + 1))
		continue
	fi
	# the build directory's kernels come from --build-dir; other paths are
	# relative to the config's directory
	case $kernel in
	guest-kernel-tests/build/*|*/guest-kernel-tests/build/*) kernel=$build/${kernel##*/} ;;
	/*) ;;
	*) kernel=$configs/$kernel ;;
	esac
	case $initrd in ''|/*) ;; *) initrd=$configs/$initrd ;; esac
	tmo=${timeout_s:-${ini_timeout:-60}}
	[ "$tmo" = 0 ] && tmo=86400
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
		[ -n "$initrd" ] && cmd+=(-initrd "$initrd")
	else
		cmd=("$vmm" run --kernel "$kernel" --cpus "$cpus" --memory "$mem" --cmdline "$cmdline")
		[ -n "$backing" ] && cmd+=(--memory-backing "$backing")
		[ -n "$hugepages" ] && cmd+=(--memory-hugepages "$hugepages")
		[ -n "$initrd" ] && cmd+=(--initrd "$initrd")
		[ $xen = true ] && cmd+=(--xen)
	fi
	[ $verbose = 1 ] && { printf '#'; printf ' %q' "${cmd[@]}"; echo; }

	t0=$(now)
	timeout --kill-after=5 "$tmo" "${cmd[@]}" </dev/null >"$out" 2>"$err"
	st=$?
	t1=$(now)
	elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')

	reasons=()
	timed_out=0
	if { [ $st -eq 124 ] || [ $st -eq 137 ]; } &&
		awk -v e="$elapsed" -v t="$tmo" 'BEGIN { exit !(e >= t - 0.5) }'; then
		timed_out=1
		reasons+=("timeout after ${tmo}s")
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
	for re in ${expects[@]+"${expects[@]}"}; do
		tr -d '\r' <"$out" | grep -Eq -- "$re" || reasons+=("missing output /$re/")
	done
	for re in ${fail_ons[@]+"${fail_ons[@]}"}; do
		tr -d '\r' <"$out" | grep -Eq -- "$re" && reasons+=("output matched fail-on /$re/")
	done
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
done

for n in ${only[@]+"${only[@]}"}; do
	found=0
	for s in ${seen[@]+"${seen[@]}"}; do [ "$s" = "$n" ] && found=1; done
	if [ $found = 0 ]; then
		echo "FAIL $n: no such test in $configs"
		fail=$((fail + 1))
	fi
done
summary="guest-kernel-tests: $pass passed, $fail failed"
[ $skip -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
