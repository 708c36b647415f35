# shellcheck shell=dash
# l2-xen.sh: the L2 side of the Xen HVM test (l1-tests.sh, xen_linux).  Sourced by the L2
# init (mk-l2-initrd.sh) when the kernel command line has minivmm.xen=1; prints XEN-* lines
# that the L1 side checks:
#   XEN-DMESG <line>          what the kernel said about Xen, hypervisors, event channels
#   XEN-IRQ-BEFORE <line>     the Xen IPI lines of /proc/interrupts (event channels bound by
#                             bind_ipi: resched<N>, callfunc<N>, callfuncsingle<N>, spinlock<N>
#                             on the xen-percpu chip), before ...
#   XEN-IRQ-AFTER <line>      ... and after making IPIs between the two CPUs
#   XEN-IPI-SUM <when> <n0> <n1> ...   their per-CPU sums
#   XEN-DONE
# The L2 stays a plain Linux: no Xen tools, only what the kernel shows in /proc and dmesg.

# the Xen IPI lines: IRQs named after Linux's bind_ipi_to_irqhandler() callers (xen/smp.c,
# spinlock.c)
XEN_IPI_RE='(resched|callfunc|callfuncsingle|spinlock|irqwork)[0-9]+$'
xen_ipi_lines() { grep -E "$XEN_IPI_RE" /proc/interrupts; }
# per-CPU sums of the Xen IPI lines: "n0 n1 ..."
xen_ipi_sums() {
    xen_ipi_lines | awk -v ncpu="$(grep -c ^processor /proc/cpuinfo)" '
        { for (c = 0; c < ncpu; c++) s[c] += $(c + 2) }
        END { for (c = 0; c < ncpu; c++) printf "%s%d", (c ? " " : ""), s[c]; print "" }'
}

# IPIs both ways between CPU 0 and CPU 1: a writer pinned to one CPU feeds a reader pinned
# to the other line by line, so each side keeps waking the other (a reschedule or a
# call-function-single IPI each time the sleeper is on the other CPU); then processes are
# started on the other CPU and exit there (migrations, and TLB shootdowns of their mm).
xen_make_ipis() {
    local i
    for i in 1 2; do
        taskset -c 0 sh -c 'i=0; while [ $i -lt 500 ]; do echo $i; i=$((i + 1)); done' |
            taskset -c 1 sh -c 'n=0; while read x; do n=$((n + 1)); done; echo "XEN-PIPE lines=$n"'
        taskset -c 1 sh -c 'i=0; while [ $i -lt 500 ]; do echo $i; i=$((i + 1)); done' |
            taskset -c 0 sh -c 'n=0; while read x; do n=$((n + 1)); done; echo "XEN-PIPE lines=$n"'
    done
    for i in $(seq 1 20); do
        taskset -c $((i % 2)) true
    done
}

l2_xen() {
    dmesg | grep -iE 'xen|hypervisor detected|event|callback vector|spinlock' | sed 's/^/XEN-DMESG /'
    echo "XEN-SYS type=$(cat /sys/hypervisor/type 2>/dev/null || echo -)" \
        "guest_type=$(cat /sys/hypervisor/guest_type 2>/dev/null || echo -)"
    xen_ipi_lines | sed 's/^/XEN-IRQ-BEFORE /'
    echo "XEN-IPI-SUM before $(xen_ipi_sums)"
    xen_make_ipis
    xen_ipi_lines | sed 's/^/XEN-IRQ-AFTER /'
    echo "XEN-IPI-SUM after $(xen_ipi_sums)"
    grep -E 'HYP|CAL|RES' /proc/interrupts | sed 's/^/XEN-IRQ-ARCH /'
    grep -iE 'xen|virq|timer|debug' /proc/interrupts | sed 's/^/XEN-IRQ-OTHER /'
    echo XEN-DONE
}
