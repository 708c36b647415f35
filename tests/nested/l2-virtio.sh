# shellcheck shell=dash
# l2-virtio.sh: the L2 side of the virtio tests (l1-tests.sh, virtio_* functions).
# Sourced by the L2 init (mk-l2-initrd.sh) when the kernel command line has
# minivmm.virtio=TEST; prints VIRTIO-* lines that the L1 side waits for and checks.

# load the virtio modules of this kernel (built-in ones are skipped); virtio_mmio
# finds the devices in the DSDT (LNRO0005)
virtio_modules() {
    local d m
    d=/lib/modules/$(uname -r)
    for m in virtio virtio_ring virtio_mmio virtio_blk virtio-rng virtio_balloon virtio_console; do
        [ -e "$d/$m.ko" ] && insmod "$d/$m.ko"
    done
    echo "VIRTIO-DEVICES=$(cd /sys/bus/virtio/devices 2>/dev/null && echo *)"
    dmesg | grep -iE 'virtio|irq' | tail -n 8 | sed 's/^/VIRTIO-DMESG /'
}

# wait_file PATH SECONDS
wait_file() {
    local i=0
    while [ ! -e "$1" ] && [ $i -lt $(($2 * 10)) ]; do usleep 100000; i=$((i + 1)); done
    [ -e "$1" ]
}

# the disk's properties as the guest sees them
blk_info() {
    wait_file /sys/block/vda 10 || { echo "VIRTIO-FAIL no /sys/block/vda"; return 1; }
    echo "VIRTIO-BLK-INFO sectors=$(cat /sys/block/vda/size) ro=$(cat /sys/block/vda/ro)" \
         "serial=$(cat /sys/block/vda/serial 2>/dev/null)" \
         "discard_max=$(cat /sys/block/vda/queue/discard_max_bytes)" \
         "wzeroes_max=$(cat /sys/block/vda/queue/write_zeroes_max_bytes 2>/dev/null)" \
         "cache=$(cat /sys/block/vda/queue/write_cache 2>/dev/null)"
    wait_file /dev/vda 5 || { echo "VIRTIO-FAIL no /dev/vda"; return 1; }
}

l2v_blk() {
    blk_info || return
    # 4 MiB of random data at 8 MiB, flushed (conv=fsync: fsync on the disk -> FLUSH)
    dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
    echo "VIRTIO-BLK-PATTERN md5=$(md5sum </tmp/pattern | cut -d' ' -f1)"
    t0=$(cut -d' ' -f1 /proc/uptime)
    dd if=/tmp/pattern of=/dev/vda bs=1M seek=8 conv=fsync 2>&1 | tail -n 1
    echo "VIRTIO-BLK-WRITE rc=$? t0=$t0 t1=$(cut -d' ' -f1 /proc/uptime)"
    # read it back from the device, past the guest's page cache
    dd if=/dev/vda of=/tmp/back bs=1M skip=8 count=4 iflag=direct 2>/dev/null
    echo "VIRTIO-BLK-READBACK md5=$(md5sum </tmp/back | cut -d' ' -f1)"
    # discard: 4 MiB written at 32 MiB, then discarded (punch-hole in the image)
    dd if=/tmp/pattern of=/dev/vda bs=1M seek=32 conv=fsync 2>/dev/null
    blkdiscard -o $((32 << 20)) -l $((4 << 20)) /dev/vda
    echo "VIRTIO-BLK-DISCARD rc=$?"
    dd if=/dev/vda bs=1M skip=32 count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1 |
        sed 's/^/VIRTIO-BLK-DISCARDED md5=/'
    sync
    echo "VIRTIO-BLK-WRITTEN"
    # wait to be killed (SIGKILL of the VMM by L1)
    sleep 600
}

# 4 MiB at 8 MiB with O_DIRECT and no flush, then wait for L1's SIGTERM of the VMM
l2v_blkterm() {
    blk_info || return
    dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
    dd if=/tmp/pattern of=/dev/vda bs=1M seek=8 oflag=direct 2>/dev/null ||
        { echo "VIRTIO-FAIL O_DIRECT write to /dev/vda"; return 1; }
    echo "VIRTIO-BLKTERM-WRITTEN md5=$(md5sum </tmp/pattern | cut -d' ' -f1)"
    sleep 600
}

l2v_blkro() {
    blk_info || return
    dd if=/dev/vda bs=1M skip=8 count=4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1 |
        sed 's/^/VIRTIO-RO-READ md5=/'
    if dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/tmp/err; then
        echo "VIRTIO-RO-WRITE result=accepted"
    else
        echo "VIRTIO-RO-WRITE result=refused: $(tail -n 1 /tmp/err)"
    fi
    if blkdiscard -o 0 -l 4096 /dev/vda 2>/tmp/err; then
        echo "VIRTIO-RO-DISCARD result=accepted"
    else
        echo "VIRTIO-RO-DISCARD result=refused: $(tail -n 1 /tmp/err)"
    fi
    echo "VIRTIO-RO-DONE"
}

