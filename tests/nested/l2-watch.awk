# l2-watch.awk: runs in L1 (busybox awk) on the console output of one L2 VMM.
#
# Input: the VMM's stdout+stderr, preceded by a line "@@T0" written just
# before the VMM starts and followed by "@@RC <exit status>".
# Output: every line, prefixed "  <name>| ", on stdout (the L1 console), and
# shell assignments in the file `out` (read by l1-lib.sh when the VMM is gone):
#   up, boot_ms (VMM start -> MINIVMM-L2-UP), done_ms, l2_cpus, l2_memkb,
#   l2_errors, l2_uptime, l2_kernel, rc, last (last non-empty line)
# The (empty) file `donef` appears when the guest's report is complete, the
# file `endf` when the VMM's output has ended.
#
# Times come from the L1 kernel's monotonic clock ("now at N nsecs" in
# /proc/timer_list: ns resolution, no fork); /proc/uptime (10 ms) is the fallback.

function now(    l, a, f) {
    f = "/proc/timer_list"
    while ((getline l < f) > 0)
        if (l ~ /^now at [0-9]+ nsecs/) { close(f); split(l, a, " "); return a[3] / 1000000 }
    close(f)
    f = "/proc/uptime"
    getline l < f; close(f); split(l, a, " ")
    return a[1] * 1000
}
function q(s) { gsub(/[^-A-Za-z0-9_.,:;=+\/()\[\] <>#@%]/, "?", s); return "'" s "'" }
function ms(t) { return int(t - t0 + 0.5) }
function grab(key,    v) {   # value of KEY=<non-space> in $0, or ""
    if (!match($0, key "=[^ ]*")) return ""
    v = substr($0, RSTART + length(key) + 1, RLENGTH - length(key) - 1)
    return v
}
BEGIN { t0 = now(); up = 0; done = 0 }
{
    gsub(/\r/, "")
    if ($0 == "@@T0") { t0 = now(); next }
    if (match($0, /@@RC [0-9]+$/)) {    # the VMM's output may end without a newline
        rc = substr($0, RSTART + 5)
        $0 = substr($0, 1, RSTART - 1)
        if ($0 == "") next
    }
    if ($0 == "Killed") next     # the shell's note when the harness kills the VMM
    print "  " name "| " $0
    fflush()
    if ($0 ~ /[^ ]/) last = $0
    if (!up && index($0, "MINIVMM-L2-UP")) { up = 1; tup = now() }
    if (index($0, "L2-CPUS="))   l2_cpus = grab("L2-CPUS")
    if (index($0, "L2-MEMKB="))  l2_memkb = grab("L2-MEMKB")
    if (index($0, "L2-ERRORS=")) l2_errors = grab("L2-ERRORS")
    if (index($0, "L2-UPTIME=")) l2_uptime = grab("L2-UPTIME")
    if (index($0, "L2-KERNEL=")) l2_kernel = grab("L2-KERNEL")
    if (!done && index($0, "MINIVMM-L2-DONE")) {
        done = 1; tdone = now()
        printf "" > donef; close(donef)
    }
}
END {
    tend = now()
    printf "up=%d\nboot_ms=%s\ndone_ms=%s\nend_ms=%d\n", up, (up ? ms(tup) : ""), (done ? ms(tdone) : ""), ms(tend) > out
    printf "l2_cpus=%s\nl2_memkb=%s\nl2_errors=%s\nl2_uptime=%s\nl2_kernel=%s\n", \
        q(l2_cpus), q(l2_memkb), q(l2_errors), q(l2_uptime), q(l2_kernel) > out
    printf "rc=%s\nlast=%s\n", q(rc), q(last) > out
    close(out)
    printf "" > endf; close(endf)
}
