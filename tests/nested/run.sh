#!/bin/bash
# Nested-KVM tests: real Linux guests (L2) under minivmm and under QEMU (the
# peer), inside a QEMU-TCG Linux (L1) that offers a real KVM (emulated AMD SVM).
#
#   bash tests/nested/run.sh [options]
#     --minivmm PATH    the minivmm binary to test (default: ./minivmm if it
#                       exists; otherwise, or with PATH "stub", a stub that
#                       fails every minivmm test)
#     --only REGEX      run only the tests whose name matches (grep -E; no spaces)
#     --boot K:P:N      the main job (make run): boot Linux K (bookworm-6.1 or
#                       sid-7.2) by protocol P (bzimage|pvh) with N vCPUs under
#                       minivmm in L1, console attached; with a terminal the guest
#                       gives a shell (exit it to power off), without one it
#                       prints what it booted and powers off
#     --shell           interactive L1: a shell on the console (tests matching
#                       --only run first); quit with `exit` or Ctrl-A x
#     --l1-kernel K     L1 kernel: sid (default) or bookworm
#     --timeout SEC     hard limit for the whole L1 run (default 1800; a quiet
#                       2-core host needs about 500 for the whole plan)
#                       Each test also has a limit on this host's clock (default
#                       300 s, NESTED_TEST_LIMIT; l1-tests.sh can set one per
#                       test): past it L1 is stopped, the test fails and the
#                       tests after it run in a fresh L1. An L1 silent for 90 s
#                       (NESTED_L1_SILENCE) is frozen: the test runs again in
#                       a fresh L1, as after a crash
#     --l2-timeout SEC  limit per L2 boot (default 60)
#     --l2-verbose      L2 kernels log to their console (no "quiet")
#     -v, --verbose     also print L1's whole console (always in the log)
#
# Output: one "PASS name (S s)" / "FAIL name: reason (S s)" line per test (S: seconds
# on this host's clock), "TIME name ms"
# (L2 boot time: VMM start -> the guest's MINIVMM-L2-UP marker, measured in L1),
# "INFO name k=v..." (what the guest reported), then "nested: N passed, N failed".
# Exit status: 0 all passed, 1 a test failed or L1 did not finish, 2 setup error.
# Log of L1's console: build/nested/logs/latest.log.
set -uo pipefail
. "$(dirname "$0")/common.sh"

minivmm="" only="" shell=0 boot="" l1k=sid tmo=1800 l2tmo="" l2verbose=0 verbose=0
usage() { sed -n '2,/^set /p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --minivmm) minivmm=${2:?}; shift ;;
        --only) only=${2:?}; shift ;;
        --shell) shell=1 ;;
        --boot) boot=${2:?}; shift ;;
        --l1-kernel) l1k=${2:?}; shift ;;
        --timeout) tmo=${2:?}; shift ;;
        --l2-timeout) l2tmo=${2:?}; shift ;;
        --l2-verbose) l2verbose=1 ;;
        -v|--verbose) verbose=1 ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown option $1" >&2; usage ;;
    esac
    shift
done
case $only in *[[:space:]]*) die "--only: no spaces please (it travels on L1's kernel command line)" ;; esac

t_start=$EPOCHREALTIME
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- build
"$NESTED_DIR/fetch.sh" || exit 2
if [ -z "$minivmm" ] && [ -x "$REPO_ROOT/minivmm" ]; then minivmm=$REPO_ROOT/minivmm; fi
if [ -z "$minivmm" ] || [ "$minivmm" = stub ]; then
    minivmm=""
    msg "NOTE: no minivmm binary (./minivmm missing, no --minivmm, or stub): using a stub, the minivmm tests will fail"
fi
"$NESTED_DIR/mk-l1.sh" ${minivmm:+--minivmm "$minivmm"} --l1-kernel "$l1k" --out "$IMG/l1.cpio" || exit 2
t_built=$EPOCHREALTIME

L1_KERNEL=$CACHE/kernels/$l1k/bzImage
[ -s "$L1_KERNEL" ] || die "no L1 kernel $L1_KERNEL"
append0="console=ttyS0 quiet panic=-1"
[ -n "$l2tmo" ] && append0="$append0 nested.l2timeout=$l2tmo"
[ $l2verbose = 1 ] && append0="$append0 nested.l2verbose=1"
# L1 CPU: AMD with SVM + nested paging, minus XSAVE and the AVX family: with
# them, QEMU 7.2's TCG gives inconsistent XSAVE state to L2 guests (Linux 7.2
# as L2 warns "XSAVE consistency problem", then oopses in fpstate_reset, or its
# init dies with "bad frame in rt_sigreturn"); without XSAVE, AVX code in L1
# itself faults.  Without both, L1 and L2 use FXSAVE and work.
# One L1 vCPU by default: with two, multi-threaded TCG races with L1's live
# code patching and L1 dies now and then ("Oops: int3" in __schedule; see
# l1-init); two L2 vCPUs then share L1's one, which costs little.
L1_CPU=${NESTED_L1_CPU:-EPYC,+svm,+npt,-xsave,-avx,-avx2,-fma,-f16c}
qemu=(qemu-system-x86_64 -accel "tcg,thread=${NESTED_TCG_THREAD:-multi}" -M q35 -cpu "$L1_CPU"
      -smp "${NESTED_L1_CPUS:-1}" -m "${NESTED_L1_MEM:-6G}" -no-reboot
      -kernel "$L1_KERNEL" -initrd "$IMG/l1.cpio")

