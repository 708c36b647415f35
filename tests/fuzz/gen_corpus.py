#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the seed corpora of tests/fuzz/corpus/<harness>/ (small, valid and near-valid).

    python3 tests/fuzz/gen_corpus.py [HARNESS...]   (from the repository root, after `make guests`)

ELF seeds come from guest-kernel-tests/build/*.elf (whole, truncated, and with one field
broken each); bzImage seeds are synthetic images with a real setup header; config seeds are
the INI files of configs/ plus broken variants and config_set() field tuples; device seeds
are operation lists in fuzz_devices.c's encoding. Every seed stays under 64 KiB and the whole
corpus under 1 MiB (checked at the end). Seeds are written only when their content changes.
"""
import glob
import os
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEED_MAX = 64 * 1024
CORPUS_MAX = 1024 * 1024

written = {}


def seed(harness, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < SEED_MAX, (harness, name, len(data))
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    if not os.path.exists(path) or open(path, "rb").read() != data:
        with open(path, "wb") as f:
            f.write(data)
    written.setdefault(harness, set()).add(name)


def trailer(cpus=1, initrd_64k=0, protocol=0):
    """fuzz_boot_params(): "MV" cpus initrd flags (protocol 0 auto, 1 linux64, 2 pvh)."""
    return b"MV" + bytes([cpus & 0xFF, initrd_64k, protocol])


# ---- fuzz_config -----------------------------------------------------------------------------

def config_seeds():
    h = "fuzz_config"
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "**", "*.ini"), recursive=True)):
        rel = os.path.relpath(path, os.path.join(ROOT, "configs")).replace(os.sep, "-")
        seed(h, "ini-" + rel, open(path, "rb").read())
    full = """[machine]
cpus = 4
log-level = debug
stats = json
stats-file = stats.json

[memory]
size = 512MiB
backing = anonymous
hugepages = 2M

[boot]
kernel = /boot/vmlinuz
initrd = initrd.img
cmdline = console=ttyS0 root=/dev/vda rw
protocol = linux64

[test]
timeout = 60
expect = ^login:
expect = hello (world|there)
fail-on = Kernel panic
expect-exit = yes
console-log = console.log
exit-status = 3
"""
    seed(h, "ini-all-keys", full)
    seed(h, "ini-unknown-key", "[machine]\ncpus = 2\nvcpus = 4\n")
    seed(h, "ini-unknown-section", "[network]\ntap = tap0\n")
    seed(h, "ini-duplicate-key", "[memory]\nsize = 1G\nsize = 2G\n")
    seed(h, "ini-duplicate-section", "[boot]\nkernel = a\n[machine]\ncpus=1\n[boot]\ninitrd = b\n")
    seed(h, "ini-bad-numbers",
         "[machine]\ncpus = 0\n[memory]\nsize = 18446744073709551615T\n[test]\ntimeout = -1\n")
    seed(h, "ini-absurd-size", "[memory]\nsize = 99999999G\n[machine]\ncpus = 257\n")
    seed(h, "ini-syntax-error", "[machine\ncpus 4\n= value\n")
    seed(h, "ini-no-section", "cpus = 2\n")
    seed(h, "ini-comments", "; comment\n# another\n[boot] ; trailing\ncmdline = a=b ; c\n")
    seed(h, "ini-long-cmdline", "[boot]\ncmdline = " + "x" * 4200 + "\n")
    seed(h, "ini-long-path", "[boot]\nkernel = " + "d/" * 2100 + "k\n")
    seed(h, "ini-too-many-patterns", "[test]\n" + "expect = p\n" * 17)
    seed(h, "ini-empty-values", "[boot]\nkernel =\ninitrd = \n[test]\nexpect =\n")
    seed(h, "ini-cmdline-joined", "[boot]\n" + "cmdline = " + "y" * 150 + "\n" +
         "  cmdline = z=1\n\tcmdline = w=2\n")
    seed(h, "ini-cmdline-joined-too-long", "[boot]\n" + ("cmdline = " + "y" * 180 + "\n") * 24)
    seed(h, "ini-indented", "  [machine]\n\tcpus = 2\n   log-level = info\n")
    seed(h, "ini-root-dir-path", "[boot]\nkernel = vmlinux\ninitrd = /abs/initrd\n")
    # config_set() tuples: section NUL key NUL value NUL base_dir (last byte: error buffer size)
    seed(h, "set-size", b"memory\0size\0" + b"512M\0/base\x40")
    seed(h, "set-size-kib", b"memory\0size\0" + b"4096KiB\0\0\x08")
    seed(h, "set-cpus-hex", b"machine\0cpus\0" + b"0x10\0\0\x10")
    seed(h, "set-kernel-relative", b"boot\0kernel\0" + b"vmlinux\0/some/dir\0\x7f")
    seed(h, "set-unknown", b"machine\0nope\0x\0\0\x00")
    seed(h, "set-stats", b"machine\0stats\0" + b"on\0\0\x03")
    seed(h, "set-expect", b"test\0expect\0" + b"^ok [0-9]+$\0\0\x20")
    seed(h, "size-overflow", "17179869184T")
    seed(h, "size-bytes", "1048576B")


# ---- fuzz_elf --------------------------------------------------------------------------------

def elf_phdrs(data):
    """(offset of the program header table, entry size, count) of an ELF64 image."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return phoff, phentsize, phnum


def phdr_field(data, index, fmt, field_off, value):
    phoff, phentsize, _ = elf_phdrs(data)
    struct.pack_into(fmt, data, phoff + index * phentsize + field_off, value)


def find_phdr(data, p_type):
    phoff, phentsize, phnum = elf_phdrs(data)
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + i * phentsize)[0] == p_type:
            return i
    return None


def mini_elf(elf32=False, paddr=0x100000, entry=None, note_desc=None, bss=0x1000):
    """A minimal PVH kernel: one PT_LOAD of code + one PT_NOTE with XEN_ELFNOTE_PHYS32_ENTRY."""
    entry = paddr if entry is None else entry
    code = b"\xf4" * 16  # hlt
    desc = note_desc if note_desc is not None else struct.pack("<I", entry)
    note = struct.pack("<III", 4, len(desc), 18) + b"Xen\0" + desc
    note += b"\0" * (-len(note) % 4)
    if elf32:
        ehsize, phentsize = 52, 32
    else:
        ehsize, phentsize = 64, 56
    phoff = ehsize
    note_off = phoff + 2 * phentsize
    code_off = note_off + len(note)
    if elf32:
        ident = b"\x7fELF\x01\x01\x01" + b"\0" * 9
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, phoff, 0, 0, ehsize,
                                 phentsize, 2, 40, 0, 0)
        ph_load = struct.pack("<IIIIIIII", 1, code_off, paddr, paddr, len(code),
                              len(code) + bss, 5, 0x1000)
        ph_note = struct.pack("<IIIIIIII", 4, note_off, 0, 0, len(note), len(note), 4, 4)
    else:
        ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, phoff, 0, 0, ehsize,
                                 phentsize, 2, 64, 0, 0)
        ph_load = struct.pack("<IIQQQQQQ", 1, 5, code_off, paddr, paddr, len(code),
                              len(code) + bss, 0x1000)
        ph_note = struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    return eh + ph_load + ph_note + note + code


def elf_seeds():
    h = "fuzz_elf"
    elves = sorted(glob.glob(os.path.join(ROOT, "guest-kernel-tests", "build", "*.elf")))
    if not elves:
        sys.exit("gen_corpus.py: no guest-kernel-tests/build/*.elf: run make guests first")
    hello = next((e for e in elves if os.path.basename(e) == "hello.elf"), elves[0])
    for e in elves:
        data = open(e, "rb").read()
        if len(data) < SEED_MAX and os.path.basename(e) in ("hello.elf", "smp.elf"):
            seed(h, "guest-" + os.path.basename(e), data)
    base = bytearray(open(hello, "rb").read())
    seed(h, "hello-initrd-4cpu", bytes(base) + trailer(cpus=4, initrd_64k=16))
    seed(h, "hello-truncated-4k", bytes(base[:4096]))
    seed(h, "hello-truncated-note", bytes(base[:0x1010]))
    seed(h, "hello-header-only", bytes(base[:64]))
    load = find_phdr(base, 1)
    note = find_phdr(base, 4)
    if load is not None:
        m = bytearray(base)
        phdr_field(m, load, "<Q", 24, 0x80000)  # p_paddr below 1 MiB
        seed(h, "hello-low-paddr", bytes(m))
        m = bytearray(base)
        phdr_field(m, load, "<Q", 24, 32 << 20)  # onto the private page
        seed(h, "hello-private-paddr", bytes(m))
        m = bytearray(base)
        phdr_field(m, load, "<Q", 32, 0xFFFFFFFFFFFFF000)  # p_filesz huge
        seed(h, "hello-filesz-huge", bytes(m))
        m = bytearray(base)
        phdr_field(m, load, "<Q", 40, 1 << 40)  # p_memsz past RAM
        seed(h, "hello-memsz-huge", bytes(m))
    if note is not None:
        m = bytearray(base)
        phdr_field(m, note, "<Q", 8, len(base) - 8)  # PT_NOTE past the end
        seed(h, "hello-note-past-end", bytes(m))
    seed(h, "mini64", mini_elf())
    seed(h, "mini32", mini_elf(elf32=True))
    seed(h, "mini64-high", mini_elf(paddr=1 << 32, entry=0x100000))
    seed(h, "mini64-entry-outside", mini_elf(entry=0x200000))
    seed(h, "mini64-desc8", mini_elf(note_desc=struct.pack("<Q", 0x100000)))
    seed(h, "mini64-desc-bad", mini_elf(note_desc=b"\x00\x00\x10\x00\x00\x00"))
    seed(h, "mini64-initrd-big", mini_elf(paddr=60 << 20) + trailer(cpus=255, initrd_64k=255))
    seed(h, "mini64-pvh-256cpu", mini_elf() + trailer(cpus=0, protocol=2))
    seed(h, "mini64-linux64", mini_elf() + trailer(protocol=1))
    seed(h, "mini64-below-1m", mini_elf(paddr=0x80000))


# ---- fuzz_bzimage ----------------------------------------------------------------------------

def bzimage(setup_sects=1, version=0x020F, xloadflags=0x3, relocatable=1,
            align=0x200000, pref=0x1000000, init_size=0x20000, kernel_len=4096,
            syssize=None, jump=0x66, cmdline_size=0x7FF, initrd_max=0x7FFFFFFF):
    setup = bytearray(((setup_sects or 4) + 1) * 512)
    kernel = bytes((i * 7 + 3) & 0xFF for i in range(kernel_len))
    struct.pack_into("<B", setup, 0x1F1, setup_sects)
    struct.pack_into("<I", setup, 0x1F4, (kernel_len + 15) // 16 if syssize is None else syssize)
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    struct.pack_into("<BB", setup, 0x200, 0xEB, jump)
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    struct.pack_into("<B", setup, 0x211, 0x01)  # LOADED_HIGH
    struct.pack_into("<I", setup, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", setup, 0x22C, initrd_max)
    struct.pack_into("<I", setup, 0x230, align)
    struct.pack_into("<B", setup, 0x234, relocatable)
    struct.pack_into("<H", setup, 0x236, xloadflags)
    struct.pack_into("<I", setup, 0x238, cmdline_size)
    struct.pack_into("<Q", setup, 0x258, pref)
    struct.pack_into("<I", setup, 0x260, init_size)
    return bytes(setup) + kernel


def bzimage_seeds():
    h = "fuzz_bzimage"
    seed(h, "bz-valid", bzimage())
    seed(h, "bz-valid-initrd-2cpu", bzimage() + trailer(cpus=2, initrd_64k=8))
    seed(h, "bz-valid-setup-sects-0", bzimage(setup_sects=0))
    seed(h, "bz-pref-out-of-ram", bzimage(pref=0x80000000))
    seed(h, "bz-not-relocatable", bzimage(pref=0x80000000, relocatable=0))
    seed(h, "bz-bad-alignment", bzimage(pref=0x80000000, align=0x3000))
    seed(h, "bz-old-protocol", bzimage(version=0x020A))
    seed(h, "bz-no-64bit-entry", bzimage(xloadflags=0))
    seed(h, "bz-syssize-too-big", bzimage(syssize=0x100000))
    seed(h, "bz-init-size-huge", bzimage(init_size=0xF0000000))
    seed(h, "bz-tiny-kernel", bzimage(kernel_len=16))
    seed(h, "bz-short-header", bzimage(jump=0))
    seed(h, "bz-cmdline-size-0", bzimage(cmdline_size=0))
    seed(h, "bz-initrd-max-low", bzimage(initrd_max=0x1FFFFF) + trailer(initrd_64k=64))
    seed(h, "bz-truncated-header", bzimage()[:0x210])
    seed(h, "bz-truncated-setup", bzimage()[:600])
    seed(h, "bz-pvh-requested", bzimage() + trailer(protocol=2))


# ---- fuzz_devices ----------------------------------------------------------------------------

OP_PIO_WRITE, OP_PIO_READ, OP_MEM_WRITE, OP_TESTDEV, OP_SERIAL_INPUT, OP_BUS, OP_MMIO, \
    OP_PIO_RAW = range(8)
DEV_SERIAL, DEV_TESTDEV, DEV_I8042, DEV_EXIT, DEV_ACPI = range(5)
TD_DISCARD, TD_PRIVATE, TD_SHARED, TD_CACHE_WRITE, TD_CACHE_READ, TD_MEM_READ = range(1, 7)
REL, PAGE, ALIGN8 = 1, 2, 4  # OP_TESTDEV flags


def op(kind, flags=0):
    return bytes([kind | (flags << 3)])


def outp(dev, off, value, width=1):
    return op(OP_PIO_WRITE) + bytes([dev | (off << 3), width - 1]) + struct.pack("<Q", value)


def inp(dev, off, width=1):
    return op(OP_PIO_READ) + bytes([dev | (off << 3), width - 1])


def testdev(cmd, gpa, length=0, value=0, req=0x1000, flags=0):
    return (op(OP_TESTDEV, flags) + struct.pack("<IB", req, cmd) +
            struct.pack("<QQQ", gpa, length, value))


def device_seeds():
    h = "fuzz_devices"
    memfd, anon = b"\x00", b"\x01"
    uart = b"".join(outp(DEV_SERIAL, 0, c) for c in b"hello\n")
    uart += outp(DEV_SERIAL, 3, 0x80) + outp(DEV_SERIAL, 0, 1) + outp(DEV_SERIAL, 1, 0)
    uart += inp(DEV_SERIAL, 0) + inp(DEV_SERIAL, 1) + outp(DEV_SERIAL, 3, 0x03)
    uart += outp(DEV_SERIAL, 1, 0x03) + inp(DEV_SERIAL, 2) + outp(DEV_SERIAL, 2, 0xC7)
    uart += op(OP_SERIAL_INPUT) + b"\x05input" + inp(DEV_SERIAL, 5) + inp(DEV_SERIAL, 0)
    uart += inp(DEV_SERIAL, 2) + outp(DEV_SERIAL, 4, 0x10) + outp(DEV_SERIAL, 0, 0x41)
    uart += inp(DEV_SERIAL, 6) + outp(DEV_SERIAL, 7, 0x5A) + inp(DEV_SERIAL, 7)
    uart += outp(DEV_SERIAL, 0, 0x4142, width=2) + inp(DEV_SERIAL, 5, width=4)
    seed(h, "uart", memfd + uart)
    seed(h, "uart-flood", anon + op(OP_SERIAL_INPUT, 1) + bytes([255]) + b"z" * 255 +
         inp(DEV_SERIAL, 5) + outp(DEV_SERIAL, 2, 0x02) + inp(DEV_SERIAL, 5))
    td = testdev(TD_CACHE_WRITE, 0x2000, value=0x1122334455667788)
    td += testdev(TD_CACHE_READ, 0x2000) + testdev(TD_MEM_READ, 0x2000)
    td += testdev(TD_DISCARD, 0x2000, 0x1000) + testdev(TD_CACHE_READ, 0x2000)
    td += testdev(TD_PRIVATE, 0x2000, 0x1000) + testdev(TD_CACHE_READ, 0x2000)
    td += testdev(TD_MEM_READ, 0x2000) + testdev(TD_SHARED, 0x2000, 0x1000)
    td += testdev(TD_CACHE_WRITE, 0x2008, value=7) + testdev(TD_CACHE_READ, 0x2008)
    td += testdev(TD_CACHE_READ, (1 << 32) + 0x10) + testdev(TD_DISCARD, 1 << 32, 0x2000)
    td += testdev(TD_PRIVATE, 0x1000, 0x1000)  # the request's own page
    td += testdev(9, 0) + testdev(TD_CACHE_READ, 0x2001) + testdev(TD_DISCARD, 0x2000, 1)
    td += testdev(TD_DISCARD, 0x100000 + 0x10000, 0x1000)  # past the 1 MiB region
    td += testdev(TD_CACHE_READ, 0x40000)  # the hole
    seed(h, "testdev", memfd + td)
    seed(h, "testdev-anon", anon + td)
    rel = testdev(TD_CACHE_WRITE, (1 << 60) | 0x10, value=3, req=5, flags=REL | ALIGN8)
    rel += testdev(TD_PRIVATE, (1 << 60) | 0x3000, 0x1000, req=5, flags=REL | PAGE)
    rel += testdev(TD_CACHE_READ, (1 << 60) | 0x10, req=5, flags=REL | ALIGN8)
    rel += testdev(TD_SHARED, (1 << 60) | 0x3000, 0x1000, req=5, flags=REL | PAGE)
    rel += testdev(TD_CACHE_READ, (3 << 60) | 0x18, req=5, flags=REL | ALIGN8)
    rel += testdev(TD_CACHE_WRITE, (2 << 60) | 0x500000, value=9, req=5, flags=REL | ALIGN8)
    rel += testdev(TD_DISCARD, 2 << 60, 0x800000, req=5, flags=REL | PAGE)  # 2048 pages
    rel += testdev(TD_CACHE_READ, (2 << 60) | 0x500000, req=5, flags=REL | ALIGN8)
    seed(h, "testdev-relative", memfd + rel)
    raw = op(OP_MEM_WRITE) + struct.pack("<I", 0x3000) + bytes([32])
    raw += struct.pack("<IiQQQ", TD_MEM_READ, 0, 0x3000, 0, 0)
    raw += outp(DEV_TESTDEV, 0, 0x3000, width=4) + inp(DEV_TESTDEV, 4, width=4)
    raw += outp(DEV_TESTDEV, 0, 0x3000, width=2) + outp(DEV_TESTDEV, 0, 0x3004, width=4)
    seed(h, "testdev-by-port", anon + raw)
    stop = outp(DEV_EXIT, 0, 0x2A, width=4) + outp(DEV_EXIT, 0, 1, width=8)
    stop += outp(DEV_I8042, 4, 0xFE) + inp(DEV_I8042, 0) + inp(DEV_I8042, 4)
    stop += outp(DEV_ACPI, 0, (5 << 2) | 0x20) + outp(DEV_ACPI, 0, (3 << 2) | 0x20)
    stop += outp(DEV_ACPI, 2, 1) + inp(DEV_ACPI, 1) + inp(DEV_ACPI, 0, width=8)
    seed(h, "stop-ports", memfd + stop)
    bus = op(OP_BUS) + struct.pack("<QQ", 0x1000, 0x100)
    bus += op(OP_BUS) + struct.pack("<QQ", 0x10FF, 0x10)
    bus += op(OP_BUS) + struct.pack("<QQ", 0xFFFFFFFFFFFFFF00, 0x100)
    bus += op(OP_BUS) + struct.pack("<QQ", 0xFFFFFFFFFFFFFF00, 0xFF)
    bus += op(OP_BUS, 1) + struct.pack("<QQ", 0x10FF, 3)
    bus += op(OP_BUS, 1 | 4) + struct.pack("<QQ", 0x1100, 7)
    bus += op(OP_BUS, 2) + struct.pack("<QQ", 0x10, 0x8)
    bus += op(OP_MMIO) + struct.pack("<Q", 0xD0000000) + b"\x03" + struct.pack("<Q", 0)
    bus += op(OP_MMIO, 1) + struct.pack("<Q", 0xFEC00000) + b"\x07" + struct.pack("<Q", 1)
    seed(h, "io-bus", memfd + bus)
    raw_ports = b"".join(op(OP_PIO_RAW, 1) + struct.pack("<HB", p, 0) + struct.pack("<Q", 0xFF)
                         for p in (0x3F8, 0x3FF, 0x400, 0xE0, 0xEF, 0xF0, 0x60, 0x64, 0x65,
                                   0xF4, 0xF7, 0x600, 0x603, 0xFFFF))
    raw_ports += op(OP_PIO_RAW) + struct.pack("<HB", 0x3F8, 7) + struct.pack("<Q", 0)
    seed(h, "raw-ports", anon + raw_ports)


# ---- fuzz_xen --------------------------------------------------------------------------------

X_HC, X_HC_STRUCT, X_MEM_WRITE, X_MEM_FILL, X_ATTR, X_TIMERS, X_HCPAGE, X_MISC = range(8)
C_VERSION, C_MEMORY, C_HVM, C_VCPU, C_SCHED, C_EVTCHN, C_TIMER = range(7)
DOMID_SELF = 0x7FF0
GVA = 0xFFFF888000000000
SCRATCH = 0x100000  # vCPU v's argument page: SCRATCH + v * 0x1000


def xop(kind, flags=0):
    return bytes([kind | (flags << 3)])


def xs(call, sub, payload=b"", vcpu=0, flags=0, start=None):
    """A hypercall with its argument structure at the vCPU's scratch page (OP_HC_STRUCT)."""
    out = xop(X_HC_STRUCT, flags) + bytes([call, vcpu, sub & 0xFF, len(payload)]) + payload
    if start is not None:
        out += bytes([start])
    return out


def xhc(nr, args, vcpu=0, waits=0, raw_nr=False):
    """OP_HC: args are (selector, bytes) pairs, see in_arg() in fuzz_xen.c."""
    out = xop(X_HC, 1 if raw_nr else 0) + bytes([vcpu])
    out += struct.pack("<Q", nr) if raw_nr else bytes([nr])
    for sel, extra in args:
        out += bytes([sel]) + extra
    return out + bytes([waits])


def raw(v):
    return (0, struct.pack("<Q", v))


def small(v):
    return (1 | (v << 3), b"")


def xmem(gpa, data):
    return xop(X_MEM_WRITE) + struct.pack("<I", gpa)[:3] + bytes([len(data)]) + data


def evt(sub, fmt, *vals, vcpu=0):
    return xs(C_EVTCHN, sub, struct.pack(fmt, *vals), vcpu=vcpu)


def xen_setup(shinfo=0x200000, vinfo=0x210040, vector=0xF3, vcpu=0):
    out = xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 0, shinfo >> 12), vcpu=vcpu)
    out += xs(C_HVM, 23, struct.pack("<IB3x", vcpu, vector), vcpu=vcpu)
    out += xs(C_VCPU, 10, struct.pack("<QII", vinfo >> 12, vinfo & 0xFFF, 0), vcpu=vcpu)
    return out


def xen_seeds():
    h = "fuzz_xen"
    two, timer_thread, anon = 1, 8, 16  # first byte: vCPUs - 1, timer thread, backing
    ver = xs(C_VERSION, 0) + xs(C_VERSION, 1) + xs(C_VERSION, 4)
    ver += xs(C_VERSION, 6, struct.pack("<II", 0, 0)) + xs(C_VERSION, 6, struct.pack("<II", 1, 0))
    ver += xs(C_VERSION, 7) + xs(C_VERSION, 99)
    ver += xhc(17, [small(6), (2, b"\x00\x00\x10")]) + xhc(17, [small(1), (5 | 0 << 3, b"\x00\x10")])
    seed(h, "version", bytes([0]) + ver)
    ipi = xen_setup() + evt(7, "<II", 0, 0) + evt(4, "<I", 1) + evt(4, "<I", 1)
    ipi += xmem(0x200000 + 0x800 + 8, struct.pack("<Q", 0))  # guest masks nothing
    ipi += evt(9, "<I", 1) + evt(5, "<HHII16x", DOMID_SELF, 0, 1, 0)
    ipi += xop(X_MISC, 2) + bytes([0]) + evt(4, "<I", 1)
    ipi += evt(8, "<II", 1, 1) + evt(3, "<I", 1) + evt(3, "<I", 1) + evt(4, "<I", 1)
    ipi += evt(7, "<II", 1, 0, vcpu=1) + evt(7, "<II", 9, 0)
    seed(h, "ipi", bytes([two]) + ipi)
    mask = xen_setup() + evt(7, "<II", 0, 0)
    mask += xmem(0x200000 + 0x800, struct.pack("<Q", 2))  # evtchn_mask[0]: port 1 masked
    mask += evt(4, "<I", 1) + evt(9, "<I", 1) + evt(9, "<I", 4095) + evt(9, "<I", 4096)
    seed(h, "mask-unmask", bytes([0]) + mask)
    inter = xen_setup() + evt(6, "<HHI", DOMID_SELF, DOMID_SELF, 0)
    inter += evt(0, "<HHII", DOMID_SELF, 0, 1, 0) + evt(4, "<I", 2) + evt(4, "<I", 1)
    inter += evt(3, "<I", 1) + evt(4, "<I", 2) + evt(0, "<HHII", DOMID_SELF, 0, 2, 0)
    inter += evt(6, "<HHI", 5, DOMID_SELF, 0) + evt(6, "<HHI", DOMID_SELF, 5, 0)
    inter += evt(0, "<HHII", 3, 0, 1, 0) + evt(10, "<H", DOMID_SELF) + evt(11, "<I", 0)
    seed(h, "interdomain", bytes([two]) + inter)
    poll = xen_setup() + evt(7, "<II", 0, 0) + evt(7, "<II", 0, 0)
    poll += xmem(0x101800, struct.pack("<II", 1, 2))
    sp = struct.pack("<QII", GVA + 0x101800, 2, 0)
    poll += xs(C_SCHED, 3, sp + struct.pack("<Q", 1), flags=2)  # timeout in the past
    poll += evt(4, "<I", 2) + xs(C_SCHED, 3, sp + struct.pack("<Q", 0), flags=2 | 4)
    poll += xs(C_SCHED, 3, struct.pack("<QIIQ", GVA + 0x101800, 200, 0, 0))
    poll += xs(C_SCHED, 3, struct.pack("<QIIQ", GVA + 0x7FFFF0, 4, 0, 0), flags=2)
    poll += xs(C_SCHED, 1, flags=2) + xs(C_SCHED, 0) + xop(X_MISC, 2) + bytes([0])
    poll += xs(C_SCHED, 1, flags=2 | 4) + xs(C_SCHED, 7)
    seed(h, "poll-block", bytes([0]) + poll)
    tmr = xen_setup() + evt(1, "<III", 0, 0, 0) + evt(1, "<III", 0, 0, 0)
    tmr += evt(1, "<III", 1, 1, 0) + evt(1, "<III", 5, 1, 0) + evt(1, "<III", 5, 0, 0)
    tmr += xs(C_TIMER, 0x80) + xop(X_TIMERS) + xs(C_TIMER, 0x7F) + xop(X_TIMERS)
    tmr += xs(C_VCPU, 8, struct.pack("<QII", 0, 1, 0)) + xs(C_VCPU, 8, struct.pack("<QII", 0, 0, 0))
    tmr += xop(X_TIMERS) + xs(C_VCPU, 9) + xs(C_VCPU, 9, flags=1) + xs(C_VCPU, 3) + xs(C_VCPU, 7)
    tmr += evt(8, "<II", 3, 1) + evt(3, "<I", 1) + xhc(15, [raw(0)])
    seed(h, "timer", bytes([two]) + tmr)
    seed(h, "timer-thread", bytes([two | timer_thread]) + tmr + xs(C_TIMER, 0x81) + xs(C_SCHED, 0))
    res = xmem(0x300000, struct.pack("<QQQ", 0x400, 0x401, 0x7FF))
    res += xmem(0x300018, struct.pack("<QQ", 0x100000, 0x801))
    rsv = struct.pack("<QQIIH6x", GVA + 0x300000, 5, 0, 0, DOMID_SELF)
    res += xs(C_MEMORY, 1, rsv) + xs(C_MEMORY, 6, rsv) + xs(C_MEMORY, 1, rsv, flags=1, start=2)
    res += xs(C_MEMORY, 1, struct.pack("<QQIIH6x", GVA + 0x300000, 1, 10, 0, DOMID_SELF))
    res += xs(C_MEMORY, 6, struct.pack("<QQIIH6x", GVA + 0x300000, 3, 1, 0, 1))
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 1, 0, 0x200))
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 1, 0x200))
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 0, 1 << 40))
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 0, 0x100000))  # 4 GiB
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 0, 0x900))  # the hole
    res += xs(C_MEMORY, 7, struct.pack("<HHIQQ", 4, 0, 0, 0, 0x200)) + xs(C_MEMORY, 33)
    seed(h, "memory-op", bytes([anon]) + res)
    hvm = xs(C_HVM, 0, struct.pack("<HHIQ", DOMID_SELF, 0, 0, (2 << 56) | 0xF3))
    hvm += xs(C_HVM, 1, struct.pack("<HHIQ", DOMID_SELF, 0, 0, 0))
    hvm += xs(C_HVM, 0, struct.pack("<HHIQ", DOMID_SELF, 0, 0, (2 << 56) | 0x05))
    hvm += xs(C_HVM, 0, struct.pack("<HHIQ", DOMID_SELF, 0, 0, (0 << 56) | 5))
    hvm += xs(C_HVM, 0, struct.pack("<HHIQ", DOMID_SELF, 0, 3, 1))
    hvm += xs(C_HVM, 1, struct.pack("<HHIQ", DOMID_SELF, 0, 39, 0))
    hvm += xs(C_HVM, 0, struct.pack("<HHIQ", DOMID_SELF, 0, 0, (7 << 56)))
    hvm += xs(C_HVM, 23, struct.pack("<IB3x", 9, 0xF3)) + xs(C_HVM, 23, struct.pack("<IB3x", 0, 2))
    hvm += xen_setup(vector=0x30) + evt(7, "<II", 0, 0) + evt(4, "<I", 1)
    hvm += xs(C_HVM, 23, struct.pack("<IB3x", 0, 0x40)) + xs(C_HVM, 99)
    seed(h, "hvm-op", bytes([two]) + hvm)
    vi = xen_setup() + xen_setup(shinfo=0x201000, vinfo=0x211FC0)
    vi += xs(C_VCPU, 10, struct.pack("<QII", 0x211, 0xFC8, 0))  # crosses the page
    vi += xs(C_VCPU, 10, struct.pack("<QII", 0x211, 0x41, 0))  # unaligned
    vi += xs(C_VCPU, 10, struct.pack("<QII", 0x900, 0, 0))  # hole
    vi += xs(C_VCPU, 10, struct.pack("<QII", 0x212, 0, 0), vcpu=1, flags=1)
    vi += xop(X_ATTR, 1) + struct.pack("<HB", 0x212, 0)  # vcpu_info page private
    vi += evt(7, "<II", 0, 0) + evt(4, "<I", 1) + evt(7, "<II", 0, 0, vcpu=1) + evt(4, "<I", 2)
    vi += xop(X_ATTR, 2) + struct.pack("<HB", 0x201, 0)  # shared_info discarded
    vi += evt(4, "<I", 1) + xop(X_ATTR, 0) + struct.pack("<HB", 0x212, 0)
    vi += xop(X_ATTR, 1) + struct.pack("<HB", 0x201, 0) + evt(4, "<I", 2) + evt(9, "<I", 2)
    vi += xs(C_MEMORY, 7, struct.pack("<HHIQQ", DOMID_SELF, 0, 0, 0, 0x202))
    vi += xop(X_MEM_FILL) + struct.pack("<HBB", 0x202, 0xFF, 0) + evt(4, "<I", 1)
    seed(h, "vcpu-info-pages", bytes([two]) + vi)
    wild = b"".join(xhc(nr, [(5 | k << 3, struct.pack("<Q", 0)) for k in range(4)] + [small(0)])
                    for nr in (12, 17, 24, 29, 32, 34, 15))
    wild += b"".join(xhc(nr, [small(s), (3 | 8 << 3, b"\xff\x07"), (3, b"\x00\x02"), raw(0),
                              raw(0)]) for nr in (12, 17, 24, 29, 32, 34) for s in (1, 6, 7, 10))
    wild += xhc(0xFFFFFFFF00000020, [small(4), (4, b""), raw(0), raw(0), raw(0)], raw_nr=True)
    wild += xhc(32, [small(4), (4, b""), raw(0), raw(0), raw(0)], vcpu=9)
    seed(h, "wild-pointers", bytes([two]) + wild)
    misc = xop(X_HCPAGE) + struct.pack("<QHB", 0x5000, 0xE9, 0)
    misc += xop(X_HCPAGE) + struct.pack("<QHB", 0x5001, 0xE9, 0)
    misc += xop(X_HCPAGE) + struct.pack("<QHB", 0x5000, 0x100, 0)
    misc += xop(X_HCPAGE) + struct.pack("<QHB", 0x7FF800, 0xE9, 1)
    cpuid = bytes([4, 12, 0]) + bytes([0x00]) + struct.pack("<I", 0x40000001)
    cpuid += bytes([0x01]) + struct.pack("<I", 0) + bytes([0x40, 5]) + bytes([0x80]) + struct.pack("<II", 7, 0)
    misc += xop(X_MISC, 0) + cpuid + xop(X_MISC, 0) + bytes([4, 12, 8]) + cpuid[3:]
    misc += xop(X_MISC, 0) + bytes([4, 6, 0]) + cpuid[3:]
    misc += xen_setup() + evt(7, "<II", 0, 0) + evt(4, "<I", 1) + xs(C_EVTCHN, 13)
    misc += xhc(20, [small(0)] * 5) + xop(X_MISC, 1) + bytes([0]) + xop(X_MISC, 1) + bytes([9])
    misc += xs(C_SCHED, 2, struct.pack("<I", 0)) + xs(C_SCHED, 1, flags=2) + xs(C_SCHED, 3, flags=2)
    misc += xs(C_SCHED, 2, struct.pack("<I", 9)) + xs(C_SCHED, 2, struct.pack("<I", 2))
    misc += xop(X_MISC, 3) + xs(C_SCHED, 1)
    seed(h, "page-cpuid-stats-shutdown", bytes([0]) + misc)


# ---- fuzz_virtio -----------------------------------------------------------------------------

V_INIT, V_REG, V_DESC, V_AVAIL, V_MEM, V_NOTIFY, V_ATTR, V_MORE = range(8)
M_REQ, M_VQ, M_BALLOON, M_SANITY, M_RUN = range(5)
BLK, BLK_RO, RNG, BALLOON, CONSOLE = range(5)
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def vop(kind, flags=0):
    return bytes([kind | (flags << 3)])


def dq(dev, q=0):
    return bytes([dev | (q << 3)])


def vaddr(gpa):
    """in_addr() selector 0: a RAM address (24 bits)."""
    return b"\x00" + struct.pack("<I", gpa)[:3]


def vinit(dev, want=0, size_log2=4, ring_page=0x10):
    return vop(V_INIT) + dq(dev) + struct.pack("<IBH", want, size_log2, ring_page)


def vreg(dev, off, value=0, width=4, read=False):
    return vop(V_REG, 1 if read else 0) + dq(dev) + struct.pack("<HQB", off, value, width - 1)


def vdesc(dev, q, i, gpa, length, flags, nxt=0, addr=None):
    return vop(V_DESC) + dq(dev, q) + bytes([i]) + (addr or vaddr(gpa)) + \
        struct.pack("<IBB", length, flags, nxt)


def vavail(dev, q, head, notify=True, raw_idx=False):
    return vop(V_AVAIL, (1 if raw_idx else 0) | (2 if notify else 0)) + dq(dev, q) + \
        struct.pack("<H", head)


def vmem(gpa, data):
    return vop(V_MEM) + struct.pack("<I", gpa)[:3] + bytes([len(data)]) + data


def vreq(dev, q, bufs, blk_type=None, sector=0, last=None):
    """MORE_REQ: blk_type is an index into blk_types[] of fuzz_virtio.c."""
    out = vop(V_MORE) + bytes([M_REQ]) + dq(dev, q) + bytes([len(bufs)])
    if blk_type is not None:
        out += bytes([blk_type]) + struct.pack("<Q", sector)
    for gpa, length, flags in bufs:
        out += vaddr(gpa) + struct.pack("<HB", length, flags)
    if blk_type is None and bufs:
        gpa, length, flags = last or bufs[-1]
        out += vaddr(gpa) + struct.pack("<HB", length, flags)
    return out


def vsanity(dev):
    return vop(V_MORE) + bytes([M_SANITY]) + dq(dev)


def virtio_seeds():
    h = "fuzz_virtio"
    memfd, anon = b"\x00", b"\x01"
    blk_feat = (1 << 9) | (1 << 13) | (1 << 14) | (1 << 28)
    blk = vinit(BLK, blk_feat) + vmem(0x200000, bytes(range(200)))
    blk += vreq(BLK, 0, [(0x200000, 4096, 0)], blk_type=1, sector=8)  # write
    blk += vreq(BLK, 0, [(0x300000, 4096, F_WRITE)], blk_type=0, sector=8)  # read
    blk += vreq(BLK, 0, [], blk_type=2) + vreq(BLK, 0, [(0x300000, 20, F_WRITE)], blk_type=3)
    blk += vmem(0x210000, struct.pack("<QII", 8, 8, 0))
    blk += vreq(BLK, 0, [(0x210000, 16, 0)], blk_type=4)  # discard
    blk += vreq(BLK, 0, [(0x210000, 16, 0)], blk_type=5)  # write zeroes
    blk += vreq(BLK, 0, [(0x210000, 20, 0)], blk_type=4)  # ragged
    blk += vreq(BLK, 0, [(0x200000, 512, 0)], blk_type=6)  # unknown type
    blk += vreq(BLK, 0, [(0x200000, 512, F_WRITE)], blk_type=0, sector=2047)  # past the end
    blk += vreq(BLK, 0, [(0x200000, 100, F_WRITE)], blk_type=0)  # not 512-byte
    blk += vreq(BLK, 0, [(0x200000, 2048, 0), (0x201000, 2048, 0)], blk_type=1, sector=100)
    blk += vsanity(BLK)
    seed(h, "blk", memfd + blk)
    ro = vinit(BLK_RO, 1 << 5) + vreq(BLK_RO, 0, [(0x200000, 512, 0)], blk_type=1)
    ro += vmem(0x210000, struct.pack("<QII", 0, 8, 0)) + vreq(BLK_RO, 0, [(0x210000, 16, 0)], 4)
    ro += vreq(BLK_RO, 0, [(0x200000, 512, F_WRITE)], blk_type=0) + vsanity(BLK_RO)
    seed(h, "blk-readonly", anon + ro)
    rng = vinit(RNG) + vreq(RNG, 0, [(0x200000, 100, F_WRITE), (0x200100, 156, F_WRITE)])
    rng += vreq(RNG, 0, [(0x200000, 0xFFFF, F_WRITE)]) + vreq(RNG, 0, [(0x200000, 64, 0)])
    rng += vreq(RNG, 0, [(0x7FFFF0, 0x100, F_WRITE)]) + vsanity(RNG)
    seed(h, "rng", memfd + rng)
    bal = vinit(BALLOON, 1 << 5) + vmem(0x210000, struct.pack("<III", 0x400, 0x401, 0xD0000))
    bal += vmem(0x400000, b"\x77" * 64) + vreq(BALLOON, 0, [(0x210000, 12, 0)])
    bal += vreq(BALLOON, 1, [(0x210000, 8, 0)]) + vreq(BALLOON, 1, [(0x210000, 6, 0)])
    bal += vreq(BALLOON, 2, [(0x500000, 0x8000, F_WRITE), (0x600000, 0x1000, F_WRITE)])
    bal += vreq(BALLOON, 2, [(0x500000, 0x1000, 0)])
    bal += vop(V_MORE) + bytes([M_BALLOON]) + struct.pack("<I", 512)
    bal += vreg(BALLOON, 0x100, read=True) + vreg(BALLOON, 0x104, 77) + vreg(BALLOON, 0x0FC, read=True)
    bal += vsanity(BALLOON)
    seed(h, "balloon", anon + bal)
    con = vinit(CONSOLE) + vmem(0x200000, b"hello from the guest\n")
    con += vreq(CONSOLE, 1, [(0x200000, 21, 0)]) + vreq(CONSOLE, 1, [(0x200000, 21, F_WRITE)])
    con += vreq(CONSOLE, 0, [(0x300000, 64, F_WRITE)]) + vreq(CONSOLE, 1, [(0x200000, 0x8000, 0)])
    con += vreg(CONSOLE, 0x100, read=True, width=2) + vreg(CONSOLE, 0x108, 1, width=4)
    con += vsanity(CONSOLE)
    seed(h, "console", memfd + con)
    # hostile chains: a loop, indirect tables (good, nested, not negotiated), outside RAM,
    # private pages, a jumping available index, garbage registers, reset with I/O in flight
    bad = vinit(BLK, 1 << 28) + vmem(0x220000, struct.pack("<QIHH", 0x100000, 16, F_NEXT, 1) +
                                     struct.pack("<QIHH", 0x101000, 1, F_WRITE, 0))
    bad += vmem(0x100000, struct.pack("<IIQ", 0, 0, 0))
    bad += vdesc(BLK, 0, 0, 0x100000, 16, F_NEXT, 1) + vdesc(BLK, 0, 1, 0x101000, 1, F_NEXT | F_WRITE, 0)
    bad += vavail(BLK, 0, 0)  # loop
    bad += vdesc(BLK, 0, 2, 0x220000, 32, F_INDIRECT) + vavail(BLK, 0, 2)  # indirect
    bad += vdesc(BLK, 0, 3, 0x220000, 32, F_INDIRECT | F_NEXT, 4) + vavail(BLK, 0, 3)
    bad += vdesc(BLK, 0, 4, 0x220000, 17, F_INDIRECT) + vavail(BLK, 0, 4)
    bad += vdesc(BLK, 0, 5, 0, 16, 0, addr=b"\x05\x00\x00") + vavail(BLK, 0, 5)  # the hole
    bad += vdesc(BLK, 0, 6, 0, 16, 0, addr=b"\x04\x00\x00") + vavail(BLK, 0, 6)  # high RAM
    bad += vop(V_ATTR, 1) + struct.pack("<HB", 0x100, 0)  # header page private
    bad += vreq(BLK, 0, [(0x200000, 512, F_WRITE)], blk_type=0)
    bad += vop(V_ATTR) + struct.pack("<HB", 0x100, 0)
    bad += vop(V_ATTR, 1) + struct.pack("<HB", 0x12, 0)  # used ring private
    bad += vreq(BLK, 0, [(0x200000, 512, F_WRITE)], blk_type=0)
    bad += vop(V_ATTR, 2) + struct.pack("<HB", 0x10, 2)  # rings discarded
    bad += vavail(BLK, 0, 40, raw_idx=True)  # index jumps past the size
    bad += vreg(BLK, 0x070, read=True) + vreg(BLK, 0x070, 0) + vinit(BLK, 0, 8, 0x7FF)
    bad += vreq(BLK, 0, [(0x200000, 0xFFFF, F_WRITE)], blk_type=0) + vreg(BLK, 0x070, 0)
    for off in (0x000, 0x010, 0x014, 0x020, 0x030, 0x034, 0x038, 0x044, 0x050, 0x060, 0x064,
                0x070, 0x080, 0x0AC, 0x0B0, 0x0FC, 0x100, 0x13C):
        for w in (1, 2, 4, 8):
            bad += vreg(BLK, off, 0xFFFFFFFF, width=w, read=(w == 1))
    bad += vop(V_NOTIFY, 1) + dq(BLK) + struct.pack("<I", 9) + vsanity(BLK)
    seed(h, "hostile-chains", memfd + bad)
    # the parser alone: rings at 0x50000/0x51000/0x52000, a 2-buffer chain, pops, copies
    vq = vmem(0x50000, struct.pack("<QIHH", 0x200000, 16, F_NEXT, 1) +
              struct.pack("<QIHH", 0x201000, 32, F_WRITE, 0))
    vq += vmem(0x51000, struct.pack("<HHH", 0, 1, 0))
    page = lambda p: b"\x06" + struct.pack("<H", p)
    vq += vop(V_MORE) + bytes([M_VQ, 0 | 8 | 16, 4]) + page(0x50) + page(0x51) + page(0x52)
    vq += vop(V_MORE) + bytes([M_VQ, 1]) + vop(V_MORE) + bytes([M_VQ, 3]) + struct.pack("<IB", 0, 16)
    vq += vop(V_MORE) + bytes([M_VQ, 3 | 4]) + struct.pack("<IB", 8, 24)
    vq += vop(V_MORE) + bytes([M_VQ, 3 | 4]) + struct.pack("<IB", 8, 30)
    vq += vop(V_MORE) + bytes([M_VQ, 2]) + struct.pack("<I", 32)
    vq += vmem(0x51002, struct.pack("<HH", 2, 1)) + vop(V_MORE) + bytes([M_VQ, 1 | 4]) + b"\0" * 4
    vq += vop(V_MORE) + bytes([M_VQ, 0 | 4]) + struct.pack("<H", 3) + page(0x50) + page(0x51) + page(0x52)
    seed(h, "virtqueue", anon + vq)


# ---- fuzz_console ----------------------------------------------------------------------------

def console_seeds():
    h = "fuzz_console"
    # pattern lines ("!" fail-on, "+" expect-exit) NUL guest output
    seed(h, "hello", b"hello from minivmm guest\n!EXCEPTION|PANIC\0"
         b"minivmm guest-kernel-test\r\nhello from minivmm guest\n")
    seed(h, "anchored-line", b"^ok [0-9]+$\n+\0boot\nok 17\n")
    seed(h, "fail-on", b"done\n!Kernel panic\0[    0.1] Kernel panic - not syncing\ndone\n")
    seed(h, "expect-exit", b"+\none\ntwo\n^three\0one two\nthree\nfour\n")
    seed(h, "prompt", b"login: \0\r\nbuildroot login: ")
    seed(h, "bad-regex", b"(unclosed\n!x{2,1}\0output\n")
    seed(h, "long-line", b"x{3}y\n!z$\0" + b"ab" * 1000 + b"xxxy")
    seed(h, "control-bytes", b"a.b\n!\x01\0a\0b\ra\x01b\n")
    seed(h, "many-patterns", b"".join(b"p%d\n" % i for i in range(17)) +
         b"".join(b"!f%d$\n" % i for i in range(17)) + b"\0p1 p2\np16\nf3\n")


GENERATORS = {
    "fuzz_config": lambda: config_seeds(),
    "fuzz_console": lambda: console_seeds(),
    "fuzz_elf": lambda: elf_seeds(),
    "fuzz_bzimage": lambda: bzimage_seeds(),
    "fuzz_devices": lambda: device_seeds(),
    "fuzz_xen": lambda: xen_seeds(),
    "fuzz_virtio": lambda: virtio_seeds(),
}


def main():
    # python3 tests/fuzz/gen_corpus.py [HARNESS...]: only those (config and ELF seeds follow
    # configs/ and the guest builds, so regenerate them only when you mean to)
    names = sys.argv[1:] or list(GENERATORS)
    for name in names:
        if name == "fuzz_bzimage" and \
                not os.path.exists(os.path.join(ROOT, "arch", "x86", "bzimage.c")):
            continue
        GENERATORS[name]()
    total = 0
    for harness, names in sorted(written.items()):
        d = os.path.join(OUT, harness)
        for stale in set(os.listdir(d)) - names:
            os.remove(os.path.join(d, stale))
        size = sum(os.path.getsize(os.path.join(d, n)) for n in names)
        total += size
        print("%-14s %3d seeds, %7d bytes" % (harness, len(names), size))
    print("total %d bytes" % total)
    assert total < CORPUS_MAX, "corpus over 1 MiB"


if __name__ == "__main__":
    main()
