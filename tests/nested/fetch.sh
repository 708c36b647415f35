#!/bin/bash
# fetch.sh [--refresh]
#
# Fetch and cache (under build/nested/cache) what the nested harness boots:
#   kernels/sid-X.Y/       Debian sid cloud kernel: bzImage + kvm modules (the L1
#                          kernel, also an L2 kernel)
#   kernels/bookworm-6.1/  Debian 12 cloud kernel: bzImage + kvm modules (an L2 kernel)
#   kernels/sid, kernels/bookworm   symlinks to the above
#   kernels/<label>/modules/virtio*.ko  the kernel's virtio modules (those not built
#                          in), for the virtio tests; taken from the cached packages
#   busybox                static busybox (from the host's busybox-static package)
#   MANIFEST               package names and versions used
#
# Packages come from the Debian archive the system's apt is configured with
# (its host is read from /etc/apt/sources.list* at run time, or taken from
# $NESTED_DEBIAN_MIRROR), through a private apt state in the cache: the
# system's apt configuration is not touched.
#
# Idempotent: when everything is cached, nothing touches the network.
# --refresh re-resolves the packages (e.g. sid moved to a new kernel).
set -euo pipefail
. "$(dirname "$0")/common.sh"

refresh=0
case ${1:-} in
    --refresh) refresh=1 ;;
    "") ;;
    *) die "usage: $0 [--refresh]" ;;
esac

KERN=$CACHE/kernels
mkdir -p "$CACHE" "$KERN"

kernel_ok() {   # kernels/<suite> complete?
    local d=$KERN/$1
    [ -s "$d/bzImage" ] && [ -s "$d/release" ] &&
        [ -s "$d/modules/irqbypass.ko" ] && [ -s "$d/modules/kvm.ko" ] && [ -s "$d/modules/kvm-amd.ko" ]
}
busybox_ok() { [ -x "$CACHE/busybox" ]; }

# ---------------------------------------------------------------- busybox
fetch_busybox() {
    busybox_ok && [ $refresh = 0 ] && return 0
    local bb=""
    if dpkg -s busybox-static >/dev/null 2>&1; then
        bb=$(dpkg -L busybox-static | grep -E '/s?bin/busybox$' | head -n1)
    fi
    if [ -n "$bb" ] && [ -x "$bb" ]; then
        install -m 0755 "$bb" "$CACHE/busybox.tmp"
        echo "busybox busybox-static $(dpkg-query -W -f='${Version}' busybox-static) (host package)" >"$CACHE/busybox.manifest"
    else
        msg "busybox-static is not installed on the host; fetching it from the archive"
        apt_setup bookworm
        local deb; deb=$(apt_download bookworm busybox-static)
        local x=$CACHE/tmp/busybox-static; rm -rf "$x"; mkdir -p "$x"
        dpkg -x "$deb" "$x"
        install -m 0755 "$(find "$x" -path '*bin/busybox' | head -n1)" "$CACHE/busybox.tmp"
        echo "busybox $(basename "$deb") (archive)" >"$CACHE/busybox.manifest"
    fi
    "$CACHE/busybox.tmp" true || die "busybox from $bb does not run"
    if ldd "$CACHE/busybox.tmp" >/dev/null 2>&1; then die "$bb is not statically linked"; fi
    mv "$CACHE/busybox.tmp" "$CACHE/busybox"
}

# ---------------------------------------------------------------- apt
debian_mirror() {
    if [ -n "${NESTED_DEBIAN_MIRROR:-}" ]; then echo "$NESTED_DEBIAN_MIRROR"; return; fi
    local codename
    codename=$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release; set NESTED_DEBIAN_MIRROR"
    local uri
    # one-line format: deb [options] URI SUITE COMPONENTS...
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          sed -E 's/\[[^]]*\]//' |
          awk -v s="$codename" '$1=="deb" && $3==s {print $2; exit}')
    if [ -z "$uri" ]; then
        # deb822 format: stanzas with URIs: and Suites:
        uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v s="$codename" '
            BEGIN { RS=""; FS="\n" }
            { u=""; ok=0
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^URIs:/)   { split(substr($i, 6), a, " "); for (j in a) if (a[j] != "") { u=a[j]; break } }
                  if ($i ~ /^Suites:/) { n=split(substr($i, 8), b, " "); for (j = 1; j <= n; j++) if (b[j] == s) ok=1 }
              }
              if (ok && u != "") { print u; exit } }')
    fi
    [ -n "$uri" ] || die "no apt source for suite '$codename' in /etc/apt/sources.list*; set NESTED_DEBIAN_MIRROR"
    echo "${uri%/}"
}