if [ -n "$boot" ]; then
    append="$append0 nested.boot=$boot"
    if [ -t 0 ]; then
        msg "booting $boot under minivmm in the nested L1 (exit the guest shell to power off; Ctrl-A x quits QEMU)"
        exec "${qemu[@]}" -nographic -append "$append nested.bootshell=1" \
            2> >(grep --line-buffered -v "TCG doesn't support requested feature" >&2)
    fi
    # no terminal: stream the console, keep the guest's report, bounded in time
    timeout --kill-after=10 "$tmo" "${qemu[@]}" -display none -monitor none -serial stdio \
        -append "$append" </dev/null 2> >(grep -v "TCG doesn't support requested feature" >&2) |
        tr -d '\r' | sed -n '/@@NESTED BOOT /,/@@NESTED BOOT-EXIT/p'
    exit "${PIPESTATUS[0]}"
fi

if [ $shell = 1 ]; then
    msg "interactive L1 (Ctrl-A x quits QEMU; in L1: nested-run [REGEX] runs tests)"
    exec "${qemu[@]}" -nographic -append "$append0 nested.shell=1${only:+ nested.only=$only}"
fi

# ---------------------------------------------------------------- run L1
mkdir -p "$LOGS"
log=$LOGS/run-$(date +%Y%m%d-%H%M%S).log
ln -sfn "$(basename "$log")" "$LOGS/latest.log"
exec 3>"$log"

declare -A result=() tries=() planned=()
plan=() pass=0 fail=0 l1_boots=()

# Watchdog on this host's clock. Tests bound their own waits on L1's clock, but a frozen L1
# (seen about once in a dozen runs) or a wait that only counts polls could eat the whole run.
# L1 prints a heartbeat every 20 s: when a test is running and L1 has printed nothing for
# 90 s, L1 is frozen; QEMU is killed and the test gets the second chance a crash gives. A
# test past its own limit while L1 lives (RUN ... limit=S, default $test_limit s) has QEMU
# killed and fails. Either way the tests after it run in a fresh L1.
test_limit=${NESTED_TEST_LIMIT:-300}
l1_silence_limit=${NESTED_L1_SILENCE:-90}

# boot_l1 APPEND SECONDS: one L1 run; parses its console into the globals
# below and prints the results as they come
boot_l1() {
    local append=$1 limit=$2 line rest kind name t0=$EPOCHREALTIME t_run=0 t_run_real=$EPOCHREALTIME run_limit=0 took rc
    local pidfile=$IMG/l1-qemu.pid t_alive=$EPOCHSECONDS silence tail_lines
    l1_up="" ended="" current="" l1_crash="" qemu_rc="" hung="" wedged="" beat=""
    rm -f "$pidfile"
    echo "# ${qemu[*]} -append '$append'" >&3
    while :; do
        IFS= read -r -t 5 line
        rc=$?
        if [ $rc != 0 ]; then
            [ $rc -gt 128 ] || break            # end of QEMU's output (else: no line for 5 s)
            [ -z "$hung$wedged" ] || continue
            silence=$((EPOCHSECONDS - t_alive))
            if [ "$silence" -gt "$l1_silence_limit" ] && { [ -n "$l1_up" ] || [ "$silence" -gt $((2 * l1_silence_limit)) ]; }; then
                wedged="L1 froze (no output, not even its heartbeat, for $silence s)"
                l1_crash=$wedged
            elif [ -n "$current" ] && [ $((EPOCHSECONDS - t_run)) -gt "$run_limit" ]; then
                hung=$current
            else
                continue
            fi
            tail_lines=$(grep -av '@@NESTED BEAT' "$log" | tail -n 12 | tr -cd '[:print:]\t\n' | sed 's/^/    /')
            echo "NOTE ${current:-L1}: ${wedged:-still running after ${run_limit} s (host clock)}: stopping L1;" \
                "L1's last heartbeat: ${beat:-none}; last console lines:" | tee /dev/fd/3
            printf '%s\n' "$tail_lines"
            kill -KILL "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null
            continue
        fi
        t_alive=$EPOCHSECONDS
        line=${line//$'\r'/}
        printf '%s\n' "$line" >&3
        [ $verbose = 1 ] && printf '%s\n' "$line"
        case $line in
            *"@@NESTED "*) ;;
            "["*"Kernel panic"*|"["*"Oops:"*|"["*"BUG:"*)   # L1's own kernel (L2 lines are prefixed)
                [ -z "$l1_crash" ] && l1_crash=${line#*] }
                continue ;;
            *) continue ;;
        esac
        rest=${line#*@@NESTED }
        kind=${rest%% *}
        rest=${rest#"$kind"}; rest=${rest# }
        name=${rest%% *}
        took=$(elapsed "$t_run_real")
        case $kind in
            L1-UP)
                l1_up=$(elapsed "$t0")
                l1_boots+=("$l1_up")
                echo "L1 up after ${l1_up} s (L0 wall clock; L1 uptime ${rest%% *} s; kernel ${rest#* })" ;;
            PLAN) [ -z "${planned[$name]:-}" ] && { planned[$name]=1; plan+=("$name"); } ;;
            RUN)  current=$name; tries[$name]=$(( ${tries[$name]:-0} + 1 ))
                  t_run=$EPOCHSECONDS t_run_real=$EPOCHREALTIME run_limit=$test_limit
                  case $rest in *" limit="*) run_limit=${rest##* limit=} ;; esac ;;
            PASS) current=""; result[$name]=PASS; pass=$((pass + 1)); echo "PASS $name ($took s)"
                  [ "${tries[$name]}" -gt 1 ] && echo "NOTE $name passed on its try ${tries[$name]}: L1 died during the first" ;;
            FAIL) current=""; name=${name%:}; result[$name]=FAIL; fail=$((fail + 1)); echo "FAIL $rest ($took s)" ;;
            TIME) echo "TIME $rest" ;;
            INFO) if [ "$name" = - ]; then echo "NOTE ${rest#- }"; else echo "INFO $rest"; fi ;;
            SUB)  echo "    ${rest#"$name" } ($name)" ;;
            BEAT) beat=$rest ;;
            END)  ended=1
                  echo "NOTE L1 clock: $rest s of uptime at the end, $(elapsed "$t0") s on this host's clock since QEMU started" ;;
            QEMU-EXIT) qemu_rc=$name ;;
        esac
    done < <(timeout -k 10 "$limit" "${qemu[@]}" -append "$append" -pidfile "$pidfile" \
                 -display none -monitor none -serial stdio </dev/null 2>&1
             echo "@@NESTED QEMU-EXIT $?")
}

