#!/usr/bin/env bash
# Runs the libFuzzer harnesses built by `make fuzz` (tests/fuzz/fuzz.mk).
#
#   run.sh run SECONDS [HARNESS...]     each harness for SECONDS over a copy of its seed corpus;
#                                       one PASS/FAIL line each, then "fuzz: N passed, N failed"
#   run.sh long SECONDS [HARNESS...]    the same, recorded as the long run
#   run.sh report SECONDS [HARNESS...]  executions, edge coverage and crashes of the last short
#                                       and long run of each harness (never run: runs it first)
#
# HARNESS defaults to every build/fuzz/fuzz_* binary; FUZZ_JOBS=N runs N at a time. A harness fails on a non-zero exit, any
# artifact (crash-, leak-, timeout-, oom-), or any sanitizer report or violated invariant in
# its log. Work files: $FUZZ_OUT/<mode>/<harness>/{corpus,artifacts,log}; the seed corpus in
# the tree is never written. Results: $FUZZ_OUT/results/<harness>.<mode>.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

OUT=${FUZZ_OUT:-build/fuzz}
SEEDS=tests/fuzz/corpus
REGRESSIONS=tests/fuzz/crashes
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
UNIT_TIMEOUT=${FUZZ_UNIT_TIMEOUT:-10}

mode=${1:-run}
seconds=${2:-20}
shift $(($# >= 2 ? 2 : $#))
case $mode in
run | long | report) ;;
*)
	echo "usage: $0 run|long|report SECONDS [HARNESS...]" >&2
	exit 2
	;;
esac
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
	echo "$0: SECONDS must be a positive number, not '$seconds'" >&2
	exit 2
fi
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
	for bin in "$OUT"/fuzz_*; do
		[ -f "$bin" ] && [ -x "$bin" ] && harnesses+=("$(basename "$bin")")
	done