APT_SETUP_DONE=""
apt_opts() {   # options that make apt use the private state of suite $1
    local d=$CACHE/apt/$1
    echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null" \
         "-o Dir::State=$d/state -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache" \
         "-o Dir::State::status=/dev/null -o APT::Sandbox::User=$(id -un)" \
         "-o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::Languages=none" \
         "-o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0"
}
apt_setup() {   # private apt state for suite $1, updated once per run
    local suite=$1 d=$CACHE/apt/$1
    case " $APT_SETUP_DONE " in *" $suite "*) return 0 ;; esac
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/state"
    echo "deb $(debian_mirror) $suite main" >"$d/sources.list"
    msg "apt update ($suite, private state in ${d#"$REPO_ROOT"/})"
    # shellcheck disable=SC2046
    if ! apt-get $(apt_opts "$suite") -q update >"$d/update.log" 2>&1 ||
       grep -qE '^(W|E): (Failed to fetch|Some index files failed)' "$d/update.log" ||
       ! ls "$d/lists/"*_dists_"${suite}"_main_binary-amd64_Packages* >/dev/null 2>&1; then
        sed 's/^/    /' "$d/update.log" >&2
        die "cannot fetch the Debian package index for '$suite' (no network?). The harness needs
       network once to fill build/nested/cache; later runs use the cache."
    fi
    APT_SETUP_DONE="$APT_SETUP_DONE $suite"
}
apt_field() {   # apt_field SUITE PACKAGE FIELD   (candidate version only)
    # shellcheck disable=SC2046
    apt-cache $(apt_opts "$1") show --no-all-versions "$2" 2>/dev/null |
        awk -v f="$3:" '$1==f { sub(/^[^:]*: */, ""); print; exit }'
}
apt_has() { [ -n "$(apt_field "$1" "$2" Version)" ]; }
apt_download() {   # apt_download SUITE PACKAGE -> prints the path of the .deb
    local suite=$1 pkg=$2 d=$CACHE/debs
    mkdir -p "$d"
    local ver; ver=$(apt_field "$suite" "$pkg" Version)
    [ -n "$ver" ] || die "package $pkg not found in $suite"
    local f; f=$(ls "$d/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$f" ]; then
        msg "downloading $pkg $ver ($suite)"
        # shellcheck disable=SC2046
        (cd "$d" && apt-get $(apt_opts "$suite") -q download "$pkg=$ver" >"$d/download.log" 2>&1) ||
            { cat "$d/download.log" >&2; die "download of $pkg $ver failed"; }
        f=$(ls "$d/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
        [ -n "$f" ] || die "download of $pkg $ver: .deb not found"
    fi
    echo "$f"
}

# ---------------------------------------------------------------- kernels
# fetch_kernel SUITE: the cloud kernel that suite's linux-image-cloud-amd64
# meta-package points to.  Its bzImage and kvm modules are in one package
# (bookworm: linux-image-ABI-cloud-amd64-unsigned) or split (newer: the
# linux-binary-unsigned-ABI-cloud-amd64 + linux-modules-ABI-cloud-amd64).
fetch_kernel() {
    local suite=$1
    if [ $refresh = 0 ] && [ -L "$KERN/$suite" ] && kernel_ok "$suite"; then return 0; fi
    apt_setup "$suite"
    local dep img
    dep=$(apt_field "$suite" linux-image-cloud-amd64 Depends)
    img=$(echo "$dep" | tr ',|' '\n\n' | sed -E 's/^ *//; s/ .*//' | grep -E '^linux-image-.*-cloud-amd64$' | head -n1)
    [ -n "$img" ] || die "$suite: cannot find the kernel package in linux-image-cloud-amd64's Depends: '$dep'"
    local abi=${img#linux-image-}; abi=${abi%-cloud-amd64}
    local cands=(
        "linux-binary-unsigned-$abi-cloud-amd64" "linux-binary-$abi-cloud-amd64"
        "linux-image-$abi-cloud-amd64-unsigned" "$img"
        "linux-modules-$abi-cloud-amd64"
    )
    local x=$CACHE/tmp/kernel-$suite pkgs=() p deb
    rm -rf "$x"; mkdir -p "$x"
    local have_image=0
    for p in "${cands[@]}"; do
        apt_has "$suite" "$p" || continue
        case $p in
            linux-modules-*) ;;
            *) [ $have_image = 1 ] && continue ;;
        esac
        deb=$(apt_download "$suite" "$p")
        dpkg -x "$deb" "$x/root"
        pkgs+=("$p=$(apt_field "$suite" "$p" Version)")
        case $p in linux-modules-*) ;; *) [ -n "$(find "$x/root" -name 'vmlinuz*' -print -quit)" ] && have_image=1 ;; esac
    done
    local vmlinuz
    vmlinuz=$(find "$x/root" -type f -name 'vmlinuz*' | head -n1)
    [ -n "$vmlinuz" ] || die "$suite: no vmlinuz in ${pkgs[*]}"
    local out=$x/out
    mkdir -p "$out/modules"
    cp "$vmlinuz" "$out/bzImage"
    local m f
    for m in irqbypass kvm kvm-amd; do
        f=$(find "$x/root" -type f \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) | head -n1)
        [ -n "$f" ] || die "$suite: module $m not found in ${pkgs[*]}"
        case $f in   # busybox insmod wants plain .ko
            *.xz)  xz -dc "$f" >"$out/modules/$m.ko" ;;
            *.zst) zstd -dcq "$f" >"$out/modules/$m.ko" ;;
            *.gz)  gzip -dc "$f" >"$out/modules/$m.ko" ;;
            *)     cp "$f" "$out/modules/$m.ko" ;;
        esac
    done
    local release
    release=$(basename "$(dirname "$(find "$x/root" -type d -path '*/lib/modules/*/kernel' | head -n1)")")
    [ -n "$release" ] || release=$abi-cloud-amd64
    echo "$release" >"$out/release"
    printf '%s\n' "${pkgs[@]}" >"$out/packages"
    # label: suite + major.minor of the upstream version, e.g. sid-7.2, bookworm-6.1
    local upstream; upstream=$(apt_field "$suite" "$img" Version)
    local label; label=$suite-$(echo "$upstream" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
    rm -rf "${KERN:?}/$label"
    mv "$out" "$KERN/$label"
    ln -sfn "$label" "$KERN/$suite"
    rm -rf "$x"
    msg "$suite kernel: $label ($release) from ${pkgs[*]}"
}