t_qemu=$EPOCHREALTIME
append=$append0
[ -n "$only" ] && append="$append nested.only=$only"
for round in 1 2 3 4 5; do
    left=$(( tmo - EPOCHSECONDS + ${t_qemu%.*} ))
    [ $left -gt 30 ] || break
    [ $round = 1 ] && msg "booting L1 ($(cat "$CACHE/kernels/$l1k/release"), TCG, ${NESTED_L1_CPUS:-1} vCPU) with a ${left}s limit; log: ${log#"$REPO_ROOT"/}"
    boot_l1 "$append" "$left"
    [ -n "$ended" ] && break
    # L1 crashed or hung: the test it was running fails unless it gets a
    # second chance; tests that never started run in a fresh L1
    why=${l1_crash:-$([ "$qemu_rc" = 124 ] && echo "timeout (${tmo}s for the whole run)" || echo "L1 stopped (QEMU status ${qemu_rc:-?})")}
    if [ -n "$hung" ]; then
        why="stopped by the watchdog while $hung ran"
        result[$hung]=FAIL; fail=$((fail + 1))
        echo "FAIL $hung: no result within its limit on this host's clock (L1 stopped; see ${log#"$REPO_ROOT"/})"
        current=""
    fi
    if [ -z "$l1_up" ]; then
        echo "FAIL l1-boot: L1 did not come up: $why (see ${log#"$REPO_ROOT"/})"
        fail=$((fail + 1))
        break
    fi
    echo "NOTE L1 died${current:+ while running $current}: $why"
    if [ -n "$current" ] && [ "${tries[$current]}" -ge 2 ]; then
        result[$current]=FAIL; fail=$((fail + 1))
        echo "FAIL $current: L1 died twice while running it: $why"
    fi
    todo=()
    for n in ${plan[@]+"${plan[@]}"}; do [ -z "${result[$n]:-}" ] && todo+=("$n"); done
    if [ ${#todo[@]} = 0 ] || [ "$qemu_rc" = 124 ]; then break; fi
    re=$(printf '%s|' "${todo[@]}" | sed 's/[.]/\\./g; s/|$//')
    append="$append0 nested.only=^($re)\$ nested.retry=$round"
    echo "NOTE restarting L1 for the ${#todo[@]} tests left"
done
t_end=$EPOCHREALTIME
exec 3>&-

for n in ${plan[@]+"${plan[@]}"}; do
    if [ -z "${result[$n]:-}" ]; then
        echo "FAIL $n: no result (L1 stopped before it: ${why:-?})"
        fail=$((fail + 1))
    fi
done
failed=()
for n in ${plan[@]+"${plan[@]}"}; do [ "${result[$n]:-}" = PASS ] || failed+=("$n"); done
[ ${#failed[@]} = 0 ] || echo "nested: failed: ${failed[*]}"
echo "nested: timings: build $(elapsed "$t_start" "$t_built") s, L1 boot ${l1_boots[*]:-?} s, L1 run $(elapsed "$t_qemu" "$t_end") s, total $(elapsed "$t_start" "$t_end") s"
echo "nested: $pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]
