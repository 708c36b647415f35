#!/usr/bin/env bash
# End-to-end checks of minivmm's sandbox on a running VM (this host's KVM, freestanding guests):
#
#   bash tests/sandbox/run.sh [--minivmm PATH]
#
#   threads       every thread of a running VM has its own seccomp filter: Seccomp 2,
#                 NoNewPrivs 1, one filter each (the vCPU threads did not inherit the main
#                 thread's), with the default --seccomp (on); also with --xen (its timer
#                 thread)
#   modes         --seccomp=log filters too; --seccomp=off installs nothing
#   fds           descriptors inherited beyond 0-2 are closed at start-up
#   vcpu-kill     a forbidden syscall made on a live vCPU thread (injected with gdb) stops
#                 minivmm with status 159 and names the syscall and the thread
#   main-kill     the same on the main thread (event loop)
#   log-passes    the same in --seccomp=log: the call succeeds, the VM keeps running
#   user          --user 65534:65534 (as root): every thread, the Xen timer thread filtered
#                 before the drop included, runs as that user; the guest still boots
#   tty           on a terminal: raw mode, typed input, Ctrl-A x quits (status 0) and the
#                 terminal is restored; also restored when a forbidden syscall stops minivmm
#
# Prints PASS/FAIL/SKIP per check and "sandbox: N passed, N failed". Exit status 0 when
# nothing failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
VMM=./minivmm
while [ $# -gt 0 ]; do
	case $1 in
	--minivmm) VMM=${2:?}; shift ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
G=guest-kernel-tests/build
[ -x "$VMM" ] || { echo "no minivmm binary at $VMM (make minivmm)"; exit 2; }
[ -f "$G/idle.elf" ] && [ -f "$G/hello.elf" ] || { echo "no guests in $G (make guests)"; exit 2; }
TMP=$(mktemp -d /tmp/minivmm-sandbox-XXXXXX)
trap 'for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
passed=0 failed=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; }

# start_vm NAME ARGS...: an idle 2-vCPU guest in the background; sets $pid, output in
# $TMP/NAME. Fails (with a FAIL line for NAME) unless the guest is up with both vCPUs.
start_vm() {
	local name=$1
	shift
	"$VMM" run --kernel "$G/idle.elf" --cpus 2 --timeout 60 "$@" </dev/null >"$TMP/$name" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q halting "$TMP/$name" 2>/dev/null &&
			[ "$(grep -c vcpu /proc/$pid/task/*/comm 2>/dev/null | grep -c ':1$')" -ge 2 ] && break
		sleep 0.1
	done
	sleep 0.3 # the main thread filters itself right after starting the vCPUs
	kill -0 "$pid" 2>/dev/null && return 0
	fail "$name" "the VM did not come up: $(tail -n 2 "$TMP/$name" | tr '\n' ' ')"
	wait "$pid"
	return 1
}

# wait_vm SECONDS: wait for the VM to end by itself; its exit status in $rc (-1: killed)
wait_vm() {
	for _ in $(seq $(($1 * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		rc=-1
	else
		wait "$pid"
		rc=$?
	fi
}

stop_vm() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# thread_field PID FIELD: "name=value" for every thread of PID (name "main" for the main thread)
thread_field() {
	local t name
	for t in /proc/$1/task/*; do
		name=$(cat "$t/comm")
		[ "${t##*/}" = "$1" ] && name=main
		echo "$name=$(awk -v f="$2:" '$1 == f { $1 = ""; print substr($0, 2) }' "$t/status")"
	done
}

# every minivmm thread (main, vcpuN, xen-timer; not KVM's kernel workers) must show FIELD = WANT
check_threads() { # check_threads NAME PID FIELD WANT
	local bad
	bad=$(thread_field "$2" "$3" | grep -E '^(main|vcpu[0-9]+|xen-timer)=' | grep -v "=$4\$")
	if [ -n "$bad" ]; then
		fail "$1" "$3 should be $4: $(echo $bad)"
		return 1
	fi
	return 0
}

# ---- threads -------------------------------------------------------------------------------
check_filtered() { # check_filtered NAME: the VM in $pid
	check_threads "$1" "$pid" Seccomp 2 && check_threads "$1" "$pid" NoNewPrivs 1 || return 1
	if grep -q Seccomp_filters /proc/$pid/status; then
		check_threads "$1" "$pid" Seccomp_filters 1 || return 1
	fi
}
if start_vm threads; then
	ok=0
	check_filtered threads && ok=1
	stop_vm
	if [ $ok = 1 ] && start_vm threads --xen; then
		if ! grep -qx xen-timer /proc/$pid/task/*/comm; then
			fail threads "--xen: no xen-timer thread"
		elif check_filtered threads; then
			pass threads
		fi
		stop_vm
	fi
fi

# ---- modes ------------------------------------------------------------------------------------
if start_vm modes --seccomp=log; then
	ok=1
	check_threads modes "$pid" Seccomp 2 || ok=0
	stop_vm
	if start_vm modes --seccomp=off; then
		[ $ok = 1 ] && check_threads modes "$pid" Seccomp 0 && pass modes
		stop_vm
	fi
fi

# ---- fds --------------------------------------------------------------------------------------
: >"$TMP/fd7"
if start_vm fds 7<"$TMP/fd7" 9>"$TMP/fd9"; then
	fds=$(ls -l /proc/$pid/fd | grep -E "$TMP/fd[79]\$" | awk '{ print $9, $10, $11 }')
	if [ -z "$fds" ]; then pass fds; else fail fds "still open: $(echo $fds)"; fi
	stop_vm
fi

# ---- forbidden syscalls on live threads (gdb makes the thread call socket()) ---------------------
# inject PID THREAD: the thread (main or vcpuN) calls syscall(SYS_socket, AF_INET, SOCK_STREAM, 0)
inject() {
	local tid=$1
	[ "$2" = main ] || tid=$(grep -lx "$2" /proc/$1/task/*/comm 2>/dev/null | head -n 1 | cut -d/ -f5)
	[ -n "$tid" ] || return 1
	# gdb -p TID attaches to that thread only
	timeout 60 gdb -q -nx -p "$tid" -batch -ex 'handle SIGSYS nostop noprint pass' \
		-ex 'print (long)syscall(41, 2, 1, 0)' >"$TMP/gdb.$2" 2>&1
}

