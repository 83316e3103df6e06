#!/bin/busybox sh
# shellcheck shell=sh
#
# PID 1 of the tiermalloc test guest (packed into the cached initramfs by
# run-guest.sh). It sets up the two-tier machine, then runs the host's command
# inside a chroot of the host's own root filesystem (shared read-only over 9p),
# so every host binary and library works unchanged in the guest.
#
# Parameters come from the kernel command line (the kernel hands unknown
# key=value words to init as environment variables):
#   tm_mode     hmat | kmem | cxl
#   tm_repo     repository path on the host; shared read-write at that path
#   tm_run      run directory inside the repo: holds cmd (the script to run),
#               and receives status (its exit code)
#   tm_results  results directory on the host; shared read-write at that path
#
# The command's output goes to /dev/hvc0 (the host's stdout). Messages of
# this script go to the kernel console (the host's console log). When no
# status file appears the host reports a failed boot with the console tail,
# so every error here simply powers off.

/bin/busybox --install -s /bin
PATH=/bin
export PATH
: "${tm_mode:=}" "${tm_repo:=}" "${tm_run:=}" "${tm_results:=}"
R=/newroot                      # where the host root is mounted
P9='trans=virtio,version=9p2000.L,msize=512000'

say() { echo "tm-guest: $*"; }
die() { say "FATAL: $*"; sync; poweroff -f; }

# Insert the modules named in /lib/modules/NAME.list (already in dependency
# order, computed on the host from each module's depends= field).
load_modules() {
	while read -r m; do
		insmod "/lib/modules/$m.ko" || die "insmod $m failed"
	done <"/lib/modules/$1.list"
}

# Mount the host root read-only and the file systems a normal Linux userland
# expects on top of it. The page cache may keep host files (cache=loose):
# nobody writes the host root while a guest runs.
mount_root() {
	mount -t 9p -o "$P9,ro,cache=loose" hostroot "$R" || die "9p mount of / failed"
	mount -t proc proc "$R/proc"
	mount -t sysfs sysfs "$R/sys"
	mount -t devtmpfs dev "$R/dev"
	# What udev would add: bash's <(...) needs /dev/fd.
	ln -s /proc/self/fd "$R/dev/fd"
	ln -s /proc/self/fd/0 "$R/dev/stdin"
	ln -s /proc/self/fd/1 "$R/dev/stdout"
	ln -s /proc/self/fd/2 "$R/dev/stderr"
	mkdir -p "$R/dev/pts" "$R/dev/shm"
	mount -t devpts devpts "$R/dev/pts"
	mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
	mount -t tmpfs -o mode=1777 tmp "$R/tmp"
	mount -t tmpfs -o mode=755 run "$R/run"
	mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" 2>/dev/null || say "no cgroup2"
	# Shared read-write, uncached: the host must see results at once. A
	# path under /tmp or /run needs its mount point made on the new tmpfs.
	mkdir -p "$R$tm_repo" 2>/dev/null
	mount -t 9p -o "$P9,cache=none" repo "$R$tm_repo" || die "9p mount of the repo failed"
	mkdir -p "$R$tm_results" 2>/dev/null
	mount -t 9p -o "$P9,cache=none" results "$R$tm_results" ||
		die "9p mount of the results directory failed"
}

# wait_for WHAT GLOB: devices are probed asynchronously; wait up to 10 s for
# a path matching GLOB to appear.
wait_for() {
	i=0
	# shellcheck disable=SC2086 # the glob is to be expanded
	while ! ls $2 >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 100 ] || die "no $1 after 10 s"
		sleep 0.1
	done
}

# Wait for the NVDIMM bus, then for its (asynchronous) probes.
wait_for_nd_probes() {
	wait_for "NVDIMM bus" "/sys/bus/nd/devices/ndbus*"
	cat /sys/bus/nd/devices/ndbus*/wait_probe >/dev/null
}

# Make a devdax namespace of the nd region (ndctl options select it) and
# online it as system RAM of node 1, the way a pmem or CXL server is set up.
# The kernel boots with memhp_default_state=offline, otherwise daxctl
# refuses to online the memory.
online_dax() {
	chroot "$R" ndctl create-namespace -f "$@" --mode=devdax >/dev/null ||
		die "ndctl create-namespace failed"
	chroot "$R" daxctl reconfigure-device --mode=system-ram dax0.0 >/dev/null ||
		die "daxctl reconfigure-device failed"
	grep -qx 0-1 /sys/devices/system/node/has_memory ||
		die "node 1 has no memory after daxctl"
}

# KMEM DAX: the emulated NVDIMM (proximity domain 1) becomes node 1.
setup_kmem() {
	wait_for_nd_probes
	online_dax -e namespace0.0
}

# CXL: a pmem region over the Type-3 device's whole capacity, interleaved
# one way behind the root decoder of the fixed memory window; cxl_pmem makes
# it an nd region, which then goes the KMEM DAX way.
setup_cxl() {
	wait_for "CXL memory device" /sys/bus/cxl/devices/mem0
	chroot "$R" cxl create-region -m -t pmem -d decoder0.0 -w 1 mem0 >/dev/null 2>&1 ||
		die "cxl create-region failed"
	wait_for_nd_probes
	online_dax -r region0
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
exec </dev/null >/dev/console 2>&1

case "$tm_mode" in
hmat | kmem | cxl) ;;
*) die "bad tm_mode '$tm_mode'" ;;
esac
if [ -z "$tm_repo" ] || [ -z "$tm_run" ] || [ -z "$tm_results" ]; then
	die "tm_repo, tm_run and tm_results must be set"
fi

load_modules 9p
[ "$tm_mode" != hmat ] && load_modules kmem # cxl builds on the NVDIMM stack
[ "$tm_mode" = cxl ] && load_modules cxl
mount_root
[ "$tm_mode" != hmat ] && "setup_$tm_mode"

# Deterministic start, the same in every mode. No automatic NUMA balancing
# (its default differs between the modes) and no kernel demotion (in cxl mode
# it could put code on the CXL node, which can crash QEMU); transparent huge
# pages only where asked for with madvise (the kernel turns THP off when it
# boots with under 512 MiB, as in KMEM mode, and on in HMAT mode). Tests that want the kernel's
# own tiering or other THP settings set them themselves.
echo 0 >/proc/sys/kernel/numa_balancing
echo false >/sys/kernel/mm/numa/demotion_enabled
echo madvise >/sys/kernel/mm/transparent_hugepage/enabled
echo madvise >/sys/kernel/mm/transparent_hugepage/defrag

# A clean environment: PATH, HOME and the guest facts; cmd adds the
# variables forwarded from the host and changes to the repo. HOME is on the
# tmpfs, as the host's /root is read-only here.
chroot "$R" /usr/bin/env -i \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/tmp TERM=dumb LANG=C.UTF-8 \
	TM_VM=1 TM_VM_MODE="$tm_mode" TM_VM_RESULTS="$tm_results" \
	/bin/bash "$tm_run/cmd" </dev/null >/dev/hvc0 2>&1
echo "$?" >"$R$tm_run/status"
sync
poweroff -f
