#!/usr/bin/env bash
# The main job (`make run`): boot the default Linux guest (Debian's cloud kernel with a busybox
# initramfs, fetched and built on first use) under minivmm.
#  - On a host whose KVM can run Linux: directly, with configs/linux.ini.
#  - On a PVM host (see `minivmm caps`), whose emulated guest kernel mode cannot run Linux:
#    inside the nested QEMU-TCG L1, which has a real KVM.
# With a terminal on stdin the guest ends at a shell prompt; without one it prints what it
# booted (kernel, vCPUs, memory) and powers off.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"

kind=$(./minivmm caps | sed -n 's/.*host KVM: \([a-z]*\).*/\1/p')
"$NESTED_DIR/fetch.sh"
"$NESTED_DIR/mk-l2-initrd.sh" "$IMG/l2-initrd.cpio"

if [ "$kind" != pvm ]; then
	echo "minivmm: host KVM ($kind) runs Linux: booting configs/linux.ini"
	shell=()
	[ -t 0 ] && shell=(--cmdline "console=ttyS0 panic=-1 initcall_blacklist=cmos_init quiet minivmm.shell=1")
	exec ./minivmm run --config configs/linux.ini "${shell[@]}"
fi
echo "minivmm: this host's KVM is PVM: guest kernel code is emulated and cannot run Linux;"
echo "minivmm: booting the same guest under minivmm inside a QEMU-TCG Linux with a real KVM"
exec bash "$NESTED_DIR/run.sh" --minivmm ./minivmm --boot bookworm-6.1:bzimage:2 --timeout 600