fi
if [ ${#harnesses[@]} -eq 0 ]; then
	echo "FAIL fuzz: no harnesses in $OUT (run make fuzz)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

# A value of a results file.
field() { # KEY FILE
	sed -n "s/^$1=//p" "$2"
}

# The value of "key: N" on the last line of the log that has it.
last_stat() { # KEY LOG
	grep -oE "$1 [0-9]+" "$2" | tail -n 1 | grep -oE '[0-9]+$'
}

# What went wrong, in one line: the first sanitizer/invariant/libFuzzer error of the log.
first_error() { # LOG
	grep -m 1 -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:|^fuzz: |ERROR: libFuzzer|==[0-9]+== ?ERROR|deadly signal|Killed|timeout after' "$1" |
		sed -E 's/^==[0-9]+==//; s/^ +//' | cut -c1-200
}

run_one() { # HARNESS SECONDS MODE -> PASS/FAIL line, results file; returns 0 on PASS
	local h=$1 secs=$2 m=$3
	local bin=$OUT/$h work=$OUT/$m/$h
	local log=$work/log rc execs cov ft eps corpus crashes reports status why artifact

	if [ ! -x "$bin" ]; then
		echo "FAIL $h: not built ($bin; run make fuzz)"
		return 1
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts" "$OUT/results"
	if [ -d "$SEEDS/$h" ]; then
		cp -r "$SEEDS/$h/." "$work/corpus/"
	fi
	# Inputs that once crashed are read as a second corpus, never written: a regression
	# fails the run at once.
	local dirs=("$work/corpus")
	[ -d "$REGRESSIONS/$h" ] && [ -n "$(ls -A "$REGRESSIONS/$h")" ] && dirs+=("$REGRESSIONS/$h")

	timeout -k 10 $((secs + 300)) "$bin" \
		-max_total_time="$secs" -print_final_stats=1 -timeout="$UNIT_TIMEOUT" \
		-rss_limit_mb="$RSS_LIMIT_MB" -close_fd_mask=3 \
		-artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "run.sh: timeout after $((secs + 300)) s" >>"$log"

	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	cov=$(last_stat 'cov:' "$log")
	ft=$(last_stat 'ft:' "$log")
	corpus=$(find "$work/corpus" -type f | wc -l)
	crashes=$(find "$work/artifacts" -type f | wc -l)
	reports=$(grep -cE 'ERROR: [A-Za-z]+Sanitizer|runtime error:|fuzz: invariant violated|fuzz: harness setup failed|deadly signal' "$log")
	status=PASS
	if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ] || [ "$reports" -gt 0 ]; then
		status=FAIL
		[ "$crashes" -eq 0 ] && crashes=1 # a finding without an artifact still counts
	fi
	cat >"$OUT/results/$h.$m" <<-EOF
		harness=$h
		mode=$m
		seconds=$secs
		execs=${execs:-0}
		exec_per_sec=${eps:-0}
		cov=${cov:-0}
		ft=${ft:-0}
		corpus=$corpus
		crashes=$crashes
		status=$status
		date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		log=$log
	EOF

	if [ $status = PASS ]; then
		echo "PASS $h: ${execs:-0} execs, cov ${cov:-0} (ft ${ft:-0}, corpus $corpus, ${secs} s)"
		return 0
	fi
	why=$(first_error "$log")
	artifact=$(find "$work/artifacts" -type f | head -n 1)
	echo "FAIL $h: ${execs:-0} execs, cov ${cov:-0}, exit $rc, $crashes finding(s): ${why:-see $log}"
	if [ -n "$artifact" ]; then
		echo "    input: $artifact"
		echo "    reproduce: $bin $artifact"
		for known in "$REGRESSIONS/$h"/*; do
			[ -f "$known" ] && cmp -s "$known" "$artifact" &&
				echo "    known finding: $known (open; see $REGRESSIONS/README.md)"
		done
	fi
	echo "    log: $log"
	# the report itself, from the first error line on
	awk '/ERROR: [A-Za-z]+Sanitizer|runtime error:|^fuzz: |deadly signal/ { p = 1 } p' \
		"$log" | head -n 25 | sed 's/^/    | /'
	return 1
}

if [ "$mode" = report ]; then
	for h in "${harnesses[@]}"; do
		if [ ! -f "$OUT/results/$h.run" ] && [ ! -f "$OUT/results/$h.long" ]; then
			echo "($h has no results yet: running it for $seconds s)"
			run_one "$h" "$seconds" run >/dev/null
		fi
	done
	total_crashes=0
	printf '%-14s %-5s %7s %12s %8s %11s %8s %7s %8s  %s\n' harness run seconds executions \
		exec/s 'cov(edges)' features corpus crashes date
	for h in "${harnesses[@]}"; do
		for m in run long; do
			f=$OUT/results/$h.$m
			[ -f "$f" ] || continue
			printf '%-14s %-5s %7s %12s %8s %11s %8s %7s %8s  %s\n' "$h" \
				"$([ "$m" = run ] && echo short || echo long)" "$(field seconds "$f")" \
				"$(field execs "$f")" "$(field exec_per_sec "$f")" "$(field cov "$f")" \
				"$(field ft "$f")" "$(field corpus "$f")" "$(field crashes "$f")" \
				"$(field date "$f")"
			c=$(sed -n 's/^crashes=//p' "$f")
			total_crashes=$((total_crashes + c))
		done
	done
	echo "fuzz-report: ${#harnesses[@]} harnesses, $total_crashes crashes found"
	[ "$total_crashes" -eq 0 ]
	exit
fi

# FUZZ_JOBS harnesses at a time (each is one process on one core); lines print in order.
jobs=${FUZZ_JOBS:-1}
passed=0
failed=0
mkdir -p "$OUT/$mode"
for h in "${harnesses[@]}"; do
	if [ "$jobs" -le 1 ]; then
		run_one "$h" "$seconds" "$mode" >"$OUT/$mode/$h.summary"
		echo $? >"$OUT/$mode/$h.rc"
		cat "$OUT/$mode/$h.summary"
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	(
		run_one "$h" "$seconds" "$mode" >"$OUT/$mode/$h.summary"
		echo $? >"$OUT/$mode/$h.rc"
	) &
done
wait
for h in "${harnesses[@]}"; do
	[ "$jobs" -gt 1 ] && cat "$OUT/$mode/$h.summary"
	if [ "$(cat "$OUT/$mode/$h.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
