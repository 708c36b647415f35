#!/bin/bash
# mk-l1.sh [--minivmm PATH] [--l1-kernel LABEL] [--out FILE]
#
# Build the L1 initramfs (an uncompressed newc cpio; default
# build/nested/img/l1.cpio) for the nested harness:
#   /init                    tests/nested/l1-init
#   /nested/                 l1-lib.sh, l1-tests.sh, l2-watch.awk
#   /usr/bin/busybox (+ applet links), bash
#   /lib/modules/nested/     irqbypass.ko kvm.ko kvm-amd.ko of the L1 kernel (uncompressed)
#   /usr/bin/minivmm         PATH (+ its shared libraries); a stub that fails if no PATH
#   /usr/bin/qemu-system-x86_64 (+ libraries, firmware/option ROMs) for the peer runs
#   /l2/initrd.cpio          the L2 initramfs (mk-l2-initrd.sh, with l2-virtio.sh and the
#                            kernels' virtio modules)
#   /l2/kernels/<label>/     bzImage and vmlinux (mk-vmlinux.sh) of the cached kernels
#   /repo/guest-kernel-tests/ run.sh, other scripts/lists, build/*.elf, and
#   /repo/configs/**/*.ini    if present in the tree
# Needs tests/nested/fetch.sh to have filled the cache.
set -euo pipefail
. "$(dirname "$0")/common.sh"

minivmm="" l1k=sid out=$IMG/l1.cpio
while [ $# -gt 0 ]; do
    case $1 in
        --minivmm) minivmm=$2; shift 2 ;;
        --l1-kernel) l1k=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) die "usage: $0 [--minivmm PATH] [--l1-kernel LABEL] [--out FILE]" ;;
    esac
done
BUSYBOX=$CACHE/busybox
KERN=$CACHE/kernels
if [ ! -x "$BUSYBOX" ] || [ ! -d "$KERN/$l1k/modules" ]; then die "cache incomplete: run tests/nested/fetch.sh"; fi
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not installed (make deps)"

mkdir -p "$IMG"
# L2 pieces (cheap when up to date)
if [ ! "$IMG/l2-initrd.cpio" -nt "$NESTED_DIR/mk-l2-initrd.sh" ] ||
   [ ! "$IMG/l2-initrd.cpio" -nt "$NESTED_DIR/l2-virtio.sh" ] ||
   [ ! "$IMG/l2-initrd.cpio" -nt "$NESTED_DIR/l2-xen.sh" ]; then
    "$NESTED_DIR/mk-l2-initrd.sh" "$IMG/l2-initrd.cpio"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/l1-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mk_skeleton "$root"
mkdir -p "$root/nested" "$root/lib/modules/nested" "$root/l2/kernels" "$root/var/tmp"

