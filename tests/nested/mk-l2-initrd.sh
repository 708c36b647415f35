#!/bin/bash
# mk-l2-initrd.sh [OUT]   (default build/nested/img/l2-initrd.cpio)
#
# A busybox initramfs for the L2 guests.  Its init prints, on the console:
#   MINIVMM-L2-UP            as soon as user space runs (the boot-time marker)
#   L2-CPUS=N                processors in /proc/cpuinfo
#   L2-MEMKB=N               MemTotal from /proc/meminfo
#   L2-ERRORS=N              lines of dmesg that contain "error" (any case)
#   L2-ERRLINE: ...          the first 5 of them
#   L2-UPTIME=S              the guest's own /proc/uptime at that point
#   L2-KERNEL=R              uname -r
#   MINIVMM-L2-DONE          end of the report
# then powers off (poweroff -f).  With `minivmm.shell=1` on the kernel command
# line it starts a shell on the console instead (power off when it exits).
# minivmm.virtio=TEST runs l2-virtio.sh's test, minivmm.xen=1 l2-xen.sh's (before poweroff).
set -euo pipefail
. "$(dirname "$0")/common.sh"

out=${1:-$IMG/l2-initrd.cpio}
BUSYBOX=${BUSYBOX:-$CACHE/busybox}
[ -x "$BUSYBOX" ] || die "no busybox at $BUSYBOX (run tests/nested/fetch.sh)"

root=$(mktemp -d "${TMPDIR:-/tmp}/l2-initrd.XXXXXX")
trap 'rm -rf "$root"' EXIT
mk_skeleton "$root"
install -m 0755 "$BUSYBOX" "$root/usr/bin/busybox"
# applet links made here, not at boot: less work in the guest
for a in $("$BUSYBOX" --list-full); do
    a=${a#/}; case $a in bin/*|sbin/*) a=usr/$a ;; esac
    [ -e "$root/$a" ] || ln -s /usr/bin/busybox "$root/$a"
done

# virtio modules of every cached kernel (fetch.sh puts them next to the kvm
# modules) and the L2 side of the virtio tests (minivmm.virtio=TEST)
for kd in "$CACHE"/kernels/*/; do
    kd=${kd%/}
    if [ -L "$kd" ] || [ ! -s "$kd/release" ]; then continue; fi
    rel=$(cat "$kd/release")
    for m in virtio virtio_ring virtio_mmio virtio_blk virtio-rng virtio_balloon virtio_console; do
        if [ -e "$kd/modules/$m.ko" ]; then
            install -D -m 0644 "$kd/modules/$m.ko" "$root/usr/lib/modules/$rel/$m.ko"
        fi
    done
done
install -m 0644 "$NESTED_DIR/l2-virtio.sh" "$root/l2-virtio.sh"
# 4 KiB random reads for the virtio-blk benchmark (l2v_perf): static, the initrd has no libc
${CC:-cc} -static -O2 -Wall -Wextra -Werror -o "$root/usr/bin/randread" "$NESTED_DIR/randread.c" ||
    die "cannot build randread.c statically (libc6-dev's libc.a?)"
# the L2 side of the Xen HVM test (minivmm.xen=1)
install -m 0644 "$NESTED_DIR/l2-xen.sh" "$root/l2-xen.sh"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
# L2 init (tests/nested/mk-l2-initrd.sh)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo MINIVMM-L2-UP
echo "L2-CPUS=$(grep -c ^processor /proc/cpuinfo)"
echo "L2-MEMKB=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' /proc/meminfo)"
echo "L2-ERRORS=$(dmesg | grep -ci error)"
dmesg | grep -i error | head -n 5 | sed 's/^/L2-ERRLINE: /'
read up rest </proc/uptime
echo "L2-UPTIME=$up"
echo "L2-KERNEL=$(uname -r)"
echo MINIVMM-L2-DONE
for o in $(cat /proc/cmdline); do
    case $o in minivmm.virtio=*) . /l2-virtio.sh; l2_virtio "${o#*=}" ;; esac
    case $o in minivmm.xen=1) . /l2-xen.sh; l2_xen ;; esac
done
case " $(cat /proc/cmdline) " in
*" minivmm.shell=1 "*)
    echo "L2: minivmm.shell=1: shell on the console; 'exit' powers off"
    setsid cttyhack sh -l
    ;;
esac
poweroff -f
EOF
chmod 0755 "$root/init"

mkdir -p "$(dirname "$out")"
mk_cpio "$root" "$out"
cpio_add_console "$out"
msg "L2 initrd: $out ($(du -h "$out" | cut -f1))"
