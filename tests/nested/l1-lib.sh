# shellcheck shell=dash
# l1-lib.sh: the test runner used inside L1 (busybox sh), sourced by l1-init
# before the test definitions (l1-tests.sh).
#
# Protocol on the L1 console, parsed by run.sh on the host (one per line):
#   @@NESTED PLAN <name>              a test that will run
#   @@NESTED RUN <name> [limit=S]     it starts; run.sh stops L1 if it runs past S
#                                     seconds (default: NESTED_TEST_LIMIT there)
#   @@NESTED PASS <name>
#   @@NESTED FAIL <name>: <reason>
#   @@NESTED TIME <name> <ms>         L2 boot time: VMM start -> MINIVMM-L2-UP
#   @@NESTED INFO <name> k=v ...      details (guest's cpus, memory, errors, ...)
# Other output (VMM/guest consoles) is prefixed "  <name>| ".

NESTED_PLAN=/tmp/nested.plan
NESTED_REASON=/tmp/nested.reason
NESTED_LIMITS=/tmp/nested.limits
: >"$NESTED_PLAN"
: >"$NESTED_LIMITS"

say() { echo "@@NESTED $*"; }
reason() { echo "$*" >"$NESTED_REASON"; }

# t [-l SECONDS] NAME FUNCTION [ARGS...]: register a test (ARGS are words without spaces);
# -l: its limit on the host's clock when the default (run.sh) is too short
t() {
    if [ "$1" = -l ]; then
        echo "$3 $2" >>"$NESTED_LIMITS"
        shift 2
    fi
    echo "$*" >>"$NESTED_PLAN"
}

