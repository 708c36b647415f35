# shellcheck shell=bash disable=SC2034
# common.sh: paths and helpers shared by the nested-harness scripts (sourced, bash).
# Layout (all outputs under the git-ignored build/):
#   build/nested/cache/   fetched material: debs, apt state, kernels/<label>/, busybox
#   build/nested/img/     generated images: L2 initrd, vmlinux files, L1 initramfs
#   build/nested/logs/    serial logs of runs

NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$NESTED_DIR/../.." && pwd)
BUILD=${NESTED_BUILD:-$REPO_ROOT/build/nested}
CACHE=$BUILD/cache
IMG=$BUILD/img
LOGS=$BUILD/logs

msg()  { echo "nested: $*" >&2; }
die()  { echo "nested: error: $*" >&2; exit 1; }

# Create a usr-merged skeleton (like Debian's) so that libraries copied to the
# path ldd reports (/lib/..., /usr/lib/..., /lib64/...) all land somewhere the
# dynamic loader searches.
mk_skeleton() {
    local r=$1
    mkdir -p "$r"/usr/bin "$r"/usr/sbin "$r"/usr/lib/x86_64-linux-gnu "$r"/usr/lib64 \
             "$r"/usr/share "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/run "$r"/etc "$r"/root "$r"/mnt
    ln -sfn usr/bin "$r/bin"
    ln -sfn usr/sbin "$r/sbin"
    ln -sfn usr/lib "$r/lib"
    ln -sfn usr/lib64 "$r/lib64"
}

# copy_with_libs ROOT BINARY [DEST-PATH]: copy a dynamically linked program and
# every shared library ldd lists (and the loader) into ROOT.
copy_with_libs() {
    local r=$1 bin=$2 dest=${3:-$2} lib
    install -D -m 0755 "$bin" "$r$dest"
    # "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}'); do
        [ -e "$r$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
    done
}

# write a newc cpio of directory $1 to file $2 (busybox cpio: no GNU cpio needed)
mk_cpio() {
    local dir=$1 out=$2 bb=${BUSYBOX:-$CACHE/busybox}
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc -R 0:0 2>/dev/null) >"$out.tmp" \
        || die "cpio of $dir failed"
    mv "$out.tmp" "$out"
}

# newc cpio entry for a device node (no root/mknod needed): cpio_nod NAME MODE(octal) MAJOR MINOR
cpio_nod() {
    local name=$1 mode=$2 maj=$3 min=$4 ns pad
    ns=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        $((0x4e00 + RANDOM)) $((8#$mode)) 0 0 1 0 0 0 0 "$maj" "$min" "$ns" 0
    printf '%s\0' "$name"
    pad=$(( (4 - (110 + ns) % 4) % 4 ))
    [ $pad -gt 0 ] && head -c $pad /dev/zero
    return 0
}
# the trailer that ends a newc archive
cpio_trailer() {
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' 0 0 0 0 1 0 0 0 0 0 0 11 0
    printf 'TRAILER!!!\0'
    head -c $(( (4 - (110 + 11) % 4) % 4 )) /dev/zero
}
# append /dev, /dev/console and /dev/null nodes to a cpio (the kernel accepts
# concatenated archives); so init has a console even without a built-in initramfs
cpio_add_console() {
    { printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' $((0x4e00)) $((8#040755)) 0 0 2 0 0 0 0 0 0 4 0
      printf 'dev\0'; head -c 2 /dev/zero
      cpio_nod dev/console 020600 5 1
      cpio_nod dev/null 020666 1 3
      cpio_trailer; } >>"$1"
}