# unpack_ko SRC DST: a module, decompressed (busybox insmod wants plain .ko)
unpack_ko() {
    case $1 in
        *.xz)  xz -dc "$1" >"$2" ;;
        *.zst) zstd -dcq "$1" >"$2" ;;
        *.gz)  gzip -dc "$1" >"$2" ;;
        *)     cp "$1" "$2" ;;
    esac
}

# fetch_virtio_modules SUITE: the virtio modules of the suite's kernel, from the
# packages fetch_kernel cached (no network); built-in ones are simply absent
# (the list the cache was made from is kept in virtio.wanted: a longer list redoes it)
VIRTIO_MODULES="virtio virtio_ring virtio_mmio virtio_blk virtio-rng virtio_balloon virtio_console"
fetch_virtio_modules() {
    local d p v deb f m x
    d=$KERN/$(readlink "$KERN/$1")
    [ $refresh = 0 ] && [ -e "$d/modules/virtio.list" ] &&
        [ "$(cat "$d/modules/virtio.wanted" 2>/dev/null)" = "$VIRTIO_MODULES" ] && return 0
    x=$CACHE/tmp/virtio-$1
    rm -rf "$x"; mkdir -p "$x"
    while read -r p; do     # NAME=VERSION, as fetch_kernel wrote them
        v=${p#*=}
        deb=$(ls "$CACHE/debs/${p%%=*}_${v//:/%3a}_"*.deb 2>/dev/null | head -n1)
        [ -n "$deb" ] || die "$1: cached package for $p not found; run fetch.sh --refresh"
        dpkg -x "$deb" "$x"
    done <"$d/packages"
    : >"$d/modules/virtio.list"
    for m in $VIRTIO_MODULES; do
        f=$(find "$x" -type f \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) | head -n1)
        [ -n "$f" ] || continue
        unpack_ko "$f" "$d/modules/$m.ko"
        echo "$m" >>"$d/modules/virtio.list"
    done
    rm -rf "$x"
    echo "$VIRTIO_MODULES" >"$d/modules/virtio.wanted"
    msg "$1 kernel: virtio modules $(tr '\n' ' ' <"$d/modules/virtio.list")"
}

fetch_busybox
fetch_kernel sid
fetch_kernel bookworm
fetch_virtio_modules sid
fetch_virtio_modules bookworm
rm -rf "$CACHE/tmp"

{
    cat "$CACHE/busybox.manifest"
    for s in sid bookworm; do
        echo "kernel $(readlink "$KERN/$s") release=$(cat "$KERN/$s/release") packages: $(tr '\n' ' ' <"$KERN/$s/packages")"
    done
} >"$CACHE/MANIFEST"
msg "cache ready: ${CACHE#"$REPO_ROOT"/}"
sed 's/^/    /' "$CACHE/MANIFEST" >&2
