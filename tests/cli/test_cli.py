#!/usr/bin/env python3
"""End-to-end tests of minivmm's command line, config files, exit statuses and smoke-test
features, against the freestanding guests on this host's KVM. Prints PASS/FAIL per test and
"cli: N passed, N failed"."""
import json
import os
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
def no_leftover_processes():
    r = subprocess.run(["pgrep", "-f", f"{VMM} run"], capture_output=True, text=True)
    expect(r.stdout.strip() == "", f"leftover minivmm processes: {r.stdout}")


passed = sum(results)
print(f"cli: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
