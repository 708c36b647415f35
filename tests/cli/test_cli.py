#!/usr/bin/env python3
"""End-to-end tests of minivmm's command line, config files, exit statuses and smoke-test
features, against the freestanding guests on this host's KVM. Prints PASS/FAIL per test and
"cli: N passed, N failed"."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VMM = os.path.join(ROOT, "minivmm")
G = os.path.join(ROOT, "guest-kernel-tests", "build")
TMP = tempfile.mkdtemp(prefix="minivmm-cli-")
results = []


def run(*args, timeout=60, **kw):
    return subprocess.run([VMM, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test(fn):
    try:
        fn()
        results.append(True)
        print(f"PASS {fn.__name__}")
    except AssertionError as e:
        results.append(False)
        print(f"FAIL {fn.__name__}: {e}")
    except Exception as e:  # a crash of the test itself is a failure too
        results.append(False)
        print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
    return fn


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


@test
def help_and_version():
    r = run("--help")
    expect(r.returncode == 0 and "run" in r.stdout and "caps" in r.stdout, r.stdout)
    r = run("run", "--help")
    expect(r.returncode == 0 and "--kernel" in r.stdout and "--expect" in r.stdout, r.stdout)
    r = run("--version")
    expect(r.returncode == 0 and r.stdout.startswith("minivmm "), r.stdout)
    r = run()
    expect(r.returncode == 2, f"no command: exit {r.returncode}")


@test
def caps_describes_host():
    r = run("caps")
    expect(r.returncode == 0, r.stderr)
    for name in ("GUEST_MEMFD", "XEN_HVM", "SYNC_REGS", "host KVM:"):
        expect(name in r.stdout, f"caps lacks {name}")


@test
def usage_errors_exit_2():
    cases = [
        (["run", "--bogus"], "unrecognized option"),
        (["run", "--cpus", "0", "--kernel", "x"], "accepted: a number from 1"),
        (["run", "--memory", "12Q", "--kernel", "x"], "expected a size"),
        (["run", "--memory-backing", "tmpfs", "--kernel", "x"], "memfd, guest_memfd, anonymous"),
        (["run"], "no kernel given"),
        (["run", "--kernel", "/nonexistent/k"], "cannot open"),
        (["run", "--kernel", write("empty", "")], "file is empty"),
        (["run", "--kernel", os.path.join(ROOT, "README.md")], "neither an ELF"),
        (["run", "--kernel", f"{G}/hello.elf", "--memory", "100T"], "more than this host has"),
        (["run", "--kernel", f"{G}/hello.elf", "--expect", "(unclosed"], "pattern '(unclosed'"),
        (["run", "--kernel", f"{G}/hello.elf", "--expect", "x" + "+" * 24], "directly after"),
        (["frobnicate"], "unknown command"),
    ]
    for args, msg in cases:
        r = run(*args)
        expect(r.returncode == 2, f"{args}: exit {r.returncode}, stderr {r.stderr!r}")
        expect(msg in r.stderr, f"{args}: {msg!r} not in {r.stderr!r}")


@test
def config_errors_name_file_and_line():
    bad = write("bad.ini", "[machine]\ncpus = 2\n\n[memory]\nsize = lots\n")
    r = run("run", "--config", bad)
    expect(r.returncode == 2, f"exit {r.returncode}")
    expect(f"{bad}:5: bad value 'lots' for size" in r.stderr, r.stderr)
    unk = write("unk.ini", "[gpu]\nmodel = x\n")
    r = run("run", "--config", unk)
    expect(r.returncode == 2 and f"{unk}:2: unknown section [gpu]" in r.stderr, r.stderr)
    r = run("run", "--config", os.path.join(TMP, "missing.ini"))
    expect(r.returncode == 2 and "cannot open config file" in r.stderr, r.stderr)


@test
def command_line_overrides_config():
    cfg = write("ov.ini", f"[boot]\nkernel = {G}/exit_status.elf\ncmdline = code=7\n")
    r = run("run", "--config", cfg)
    expect(r.returncode == 7, f"config alone: exit {r.returncode}")
    r = run("run", "--config", cfg, "--cmdline", "code=9")
    expect(r.returncode == 9, f"override: exit {r.returncode}")


@test
def guest_exit_status_propagates():
    for code in (0, 3, 42, 255):
        r = run("run", "--kernel", f"{G}/exit_status.elf", "--cmdline", f"code={code}")
        expect(r.returncode == code, f"code {code}: exit {r.returncode}")


@test
def every_memory_backing_boots():
    for backing in ("memfd", "anonymous", "guest_memfd"):
        r = run("run", "--kernel", f"{G}/memmap.elf", "--memory", "96M",
                "--memory-backing", backing, "--cmdline", "mem=96M")
        expect(r.returncode == 0, f"{backing}: exit {r.returncode} {r.stderr}")
        expect("memmap: OK" in r.stdout, f"{backing}: {r.stdout}")


@test
def triple_fault_is_diagnosed():
    r = run("run", "--kernel", f"{G}/triple_fault.elf")
    expect(r.returncode == 1, f"exit {r.returncode}")
    expect("triple fault" in r.stderr and "RIP" in r.stderr, r.stderr)
    expect("instruction bytes" in r.stderr, r.stderr)


@test
def expect_and_fail_on_statuses():
    r = run("run", "--kernel", f"{G}/hello.elf", "--expect", "hello from", "--expect", "apic 0")
    expect(r.returncode == 0, f"all matched: exit {r.returncode}")
    r = run("run", "--kernel", f"{G}/hello.elf", "--expect", "hello from", "--expect", "never")
    expect(r.returncode == 3, f"unmatched: exit {r.returncode}")
    expect("never matched --expect 'never'" in r.stderr, r.stderr)
    r = run("run", "--kernel", f"{G}/hello.elf", "--expect", "hello", "--fail-on", "minivmm guest")
    expect(r.returncode == 4, f"fail-on: exit {r.returncode}")


@test
def timeout_really_stops_the_vm():
    t0 = time.monotonic()
    r = run("run", "--kernel", f"{G}/idle.elf", "--timeout", "2", "--stats=json",
            "--stats-file", os.path.join(TMP, "t.json"), timeout=30)
    took = time.monotonic() - t0
    expect(r.returncode == 124, f"exit {r.returncode}")
    expect(took < 20, f"took {took:.1f} s")
    s = json.load(open(os.path.join(TMP, "t.json")))
    expect(s["exit_status"] == 124 and "timeout" in s["stop_reason"], s)


@test
def expect_exit_ends_early():
    r = run("run", "--kernel", f"{G}/idle.elf", "--expect", ".", "--expect-exit",
            "--timeout", "60", timeout=30)
    expect(r.returncode == 0, f"exit {r.returncode} {r.stderr}")


@test
def sigterm_ends_cleanly_with_stats():
    p = subprocess.Popen([VMM, "run", "--kernel", f"{G}/idle.elf", "--stats"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    expect(p.returncode == 128 + signal.SIGTERM, f"exit {p.returncode}")
    expect("received Terminated" in err or "minivmm stats: exit status 143" in err, err)
    expect("vcpu0 exits:" in err, err)


@test
def stats_json_is_valid():
    r = run("run", "--kernel", f"{G}/smp.elf", "--cpus", "2", "--cmdline", "cpus=2",
            "--expect", "all 1 APs", "--stats=json")
    expect(r.returncode == 0, f"exit {r.returncode}")
    line = [l for l in r.stderr.splitlines() if l.startswith("{")]
    expect(line, r.stderr)
    s = json.loads(line[-1])
    expect(s["exit_status"] == 0 and len(s["vcpus"]) == 2, s)
    expect(s["expect"][0]["matched"] and s["expect"][0]["time_s"] > 0, s)
    expect(s["first_console_byte_s"] is not None and s["console_bytes"] > 0, s)
    expect(s["vcpus"][0]["exits"].get("io", 0) > 0 and s["peak_rss_kib"] > 0, s)


@test
def stats_count_the_guests_remaps():
    # every remap the guest saw succeed is one region remap and one pause-all in --stats
    r = run("run", "--config", os.path.join(ROOT, "configs", "smoke", "mem_remap.ini"),
            "--stats=json", timeout=120)
    expect(r.returncode == 0, f"exit {r.returncode}: {r.stderr[-500:]}")
    out = r.stdout + r.stderr
    running = re.search(r"mem_remap: \d+ remaps while vCPU 1 ran: (\d+) ok", out)
    halted = re.search(r"mem_remap: (\d+) of \d+ remaps ok with vCPU 1 halted", out)
    expect(running and halted and "mem_remap: one remap:" in out, out[-800:])
    ok = 1 + int(running.group(1)) + int(halted.group(1))
    s = json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])
    expect(s["memory"]["remaps"] == ok, f"stats say {s['memory']['remaps']} remaps, guest {ok}")
    expect(s["pause_all"] == ok, f"stats say {s['pause_all']} pause-alls, guest {ok} remaps")


@test
def xen_global_callback_is_injected_by_each_vcpu():
    # events on the global callback vector are injected by the target vCPU's own thread
    # (never through its local APIC); with per-vCPU vectors that path stays unused
    def xen_vcpus(cfg):
        r = run("run", "--config", os.path.join(ROOT, "configs", "smoke", cfg), "--stats=json",
                timeout=120)
        expect(r.returncode == 0, f"{cfg}: exit {r.returncode}: {r.stderr[-500:]}")
        return json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])["xen"]["vcpus"]

    vcpus = xen_vcpus("xen_ipi-callback.ini")
    expect(len(vcpus) == 2 and all(v["callbacks_injected"] > 0 for v in vcpus), vcpus)
    vcpus = xen_vcpus("xen_ipi.ini")
    expect(all(v["callbacks_injected"] == 0 and v["upcalls"] > 0 for v in vcpus), vcpus)


@test
def closed_stdout_does_not_kill_the_vm():
    # the console reader goes away before the guest prints: the guest still runs to its end
    rfd, wfd = os.pipe()
    os.close(rfd)
    try:
        r = subprocess.run([VMM, "run", "--kernel", f"{G}/smp.elf", "--cpus", "2", "--cmdline",
                            "cpus=2", "--stats"], stdout=wfd, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True, timeout=60)
    finally:
        os.close(wfd)
    expect(r.returncode == 0, f"exit {r.returncode} (-13 is SIGPIPE): {r.stderr[-300:]}")
    expect("minivmm stats: exit status 0" in r.stderr, r.stderr[-300:])


@test
def console_log_keeps_everything():
    log = os.path.join(TMP, "console.log")
    r = run("run", "--kernel", f"{G}/hello.elf", "--console-log", log)
    expect(r.returncode == 0, f"exit {r.returncode}")
    expect(open(log).read() == r.stdout and "hello from" in r.stdout, "log differs from stdout")


@test
def suite_runs_parallel_with_junit():
    d = os.path.join(TMP, "suite")
    os.mkdir(d)
    for i in range(6):
        with open(os.path.join(d, f"ok{i}.ini"), "w") as f:
            f.write(f"[boot]\nkernel = {G}/exit_status.elf\ncmdline = code={i} marker=M{i}\n"
                    f"[test]\nexit-status = {i}\nexpect = exiting with {i}\n")
    with open(os.path.join(d, "zz-fail.ini"), "w") as f:
        f.write(f"[boot]\nkernel = {G}/hello.elf\n[test]\nexpect = not there\n")
    with open(os.path.join(d, "zz-timeout.ini"), "w") as f:
        f.write(f"[boot]\nkernel = {G}/idle.elf\n[test]\ntimeout = 2\n")
    junit = os.path.join(TMP, "junit.xml")
    logs = os.path.join(TMP, "logs")
    r = run("test", "--jobs", "4", "--junit", junit, "--log-dir", logs, d, timeout=120)
    expect(r.returncode == 1, f"exit {r.returncode}: {r.stdout}")
    expect(r.stdout.strip().endswith("6 passed, 2 failed"), r.stdout)
    expect("FAIL zz-timeout" in r.stdout and "timed out" in r.stdout, r.stdout)
    expect("FAIL zz-fail" in r.stdout and "never matched" in r.stdout, r.stdout)
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    expect(suite.get("tests") == "8" and suite.get("failures") == "2", suite.attrib)
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    expect(cases["zz-fail"].find("failure") is not None, "zz-fail has no <failure>")
    expect(cases["ok3"].find("failure") is None, "ok3 failed")
    for i in range(6):  # each console holds its own output only
        text = open(os.path.join(logs, f"ok{i}.log")).read()
        expect(f"exiting with {i}" in text, f"ok{i}.log lacks its marker")
        others = [j for j in range(6) if j != i and f"exiting with {j}\n" in text]
        expect(not others, f"ok{i}.log holds output of {others}")


@test
def signals_on_a_terminal_restore_it_with_stats():
    """SIGINT/SIGTERM while the guest runs on a terminal: the VM ends with 128+N, --stats
    are printed, and the terminal (raw while the guest ran) is as it was."""
    import pty
    import termios
    for sig in (signal.SIGINT, signal.SIGTERM):
        master, slave = pty.openpty()
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([VMM, "run", "--kernel", f"{G}/idle.elf", "--stats"],
                             stdin=slave, stdout=slave, stderr=subprocess.PIPE, text=True)
        during = before
        for _ in range(100):  # until minivmm has the terminal in raw mode (10 s at most)
            time.sleep(0.1)
            during = termios.tcgetattr(slave)
            if during != before:
                break
        p.send_signal(sig)
        out, err = p.communicate(timeout=20)
        after = termios.tcgetattr(slave)
        os.close(master)
        os.close(slave)
        expect(during != before, f"{sig.name}: the terminal never changed: proves nothing")
        expect(p.returncode == 128 + sig, f"{sig.name}: exit {p.returncode}")
        expect(after == before, f"{sig.name}: terminal not restored: {before} -> {after}")
        expect(f"exit status {128 + sig}" in err and "vcpu0 exits:" in err, err)


@test
def triple_fault_still_prints_stats():
    r = run("run", "--kernel", f"{G}/triple_fault.elf", "--stats")
    expect(r.returncode == 1 and "triple fault" in r.stderr, f"exit {r.returncode}")
    expect("minivmm stats: exit status 1" in r.stderr and "vcpu0 exits:" in r.stderr, r.stderr)


# ---- bad input from the user: exit 2, one line naming the problem, nothing written ---------

def snapshot(d):
    """Every entry under d: name -> (kind, size, mtime_ns, sha256) (directories: kind only)."""
    import hashlib
    snap = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, d)
            if os.path.isdir(path):
                snap[rel] = ("dir",)
            elif st.st_size > 64 << 20:  # the sparse "oversized" files: size and mtime
                snap[rel] = ("file", st.st_size, st.st_mtime_ns, None)
            else:
                with open(path, "rb") as f:
                    snap[rel] = ("file", st.st_size, st.st_mtime_ns,
                                 hashlib.sha256(f.read()).hexdigest())
    return snap


def bad_input_dir(name):
    """A directory with a good config, kernel, initrd and disk image, and bad variants."""
    d = os.path.join(TMP, "bad-input", name)
    os.makedirs(d)
    kernel = open(f"{G}/hello.elf", "rb").read()
    files = {
        "kernel.elf": kernel,
        "initrd.img": bytes(range(256)) * 16,
        "disk.img": b"minivmm disk\n" + bytes(1 << 20),
        "empty": b"",
        "truncated.elf": kernel[:100],
        "truncated-phdrs.elf": kernel[:len(kernel) // 2],
        "not-a-kernel": b"#!/bin/sh\necho hi\n" * 10,
        "small.img": b"x" * 100,
    }
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "huge.img"), "wb") as f:  # 5 TiB, sparse
        f.truncate(5 << 40)
    os.mkdir(os.path.join(d, "a-directory"))
    with open(os.path.join(d, "good.ini"), "w") as f:
        f.write("[boot]\nkernel = kernel.elf\ninitrd = initrd.img\n[disk]\npath = disk.img\n")
    return d


GOOD = ["--kernel", "kernel.elf", "--initrd", "initrd.img", "--disk", "path=disk.img"]


def ini(body):
    return "[boot]\nkernel = kernel.elf\ninitrd = initrd.img\n[disk]\npath = disk.img\n" + body


# (name, arguments, config file text or None, what the error line must say)
BAD_INPUTS = [
    ("kernel-missing", ["--kernel", "nope.elf"], None, "nope.elf: cannot open"),
    ("kernel-unreadable", ["--kernel", "a-directory"], None, "a-directory: not a regular file"),
    ("kernel-empty", ["--kernel", "empty"], None, "empty: file is empty"),
    ("kernel-truncated", ["--kernel", "truncated.elf"], None, "truncated.elf"),
    ("kernel-truncated-segments", ["--kernel", "truncated-phdrs.elf"], None,
     "truncated-phdrs.elf"),
    ("kernel-not-a-kernel", ["--kernel", "not-a-kernel"], None, "neither an ELF"),
    ("kernel-oversized", ["--kernel", "huge.img"], None, "larger than guest RAM"),
    ("initrd-missing", GOOD[:2] + ["--initrd", "nope.img"], None, "nope.img: cannot open"),
    ("initrd-unreadable", GOOD[:2] + ["--initrd", "a-directory"], None,
     "a-directory: not a regular file"),
    ("initrd-empty", GOOD[:2] + ["--initrd", "empty"], None, "empty: file is empty"),
    ("initrd-oversized", GOOD[:2] + ["--initrd", "huge.img"], None, "larger than guest RAM"),
    ("disk-missing", GOOD[:4] + ["--disk", "path=nope.img"], None, "nope.img"),
    ("disk-unreadable", GOOD[:4] + ["--disk", "path=a-directory"], None, "a-directory"),
    ("disk-empty", GOOD[:4] + ["--disk", "path=empty"], None, "disk empty: file is empty"),
    ("disk-truncated", GOOD[:4] + ["--disk", "path=small.img"], None,
     "smaller than one 512-byte sector"),
    ("disk-bad-option", GOOD[:4] + ["--disk", "path=disk.img,size=9"], None, "unknown key"),
    ("config-missing", ["--config", "nope.ini"], None, "cannot open config file"),
    ("config-unknown-key", [], ini("[machine]\nfrobs = 3\n"), "unknown key 'frobs'"),
    ("config-unknown-section", [], ini("[gpu]\nmodel = x\n"), "unknown section [gpu]"),
    ("config-duplicate-section", [], ini("[machine]\ncpus = 1\n[machine]\ncpus = 2\n"),
     "duplicate key 'cpus'"),
    ("config-duplicate-boot", [], ini("[boot]\nkernel = kernel.elf\n"), "duplicate key 'kernel'"),
    ("config-bad-number", [], ini("[machine]\ncpus = two\n"), "bad value 'two' for cpus"),
    ("config-bad-size", [], ini("[memory]\nsize = 12Q\n"), "bad value '12Q' for size"),
    ("config-size-overflow", [], ini("[memory]\nsize = 18446744073709551615\n"), "too large"),
    ("memory-larger-than-host", [], ini("[memory]\nsize = 100T\n"), "more than this host has"),
    ("memory-zero", [], ini("[memory]\nsize = 0\n"), "memory size 0"),
    ("cpus-zero", [], ini("[machine]\ncpus = 0\n"), "bad value '0' for cpus"),
    ("cpus-more-than-kvm-allows", ["--cpus", "100000"], ini(""), "bad value '100000' for cpus"),
]


@test
def bad_input_exits_2_and_writes_nothing():
    root = os.geteuid() == 0
    for name, args, config, msg in BAD_INPUTS:
        d = bad_input_dir(name)
        if config is not None:
            with open(os.path.join(d, "case.ini"), "w") as f:
                f.write(config)
            args = ["--config", "case.ini"] + args
        # mtimes must be able to move between the snapshots
        time.sleep(0.01)
        before = snapshot(d)
        r = run("run", *args, cwd=d, timeout=30)
        after = snapshot(d)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        expect(r.returncode == 2, f"{name}: exit {r.returncode}, stderr {r.stderr!r}")
        expect(len(lines) == 1, f"{name}: {len(lines)} lines of errors: {r.stderr!r}")
        expect(msg in lines[0], f"{name}: {msg!r} not in {lines[0]!r}")
        expect(r.stdout == "", f"{name}: the guest ran: {r.stdout!r}")
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        expect(not changed, f"{name}: created or modified {changed}")
    # unreadable by permissions only works for a user chmod binds
    if root:
        print("    (running as root: unreadable files are tested as directories only)")
    else:
        d = bad_input_dir("kernel-mode-000")
        os.chmod(os.path.join(d, "kernel.elf"), 0)
        before = snapshot(d)
        r = run("run", "--kernel", "kernel.elf", cwd=d)
        expect(r.returncode == 2 and "Permission denied" in r.stderr, r.stderr)
        expect(snapshot(d) == before, "mode-000 kernel: files changed")


@test
def good_input_dir_boots():
    """The bad-input cases are bad because of their one change: the base set-up works."""
    d = bad_input_dir("good")
    r = run("run", "--config", "good.ini", cwd=d, timeout=60)
    expect(r.returncode == 0 and "hello from" in r.stdout, f"exit {r.returncode} {r.stderr}")



# ---- hostile guests: the VMM stays responsive and ends the VM cleanly, with --stats ---------

@test
def uart_flood_ends_at_timeout_with_stats():
    # a guest writing to the UART forever: --timeout still ends it (124) and the stats count
    # the flood; the bound on minivmm's run time is run()'s 60 s, not a timing assertion
    r = run("run", "--kernel", f"{G}/hostile.elf", "--cmdline", "flood", "--timeout", "3",
            "--stats=json")
    expect(r.returncode == 124, f"exit {r.returncode}: {r.stderr[-300:]}")
    s = json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])
    expect(s["exit_status"] == 124 and s["console_bytes"] > 10000, s)
    expect(r.stdout.startswith("hostile: flood"), r.stdout[:200])


@test
def blocked_stdout_does_not_stop_timeout():
    # stdout is a pipe nobody reads: the flood fills it and the vCPU blocks in write(); the
    # main loop must still end the VM at --timeout, with --expect being polled meanwhile
    rfd, wfd = os.pipe()
    try:
        r = subprocess.run([VMM, "run", "--kernel", f"{G}/hostile.elf", "--cmdline", "flood",
                            "--cpus", "2", "--timeout", "3", "--expect", "never printed",
                            "--stats=json"], stdout=wfd, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True, timeout=60)
    finally:
        os.close(wfd)
        os.close(rfd)
    expect(r.returncode == 124, f"exit {r.returncode}: {r.stderr[-300:]}")
    s = json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])
    expect(s["exit_status"] == 124 and s["console_bytes"] > 0, s)


@test
def hostile_guest_leaves_a_working_vmm():
    # the garbage written to the UART is not text
    r = run("run", "--config", os.path.join(ROOT, "configs", "smoke", "hostile.ini"), "--stats",
            timeout=180, errors="replace")
    expect(r.returncode == 23, f"exit {r.returncode}: {r.stderr[-500:]}")
    expect("hostile: VMM still answers" in r.stdout, r.stdout[-500:])
    expect("minivmm stats: exit status 23" in r.stderr and "vcpu1 exits:" in r.stderr,
           r.stderr[-500:])
    # guest-triggered warnings are rate limited per call site: a burst of 10, then 2^k-th
    sleeps = r.stderr.count("guest asked for ACPI sleep type")
    expect(sleeps <= 10 + 20, f"{sleeps} ACPI sleep warnings: the guest floods the log")


@test
def no_leftover_processes():
    r = subprocess.run(["pgrep", "-f", f"{VMM} run"], capture_output=True, text=True)
    expect(r.stdout.strip() == "", f"leftover minivmm processes: {r.stdout}")


passed = sum(results)
print(f"cli: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
