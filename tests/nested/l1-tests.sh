# shellcheck shell=dash disable=SC2034
# l1-tests.sh: the nested test matrix.  Sourced inside L1 (busybox sh) by
# l1-init, after l1-lib.sh; run.sh on the host prints one PASS/FAIL line per test.
#
# To add a test:   t NAME FUNCTION [ARGS...]      (ARGS: words without spaces)
# It passes when FUNCTION returns 0; a failing function may first call
# `reason "text"`.  Ready-made functions (l1-lib.sh):
#   l2 VMM KERNEL PROTO CPUS   boot an L2 Linux: VMM = suffix of a vmm_* function
#                              below, KERNEL = directory in /l2/kernels (e.g.
#                              bookworm-6.1), PROTO = bzimage | pvh, CPUS = vCPUs
#   run_cmd TIMEOUT CMD...     passes when CMD exits 0 within TIMEOUT seconds
#   run_in DIR TIMEOUT CMD...  the same, in directory DIR
#   check_kvm                  L1 has /dev/kvm
#
# What is in L1: /usr/bin/minivmm (also /bin/minivmm), qemu-system-x86_64,
# bash, busybox, /l2/kernels/<label>/{bzImage,vmlinux}, /l2/initrd.cpio,
# /repo/guest-kernel-tests/{run.sh,build/*.elf} when they exist in the tree.

L2_MEM=256M
# initcall_blacklist=cmos_init: neither VMM has a CMOS RTC, and Linux probing
# the absent one costs 7-15 s here (each port access is a slow nested exit)
L2_CMDLINE="console=ttyS0 panic=-1 initcall_blacklist=cmos_init"
if [ "$NESTED_L2_VERBOSE" = 1 ]; then
    L2_CMDLINE="$L2_CMDLINE earlyprintk=ttyS0"
else
    L2_CMDLINE="$L2_CMDLINE quiet"
fi
L2_TIMEOUT=${NESTED_L2_TIMEOUT:-60}   # seconds from VMM start until it must have exited
L2_EXIT_GRACE=10                      # seconds between the guest's report and the VMM's exit
L2_REQUIRE_CLEAN_EXIT=1               # the VMM must exit with status 0 after the guest's poweroff

# How each VMM boots an L2 guest: vmm_NAME IMAGE INITRD CMDLINE CPUS MEMORY.
# Must `exec` the VMM (the harness kills it by pid on timeout) and write the
# guest's serial console to stdout.
vmm_minivmm() {
    exec minivmm run --kernel "$1" --initrd "$2" --cmdline "$3" --cpus "$4" --memory "$5"
}
vmm_qemu() {   # the peer: QEMU microvm on L1's KVM
    exec qemu-system-x86_64 -M microvm -cpu host -enable-kvm -smp "$4" -m "$5" \
        -display none -monitor none -serial stdio -no-reboot \
        -kernel "$1" -initrd "$2" -append "$3"
}

# guest-kernel-tests (freestanding guests) under minivmm, as in the tree
gkt() {
    [ -x /repo/guest-kernel-tests/run.sh ] || { reason "guest-kernel-tests/run.sh not in the image"; return 1; }
    export VMM=/bin/minivmm
    run_in /repo 900 guest-kernel-tests/run.sh --vmm /bin/minivmm --time --verbose
}

# ---------------------------------------------------------------- the matrix
t l1-kvm        check_kvm
t minivmm-caps  run_cmd 30 minivmm caps
if [ -e /repo/guest-kernel-tests/run.sh ]; then
    t guest-kernel-tests gkt
else
    say "INFO - guest-kernel-tests are not in the image (no guest-kernel-tests/run.sh or build/*.elf): not run"
fi
# the Linux smoke suite, as a CI job would run it: minivmm test + JUnit
if [ -d /repo/configs/smoke-linux ]; then
    t minivmm-test-smoke-linux run_in /repo 600 minivmm test --jobs 1 --junit /tmp/smoke-linux.xml configs/smoke-linux/
fi
# freestanding guests that need a KVM where vmcall reaches the VMM
if [ -d /repo/configs/smoke-nested ]; then
    t minivmm-test-smoke-nested run_in /repo 300 minivmm test --jobs 1 configs/smoke-nested/
fi
for k in /l2/kernels/*; do             # e.g. bookworm-6.1 sid-7.2
    k=${k##*/}
    for proto in bzimage pvh; do
        for cpus in 1 2; do
            t "minivmm-$k-$proto-${cpus}cpu" l2 minivmm "$k" "$proto" "$cpus"
            t "qemu-$k-$proto-${cpus}cpu"    l2 qemu    "$k" "$proto" "$cpus"
        done
    done
done
