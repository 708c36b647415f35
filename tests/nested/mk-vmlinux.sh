#!/bin/bash
# mk-vmlinux.sh BZIMAGE OUT-VMLINUX
#
# Extract the uncompressed ELF vmlinux from an x86 bzImage, for PVH boots
# (a PVH loader needs the ELF with its Xen PVH note, not the bzImage).
#
# How: the bzImage setup header (boot protocol >= 2.08) says where the
# compressed payload is (payload_offset/payload_length, relative to the start
# of the protected-mode code).  The payload's magic tells which host tool
# decompresses it (xz, zstd, gzip, lz4, bzip2, lzma, lzo).  If the header is
# unusable, the file is scanned for those magics and every candidate is tried
# until one decompresses to an ELF image.
#
# Then `readelf -n` must show a Xen note of type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY):
# without it the kernel cannot be booted with PVH; the script says so and exits 3.
#
# Exit: 0 ok, 1 usage/IO error, 2 no payload could be decompressed to ELF,
#       3 ELF extracted (and written) but it has no PVH entry note.
set -euo pipefail

die() { echo "mk-vmlinux: $*" >&2; exit "${2:-1}"; }

[ $# -eq 2 ] || die "usage: $0 BZIMAGE OUT-VMLINUX"
in=$1
out=$2
[ -r "$in" ] || die "cannot read $in"
command -v readelf >/dev/null || die "readelf (binutils) is needed"

# Up-to-date output: nothing to do (and the PVH check is repeated, cheaply).
if [ ! "$out" -ot "$in" ] && [ -s "$out" ] && [ "$(head -c4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
    fresh=1
else
    fresh=0
fi

# read LEN bytes at OFFSET of file as one little-endian unsigned number
le() { od -An -tu"$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '; }
# hex of LEN bytes at OFFSET
hexat() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mk-vmlinux.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

is_elf64() { [ "$(hexat "$1" 0 5)" = 7f454c4602 ]; }

# decompress FILE (starting with some magic) into $tmp/vmlinux; trailing bytes
# (Linux appends the uncompressed size after the stream) are tolerated.
decompress() {
    local f=$1 magic tool
    magic=$(hexat "$f" 0 6)
    case $magic in
        fd377a585a00*) tool="xz -dc --single-stream" ;;
        28b52ffd*)     tool="zstd -dc -q" ;;
        1f8b08*)       tool="gzip -dc -q" ;;
        02214c18*)     tool="lz4 -dc -q" ;;
        425a68*)       tool="bzip2 -dc -q" ;;
        5d0000*)       tool="xz -dc --format=lzma --single-stream" ;;
        894c5a4f*)     tool="lzop -dc -q" ;;
        *) return 1 ;;
    esac
    command -v "${tool%% *}" >/dev/null || { echo "mk-vmlinux: payload needs ${tool%% *}, not installed" >&2; return 1; }
    # the exit status is ignored on purpose (trailing size word = "garbage");
    # success is judged by the result being an ELF image
    $tool <"$f" >"$tmp/vmlinux" 2>"$tmp/err" || true
    is_elf64 "$tmp/vmlinux" || { rm -f "$tmp/vmlinux"; return 1; }
    echo "mk-vmlinux: payload is ${tool%% *}-compressed" >&2
}

if [ $fresh = 0 ]; then
    [ "$(hexat "$in" $((0x202)) 4)" = 48647253 ] || die "$in: no bzImage setup header (HdrS)"
    proto=$(le "$in" $((0x206)) 2)
    found=0
    if [ "$proto" -ge $((0x208)) ]; then
        setup_sects=$(le "$in" $((0x1f1)) 1)
        [ "$setup_sects" -eq 0 ] && setup_sects=4
        pm_start=$(( (setup_sects + 1) * 512 ))
        poff=$(le "$in" $((0x248)) 4)
        plen=$(le "$in" $((0x24c)) 4)
        size=$(stat -c %s "$in")
        if [ "$plen" -gt 0 ] && [ $((pm_start + poff + plen)) -le "$size" ]; then
            dd if="$in" of="$tmp/payload" iflag=skip_bytes,count_bytes bs=1M \
               skip=$((pm_start + poff)) count="$plen" status=none
            decompress "$tmp/payload" && found=1
        fi
    fi
    if [ $found = 0 ]; then
        echo "mk-vmlinux: setup header did not lead to the payload; scanning for magics" >&2
        # offsets of every known magic, in file order
        offs=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00|\x28\xb5\x2f\xfd|\x1f\x8b\x08|\x02\x21\x4c\x18|BZh[1-9]1AY&SY|\x5d\x00\x00[\x00-\xff]\xff|\x89LZO' "$in" \
                | cut -d: -f1 || true)
        for o in $offs; do
            tail -c +$((o + 1)) "$in" >"$tmp/payload"
            if decompress "$tmp/payload"; then found=1; echo "mk-vmlinux: payload found at offset $o" >&2; break; fi
        done
    fi
    [ $found = 1 ] || die "$in: no compressed payload decompressed to an ELF image" 2
    mkdir -p "$(dirname "$out")"
    mv "$tmp/vmlinux" "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
fi

# PVH: a Xen ELF note of type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY).  readelf prints
# it as "Xen  0x...  Unknown note type: (0x00000012)" or by name in newer binutils.
if LC_ALL=C readelf -n "$out" | grep -E '^\s*Xen\s' | grep -qiE 'type: \(0x00000012\)|PHYS32'; then
    echo "mk-vmlinux: $out: ELF vmlinux with Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)" >&2
else
    echo "mk-vmlinux: $out: ELF extracted, but it has NO Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY): this kernel cannot boot with PVH (CONFIG_PVH=n?)" >&2
    exit 3
fi