# monotonic milliseconds from /proc/uptime (10 ms resolution, no fork)
now_ms() {
    local u
    read -r u _ </proc/uptime
    NOW=$(( ${u%.*} * 1000 + 1${u#*.}0 - 1000 ))
}

# prefix NAME: indent a command's output in the log
# (PASS/FAIL lines of a sub-runner, e.g. guest-kernel-tests/run.sh, are also
# reported as "@@NESTED SUB <name> PASS|FAIL ...")
prefix() {
    awk -v n="$1" '{ gsub(/\r/, ""); print "  " n "| " $0
                     if ($0 ~ /^(PASS|FAIL) /) print "@@NESTED SUB " n " " $0
                     fflush() }'
}

# ---------------------------------------------------------------- test kinds

# check_kvm: L1 offers /dev/kvm
check_kvm() {
    [ -c /dev/kvm ] && return 0
    reason "no /dev/kvm in L1 (kvm_amd did not load: $(dmesg | grep -iE 'kvm|svm' | tail -n 2 | tr '\n' ' '))"
    return 1
}

# run_cmd TIMEOUT COMMAND [ARGS...]: passes when the command exits 0
run_cmd() {
    local tmo=$1 rc
    shift
    set -o pipefail
    timeout "$tmo" "$@" </dev/null 2>&1 | prefix "$TEST_NAME"
    rc=$?
    set +o pipefail
    [ $rc = 0 ] && return 0
    [ $rc = 143 ] && { reason "timed out after ${tmo}s: $*"; return 1; }
    reason "exit status $rc: $*"
    return 1
}

# run_in DIR TIMEOUT COMMAND [ARGS...]: run_cmd in directory DIR
run_in() {
    local d=$1
    shift
    (cd "$d" && run_cmd "$@")
}

# vmm_rss FILE: append the running VMM's resident memory to FILE: in total, and outside guest
# RAM (every mapping but minivmm's memfd "minivmm-ram"; for QEMU, whose RAM is anonymous,
# the two are the same figure)
vmm_rss() {
    local pid
    pid=$(cat /tmp/watch.pid 2>/dev/null) || return 0
    [ -r "/proc/$pid/smaps" ] || return 0
    awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = ($0 ~ /minivmm-ram/) }
         /^Rss:/ { total += $2; if (!ram) vmm += $2 }
         END { printf "vmm_rss_kib=%d\ntotal_rss_kib=%d\n", vmm, total }' "/proc/$pid/smaps" >>"$1"
}

# watch_l2 FUNCTION ARGS...: run a VMM (FUNCTION must exec it) with the L2
# timeout and exit grace; leaves its results in /tmp/watch.res
watch_l2() {
    local W=/tmp/watch pid done_at="" killed="" waited=0
    rm -f $W.*
    ( echo "@@T0"; "$@" </dev/null 2>&1 & echo $! >$W.pid; wait $!; echo "@@RC $?" ) 2>&1 |
        awk -v name="$TEST_NAME" -v out=$W.res -v donef=$W.done -v endf=$W.end -f /nested/l2-watch.awk &
    local apid=$!
    now_ms; local start=$NOW
    while [ ! -e $W.end ]; do
        sleep 0.1
        now_ms
        if [ -z "$done_at" ] && [ -e $W.done ]; then
            done_at=$NOW
            vmm_rss $W.rss   # the VMM's memory with the booted guest still running
        fi
        if [ -n "$killed" ]; then
            waited=$((waited + 1))
            [ $waited -gt 50 ] && break     # output still open 5 s after the kill
        elif [ $((NOW - start)) -ge $((L2_TIMEOUT * 1000)) ]; then
            killed=timeout
        elif [ -n "$done_at" ] && [ $((NOW - done_at)) -ge $((L2_EXIT_GRACE * 1000)) ]; then
            killed=noexit
        fi
        if [ -n "$killed" ] && [ $waited = 0 ]; then
            pid=$(cat $W.pid 2>/dev/null)
            [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
            waited=1
        fi
    done
    wait $apid
    echo "killed=$killed" >>$W.res
    [ -e $W.rss ] && cat $W.rss >>$W.res
}

# l2 VMM KERNEL PROTO CPUS: boot KERNEL (a directory in /l2/kernels) with the
# boot protocol PROTO (bzimage: bzImage file, pvh: ELF vmlinux) under VMM
# (function vmm_VMM) with CPUS vCPUs; pass when the guest reports in, sees
# CPUS processors and reports its error count.
l2() {
    local vmm=$1 k=$2 proto=$3 cpus=$4 img
    local d=/l2/kernels/$k
    case $proto in
        bzimage) img=$d/bzImage ;;
        pvh)     img=$d/vmlinux
                 [ -e "$d/pvh-missing" ] && { reason "$(cat "$d/pvh-missing")"; return 1; } ;;
        *) reason "unknown boot protocol $proto"; return 1 ;;
    esac
    [ -r "$img" ] || { reason "no $img in L1"; return 1; }
    command -v "vmm_$vmm" >/dev/null || { reason "no function vmm_$vmm"; return 1; }

    watch_l2 "vmm_$vmm" "$img" /l2/initrd.cpio "$L2_CMDLINE" "$cpus" "$L2_MEM"
    local up boot_ms done_ms end_ms l2_cpus l2_memkb l2_errors l2_uptime l2_kernel rc last killed
    local vmm_rss_kib="" total_rss_kib=""
    . /tmp/watch.res

    [ -n "$boot_ms" ] && say "TIME $TEST_NAME $boot_ms"
    say "INFO $TEST_NAME boot_ms=${boot_ms:--} done_ms=${done_ms:--} end_ms=$end_ms cpus=${l2_cpus:--}" \
        "memkb=${l2_memkb:--} errors=${l2_errors:--} guest_uptime=${l2_uptime:--} kernel=${l2_kernel:--}" \
        "rc=${rc:--} killed=${killed:--} vmm_rss_kib=${vmm_rss_kib:--} total_rss_kib=${total_rss_kib:--}"

    if [ "$up" != 1 ]; then
        case $killed in
            timeout) reason "no MINIVMM-L2-UP within ${L2_TIMEOUT}s; last output: ${last:-none}" ;;
            *) reason "VMM exited (status ${rc:-?}) without MINIVMM-L2-UP; last output: ${last:-none}" ;;
        esac
        return 1
    fi
    [ "$l2_cpus" = "$cpus" ] || { reason "guest sees ${l2_cpus:-?} CPUs, expected $cpus"; return 1; }
    [ -n "$l2_errors" ] || { reason "guest did not report L2-ERRORS"; return 1; }
    if [ "$L2_REQUIRE_CLEAN_EXIT" = 1 ]; then
        case $killed in
            timeout) reason "guest report incomplete or VMM still running after ${L2_TIMEOUT}s"; return 1 ;;
            noexit)  reason "guest powered off but the VMM did not exit within ${L2_EXIT_GRACE}s"; return 1 ;;
        esac
        [ "$rc" = 0 ] || { reason "VMM exit status $rc after guest poweroff"; return 1; }
    fi
    return 0
}

# ---------------------------------------------------------------- runner

# nested_run [REGEX]: run the registered tests whose name matches REGEX
nested_run() {
    local only=$1 line name sel="" n=0 limit
    local IFS='
'
    set -f
    for line in $(cat "$NESTED_PLAN"); do
        name=${line%% *}
        if [ -n "$only" ] && ! echo "$name" | grep -qE -- "$only"; then continue; fi
        sel="$sel$line
"
        say "PLAN $name"
        n=$((n + 1))
    done
    [ $n = 0 ] && say "INFO - no test matches '$only'"
    for line in $sel; do
        IFS=' '
        set -- $line
        TEST_NAME=$1
        shift
        limit=$(awk -v n="$TEST_NAME" '$1 == n { print " limit=" $2 }' "$NESTED_LIMITS")
        say "RUN $TEST_NAME$limit"
        rm -f "$NESTED_REASON"
        if (IFS=' '; set +f; "$@"); then
            say "PASS $TEST_NAME"
        else
            [ -s "$NESTED_REASON" ] || reason "test function failed ($*)"
            say "FAIL $TEST_NAME: $(head -n 1 "$NESTED_REASON")"
        fi
        IFS='
'
    done
    set +f
}