if ! command -v gdb >/dev/null; then
	skip vcpu-kill "no gdb"
	skip main-kill "no gdb"
	skip log-passes "no gdb"
else
	for t in vcpu1:vcpu-kill:vCPU main:main-kill:main; do
		IFS=: read -r thread name role <<<"$t"
		start_vm "$name" || continue
		inject "$pid" "$thread"
		wait_vm 10
		want="minivmm: seccomp: $role thread made forbidden syscall socket (nr 41, args 0x2, 0x1, 0x0) in thread"
		if [ $rc = 159 ] && grep -qF "$want" "$TMP/$name"; then
			pass "$name"
		else
			fail "$name" "exit status $rc, output: $(tail -n 2 "$TMP/$name" | tr '\n' ' ') gdb: $(tail -n 2 "$TMP/gdb.$thread" | tr '\n' ' ')"
		fi
	done

	if start_vm log-passes --seccomp=log; then
		inject "$pid" vcpu1
		if kill -0 "$pid" 2>/dev/null && grep -qE '^\$1 = [0-9]+$' "$TMP/gdb.vcpu1"; then
			stop_vm
			if ! grep -q seccomp: "$TMP/log-passes"; then pass log-passes; else fail log-passes "$(cat "$TMP/log-passes")"; fi
		else
			fail log-passes "socket() did not return a descriptor: $(tail -n 3 "$TMP/gdb.vcpu1" | tr '\n' ' ')"
			stop_vm
		fi
	fi
fi

# ---- --user ---------------------------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	skip user "not root"
else
	if ! start_vm user --user 65534:65534 --xen; then
		:
	elif check_threads user "$pid" Uid "65534 65534 65534 65534" &&
		check_threads user "$pid" Gid "65534 65534 65534 65534"; then
		stop_vm
		"$VMM" run --kernel "$G/hello.elf" --user 65534:65534 --timeout 60 --expect 'hello from minivmm guest' \
			</dev/null >"$TMP/user-hello" 2>&1
		rc=$?
		if [ $rc = 0 ]; then pass user; else fail user "hello.elf as 65534: exit status $rc: $(tail -n 2 "$TMP/user-hello")"; fi
	else
		stop_vm
	fi
fi

# ---- a terminal ----------------------------------------------------------------------------------
# tty_case MODE: MODE quit (type, then Ctrl-A x) or kill (gdb makes vcpu1 call socket()).
# Prints "status=N raw=0|1 restored=0|1".
tty_case() {
	python3 - "$VMM" "$G/idle.elf" "$1" <<'PY'
import os, pty, select, subprocess, sys, termios, time
vmm, kernel, mode = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(vmm, [vmm, "run", "--kernel", kernel, "--cpus", "2", "--timeout", "60"])
out, deadline = b"", time.time() + 30
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
while b"halting" not in out and time.time() < deadline:
    pump(0.2)
pump(0.5)
raw = int(not termios.tcgetattr(fd)[3] & termios.ICANON)
if mode == "quit":
    os.write(fd, b"typed input\r")
    pump(0.3)
    os.write(fd, b"\x01x")
else:
    tid = next(t for t in os.listdir(f"/proc/{pid}/task")
               if open(f"/proc/{pid}/task/{t}/comm").read().strip() == "vcpu1")
    subprocess.run(["gdb", "-q", "-nx", "-p", tid, "-batch", "-ex",
                    "handle SIGSYS nostop noprint pass", "-ex", "print (long)syscall(41, 2, 1, 0)"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
status = None
while time.time() < deadline + 10:
    done, ws = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(ws)
        break
    pump(0.1)
restored = int(bool(termios.tcgetattr(fd)[3] & termios.ICANON))
if status is None:
    os.kill(pid, 9)
print(f"status={status} raw={raw} restored={restored}")
PY
}

if ! command -v python3 >/dev/null; then
	skip tty "no python3"
else
	r=$(tty_case quit 2>&1)
	if [ "$r" != "status=0 raw=1 restored=1" ]; then
		fail tty "Ctrl-A x: $r (want status=0 raw=1 restored=1)"
	elif ! command -v gdb >/dev/null; then
		pass tty
	else
		r=$(tty_case kill 2>&1)
		if [ "$r" = "status=159 raw=1 restored=1" ]; then pass tty; else fail tty "after a forbidden syscall: $r (want status=159 raw=1 restored=1)"; fi
	fi
fi

echo "sandbox: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
