#!/usr/bin/env bash
# Runs every test layer that can run on this host and prints one final line
# "N passed, N failed" over all of them. Exit status is non-zero when anything failed.
#   bash tests/run-all.sh [layer...]     layers: build unit guest cli sandbox fuzz model nested (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOG_DIR=$BUILD/test-logs
mkdir -p "$LOG_DIR"
passed=0
failed=0
layers=("$@")
[ ${#layers[@]} -eq 0 ] && layers=(build unit guest cli sandbox fuzz model nested)

count() { # count LAYER "N passed, N failed" line from a layer's output
	local line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $1: no summary line (see $2)"
		failed=$((failed + 1))
		return
	fi
	p=$(sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/' <<<"$line")
	f=$(sed -E 's/.*[^0-9]([0-9]+) failed.*/\1/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f))
}

check() { # check NAME COMMAND...: one PASS/FAIL line for a command's exit status
	local name=$1 log="$LOG_DIR/$1.log"
	shift
	if "$@" >"$log" 2>&1; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name (see $log)"
		tail -n 20 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

layer_build() {
	echo "== build"
	check build-gcc make -s BUILD="$BUILD/gcc" CC=gcc "$BUILD/gcc/release/minivmm"
	check build-clang make -s BUILD="$BUILD/clang" CC=clang "$BUILD/clang/release/minivmm" \
		"$BUILD/clang/debug/libminivmm.a"
	check guests-clang make -s -C guest-kernel-tests CC=clang OUT="$PWD/$BUILD/guests-clang"
	check clang-format make -s check-format
}

layer_unit() {
	echo "== unit and stress tests (cmocka; debug+lockdep, ASan+UBSan, TSan)"
	local variant t log
	# up to date after make test; run alone, this layer would otherwise test stale binaries
	check unit-build make -s unit-binaries
	for variant in debug asan tsan; do
		for t in "$BUILD/$variant"/tests/test_*; do
			[ -x "$t" ] || continue
			log="$LOG_DIR/unit-$variant-$(basename "$t").log"
			TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
			ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" \
				timeout 600 "$t" >"$log" 2>&1
			local rc=$? p f
			p=$(grep -cE '^\[       OK \]' "$log")
			f=$(($(grep -cE '^\[ RUN      \]' "$log") - p))
			if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
				f=1 # crashed, sanitizer report or timeout outside a test case
			fi
			if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
				echo "FAIL unit/$variant/$(basename "$t"): $p passed, $f failed (see $log)"
				grep -E 'FAILED|ERROR|WARNING: ThreadSanitizer|lockdep|runtime error' "$log" |
					head -n 10 | sed 's/^/    /'
			else
				echo "PASS unit/$variant/$(basename "$t"): $p test cases"
			fi
			passed=$((passed + p))
			failed=$((failed + f))
		done
	done
}

layer_guest() {
	echo "== guest-kernel-tests on this host's KVM ($(./minivmm caps 2>/dev/null | head -n 1 | sed 's/.*host KVM: //'))"
	local log="$LOG_DIR/guest.log"
	# run alone, this layer would otherwise test stale VMM builds (a guest test of a
	# feature newer than build/asan/minivmm failed that way)
	check guest-build make -s all "$BUILD/asan/minivmm" "$BUILD/tsan/minivmm"
	./minivmm test --junit "$LOG_DIR/guest-kernel-tests.xml" --log-dir "$LOG_DIR/guest" \
		configs/smoke/ 2>&1 | tee "$log"
	count guest-kernel-tests "$log"
	# the same guests under the sanitizer builds of the VMM: any report fails the test
	local v
	for v in asan tsan; do
		echo "== guest-kernel-tests under the $v build of minivmm"
		log="$LOG_DIR/guest-$v.log"
		ASAN_OPTIONS="detect_leaks=1" TSAN_OPTIONS="halt_on_error=1" \
			"$BUILD/$v/minivmm" test --jobs 1 --log-dir "$LOG_DIR/guest-$v" configs/smoke/ \
			2>&1 | tee "$log"
		count "guest-kernel-tests-$v" "$log"
	done
}

layer_cli() {
	echo "== command line, configs and smoke-test features (end to end)"
	local log="$LOG_DIR/cli.log"
	python3 tests/cli/test_cli.py 2>&1 | tee "$log"
	count cli "$log"
}

layer_sandbox() {
	echo "== sandbox: seccomp filters, --user and fds on running VMs"
	local log="$LOG_DIR/sandbox.log"
	bash tests/sandbox/run.sh 2>&1 | tee "$log"
	count sandbox "$log"
}

layer_fuzz() {
	echo "== fuzzing (libFuzzer, ASan+UBSan), ${FUZZ_SECONDS:-20} s per harness"
	local log="$LOG_DIR/fuzz.log"
	make -s fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-20}" FUZZ_JOBS=2 2>&1 | tee "$log"
	count fuzz "$log"
}

layer_model() {
	echo "== model checking (spin)"
	local log="$LOG_DIR/model.log"
	if [ ! -f tests/model/run.sh ]; then
		echo "FAIL model: tests/model/run.sh missing"
		failed=$((failed + 1))
		return
	fi
	bash tests/model/run.sh 2>&1 | tee "$log"
	count model "$log"
}

layer_nested() {
	echo "== nested KVM (QEMU-TCG L1 with a real KVM)"
	local log="$LOG_DIR/nested.log"
	if [ ! -f tests/nested/run.sh ]; then
		echo "FAIL nested: tests/nested/run.sh missing"
		failed=$((failed + 1))
		return
	fi
	bash tests/nested/run.sh --minivmm ./minivmm 2>&1 | tee "$log"
	count nested "$log"
}

for l in "${layers[@]}"; do
	"layer_$l"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