# busybox + applets; bash for scripts that want it
install -m 0755 "$BUSYBOX" "$root/usr/bin/busybox"
for a in $("$BUSYBOX" --list-full); do
    a=${a#/}; case $a in bin/*|sbin/*) a=usr/$a ;; esac
    [ -e "$root/$a" ] || ln -s /usr/bin/busybox "$root/$a"
done
copy_with_libs "$root" "$(readlink -f /bin/bash)" /usr/bin/bash
# GNU tools for scripts written for the host (busybox's timeout lacks
# --kill-after, date lacks %N, printf cannot print \0)
for p in timeout date printf xargs; do
    rm -f "$root/usr/bin/$p"
    copy_with_libs "$root" "$(type -P "$p")" "/usr/bin/$p"
done

# harness
install -m 0755 "$NESTED_DIR/l1-init" "$root/init"
install -m 0644 "$NESTED_DIR/l1-lib.sh" "$NESTED_DIR/l1-tests.sh" "$NESTED_DIR/l2-watch.awk" "$root/nested/"
cat >"$root/usr/bin/nested-run" <<'EOF'
#!/bin/sh
# nested-run [REGEX]: run the L1 tests (all, or those matching REGEX) from a shell
. /nested/l1-lib.sh
. /nested/l1-tests.sh
nested_run "$1"
EOF
chmod 0755 "$root/usr/bin/nested-run"

# kvm modules of the L1 kernel
for m in irqbypass kvm kvm-amd; do
    install -m 0644 "$KERN/$l1k/modules/$m.ko" "$root/lib/modules/nested/$m.ko"
done

# minivmm (or a stub)
rm -f "$root/usr/bin/minivmm"
if [ -n "$minivmm" ]; then
    [ -x "$minivmm" ] || die "minivmm binary $minivmm not found or not executable"
    if ldd "$minivmm" 2>&1 | grep -q 'not found'; then
        ldd "$minivmm" >&2; die "$minivmm: shared libraries missing on the host"
    fi
    copy_with_libs "$root" "$minivmm" /usr/bin/minivmm
    echo "minivmm $(readlink -f "$minivmm")" >"$root/nested/contents"
else
    cat >"$root/usr/bin/minivmm" <<'EOF'
#!/bin/sh
echo "minivmm: STUB: the nested harness was run without a minivmm binary (run.sh --minivmm PATH)" >&2
exit 127
EOF
    chmod 0755 "$root/usr/bin/minivmm"
    echo "minivmm stub" >"$root/nested/contents"
fi

# QEMU for the peer runs: the binary, its libraries, and the firmware/option
# ROMs a microvm (qboot, PVH and Linux loaders) or a pc machine loads.
copy_with_libs "$root" "$QEMU" /usr/bin/qemu-system-x86_64
for d in $("$QEMU" -L help); do
    d=$(readlink -f "$d" 2>/dev/null) || continue
    [ -d "$d" ] || continue
    rel=/usr/share/${d##*/share/}
    case $d in */lib/ipxe/qemu) continue ;; esac   # NIC ROMs: no NICs here
    for f in bios-microvm.bin qboot.rom pvh.bin linuxboot.bin linuxboot_dma.bin multiboot.bin \
             multiboot_dma.bin kvmvapic.bin bios.bin bios-256k.bin vgabios-stdvga.bin; do
        [ -e "$d/$f" ] && [ ! -e "$root$rel/$f" ] && install -D -m 0644 "$(readlink -f "$d/$f")" "$root$rel/$f"
    done
done
echo "qemu $("$QEMU" --version | head -n1)" >>"$root/nested/contents"

# L2 kernels and initrd
install -m 0644 "$IMG/l2-initrd.cpio" "$root/l2/initrd.cpio"
# the kernels the suite aliases point to (kernels/sid -> sid-7.2, ...); older
# ones left in the cache by fetch.sh --refresh are not included
for alias in bookworm sid; do
    [ -L "$KERN/$alias" ] || continue
    label=$(readlink "$KERN/$alias")
    kd=$KERN/$label
    [ -s "$kd/bzImage" ] || continue
    mkdir -p "$root/l2/kernels/$label"
    ln "$kd/bzImage" "$root/l2/kernels/$label/bzImage" 2>/dev/null || cp "$kd/bzImage" "$root/l2/kernels/$label/bzImage"
    vml=$IMG/vmlinux-$label
    rc=0
    "$NESTED_DIR/mk-vmlinux.sh" "$kd/bzImage" "$vml" 2>"$IMG/vmlinux-$label.log" || rc=$?
    case $rc in
        0) ln "$vml" "$root/l2/kernels/$label/vmlinux" 2>/dev/null || cp "$vml" "$root/l2/kernels/$label/vmlinux" ;;
        3) echo "$label: the kernel has no Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY): no PVH boot" \
               >"$root/l2/kernels/$label/pvh-missing"
           msg "warning: $label has no PVH note: its pvh tests will fail" ;;
        *) cat "$IMG/vmlinux-$label.log" >&2
           echo "$label: vmlinux could not be extracted from the bzImage (mk-vmlinux.sh status $rc)" \
               >"$root/l2/kernels/$label/pvh-missing" ;;
    esac
    echo "kernel $label $(cat "$kd/release")" >>"$root/nested/contents"
done

# guest-kernel-tests, laid out as in the tree (run from /repo)
g=$REPO_ROOT/guest-kernel-tests
if [ -e "$g/run.sh" ] && compgen -G "$g/build/*.elf" >/dev/null; then
    mkdir -p "$root/repo/guest-kernel-tests/build"
    for f in "$g"/*; do      # scripts and lists, not the sources
        [ -f "$f" ] || continue
        case ${f##*/} in *.c|*.h|*.S|*.o|*.d|*.ld|Makefile|.*) continue ;; esac
        cp "$f" "$root/repo/guest-kernel-tests/"
    done
    cp "$g"/build/*.elf "$root/repo/guest-kernel-tests/build/"
    echo "guest-kernel-tests $(ls "$g"/build/*.elf | wc -l) elf" >>"$root/nested/contents"
    # the test configs (configs/smoke/*.ini) the runner reads
    if [ -d "$REPO_ROOT/configs" ]; then
        (cd "$REPO_ROOT" && find configs -type f -name '*.ini' -print0 | xargs -0r cp --parents -t "$root/repo/")
    fi
else
    echo "guest-kernel-tests absent" >>"$root/nested/contents"
fi

mk_cpio "$root" "$out"
cpio_add_console "$out"
msg "L1 initramfs: ${out#"$REPO_ROOT"/} ($(du -h "$out" | cut -f1)): $(tr '\n' ';' <"$root/nested/contents")"