l2v_rng() {
    local r=/sys/class/misc/hw_random
    wait_file /dev/hwrng 10 || { echo "VIRTIO-FAIL no /dev/hwrng"; return 1; }
    echo "VIRTIO-RNG-INFO current=$(cat $r/rng_current) available=$(cat $r/rng_available | tr ' ' ',')"
    a=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | md5sum | cut -d' ' -f1)
    b=$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | md5sum | cut -d' ' -f1)
    t0=$(cut -d' ' -f1 /proc/uptime)
    # 256 KiB: a request per 512 bytes costs ~10 ms in the nested L1 (QEMU is slower still)
    n=$(dd if=/dev/hwrng bs=4096 count=64 iflag=fullblock 2>/dev/null | wc -c)
    t1=$(cut -d' ' -f1 /proc/uptime)
    zeros=$(dd if=/dev/hwrng bs=4096 count=1 2>/dev/null | od -An -v -tx1 | tr ' ' '\n' | grep -c '^00$')
    echo "VIRTIO-RNG-BYTES n=$n t0=$t0 t1=$t1 a=$a b=$b zero_bytes_in_4k=$zeros"
    echo "VIRTIO-RNG-DONE"
}

l2v_balloon() {
    local f d
    for d in /sys/bus/virtio/devices/*; do
        [ "$(cat "$d/device" 2>/dev/null)" = 0x0005 ] && f=$(cat "$d/features")
    done
    # features: one character per bit; bit 5 = free page reporting
    echo "VIRTIO-BALLOON-INFO features=$f reporting=$(echo "$f" | cut -c6)" \
         "memfree_kb=$(sed -n 's/^MemFree: *\([0-9]*\).*/\1/p' /proc/meminfo)"
    mkdir -p /mnt/fill && mount -t tmpfs -o size=200m tmpfs /mnt/fill
    sleep 8                 # boot-time reporting settles
    echo "VIRTIO-BALLOON-BASE"
    sleep 4
    dd if=/dev/zero of=/mnt/fill/x bs=1M count="${BALLOON_FILL_MB:-128}" 2>/dev/null
    echo "VIRTIO-BALLOON-FILLED memfree_kb=$(sed -n 's/^MemFree: *\([0-9]*\).*/\1/p' /proc/meminfo)"
    sleep 4
    rm /mnt/fill/x
    echo "VIRTIO-BALLOON-FREED memfree_kb=$(sed -n 's/^MemFree: *\([0-9]*\).*/\1/p' /proc/meminfo)"
    sleep 15
    echo "VIRTIO-BALLOON-DONE"
}

# throughput of the disk, for VMM comparisons: sequential 1 MiB writes and reads, and
# 4 KiB reads at random offsets at queue depth 1 (randread.c), all O_DIRECT
l2v_perf() {
    local t0 t1 mb=${PERF_MB:-64}
    blk_info || return
    t0=$(cut -d' ' -f1 /proc/uptime)
    dd if=/dev/zero of=/dev/vda bs=1M count="$mb" oflag=direct 2>/dev/null
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo "VIRTIO-PERF write_mb=$mb t0=$t0 t1=$t1"
    t0=$(cut -d' ' -f1 /proc/uptime)
    dd if=/dev/vda of=/dev/null bs=1M count="$mb" iflag=direct 2>/dev/null
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo "VIRTIO-PERF read_mb=$mb t0=$t0 t1=$t1"
    echo "VIRTIO-PERF randread4k $(randread /dev/vda "${PERF_RANDREADS:-4096}")"
    echo "VIRTIO-PERF-DONE"
}

# the balloon inflated at boot ([devices] balloon-target): MemFree before poweroff
l2v_inflate() {
    sleep 6
    echo "VIRTIO-INFLATE memfree_kb=$(sed -n 's/^MemFree: *\([0-9]*\).*/\1/p' /proc/meminfo)" \
         "memtotal_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
    echo "VIRTIO-INFLATE-DONE"
}

# virtio-console: /dev/hvc0 in raw mode gets a marker line, 1 MiB of random bytes and an end
# line; the L1 side finds them byte-exact in the file minivmm wrote (--virtio-console FILE)
l2v_console() {
    local id n t0 t1
    wait_file /dev/hvc0 10 || { echo "VIRTIO-FAIL no /dev/hvc0"; return 1; }
    id=$(dd if=/dev/urandom bs=8 count=1 2>/dev/null | md5sum | cut -c1-16)
    dd if=/dev/urandom of=/tmp/blob bs=64k count=16 2>/dev/null
    echo "VIRTIO-CONSOLE-INFO marker=vcon-begin-$id blob_md5=$(md5sum </tmp/blob | cut -d' ' -f1)"
    # hvc resets the termios at the last close: raw (no \n -> \r\n) only while fd 3 is open
    exec 3>/dev/hvc0
    stty -F /dev/hvc0 raw -echo || { echo "VIRTIO-FAIL stty raw on /dev/hvc0"; return 1; }
    echo "vcon-begin-$id" >&3
    t0=$(cut -d' ' -f1 /proc/uptime)
    n=$(dd if=/tmp/blob bs=4k 2>/dev/null >&3 && wc -c </tmp/blob)
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo "vcon-end-$id" >&3
    exec 3>&-
    echo "VIRTIO-CONSOLE-SENT n=$n t0=$t0 t1=$t1"
    echo "VIRTIO-CONSOLE-DONE"
}

l2_virtio() {
    virtio_modules
    case $1 in
        blk|blkro|blkterm|rng|balloon|perf|inflate|console) "l2v_$1" ;;
        *) echo "VIRTIO-FAIL unknown test $1" ;;
    esac
}
