#!/usr/bin/env bash
#
# Boot the two-tier NUMA test guest (QEMU, software emulation) and run one
# command in it; exit with the command's exit status.
#
#   tests/vm/run-guest.sh --mode hmat|kmem|cxl [--timeout S] [--results DIR]
#                         [--node0 MIB] [--node1 MIB] -- COMMAND...
#
# Modes (node 0: 2 CPUs + 512 MiB DRAM; node 1: CPU-less, 1-1.1 GiB;
# --node0 and --node1 set the two sizes in hmat and kmem mode, multiples
# of 128 MiB, for big heaps: under emulation touching a GiB takes seconds):
#   hmat  node 1 is plain RAM; ACPI HMAT says 3x latency and 1/4 bandwidth.
#   kmem  node 1 is an emulated NVDIMM onlined as system RAM (KMEM DAX).
#   cxl   node 1 is a CXL Type-3 memory device (pmem region -> devdax ->
#         system RAM), without HMAT numbers. QEMU reaches it through emulated
#         dispatch, so it is really slower than node 0 (10-150x). Code on
#         it can crash QEMU: bind heap ranges there, never whole processes.
#
# The guest mounts the host's root read-only and chroots into it, so COMMAND
# is any host program; it runs as root in the repo root, with the repo and the
# results directory (default build/vm/results/run-MODE, exported to the
# command as TM_VM_RESULTS) shared read-write at their host paths. TM_VM=1 and
# TM_VM_MODE are set; TIERMALLOC_* variables are forwarded from the host.
#
# The first run installs missing Debian packages, downloads Debian's 6.12
# kernel and builds an initramfs, all cached under .cache/vm/ in the repo
# (delete that folder to start over). Later runs boot in seconds.
#
# Exit status: COMMAND's, or 124 when the timeout (default 300 s, boot
# included) expired, or 125 when the guest failed before COMMAND finished
# (the kernel console tail is printed). Set VM_DEBUG=1 to see the whole
# console, VM_APPEND='...' to add kernel arguments (e.g. loglevel=7).
#
# QEMU options are comma-separated lists, not mistyped bash arrays:
# shellcheck disable=SC2054
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
readonly HERE=$REPO/tests/vm
readonly CACHE=$REPO/.cache/vm
readonly KERNEL_META=linux-image-6.12-amd64
# Modules the guest loads (their dependencies are added): 9p file sharing,
# the NVDIMM/DAX stack for KMEM mode (nd_e820 only serves memmap=: unused),
# and the CXL stack on top of it for CXL mode (cxl_pmem needs libnvdimm's
# symbols loaded first; cxl_core and cxl_port are built in).
readonly MODULES_9P=(9pnet_virtio 9p)
readonly MODULES_KMEM=(nfit nd_pmem dax_pmem device_dax kmem)
readonly MODULES_CXL=(cxl_acpi cxl_pci cxl_mem cxl_pmem dax_cxl)
# A cached kernel made for another module set is made again.
readonly KERNEL_STAMP="modules: ${MODULES_9P[*]} | ${MODULES_KMEM[*]} | ${MODULES_CXL[*]}"

mode=
timeout_s=300
results=
node0_mib=512
node1_mib=1024

log() { printf 'run-guest: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 125
}

usage() {
	sed -n '3,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

parse_args() {
	while (($#)); do
		case $1 in
		--mode) mode=${2-} && shift 2 ;;
		--timeout) timeout_s=${2-} && shift 2 ;;
		--results) results=${2-} && shift 2 ;;
		--node0) node0_mib=${2-} && shift 2 ;;
		--node1) node1_mib=${2-} && shift 2 ;;
		--) shift && break ;;
		-h | --help) usage ;;
		*) log "unknown argument: $1" && usage ;;
		esac
	done
	[[ $mode =~ ^(hmat|kmem|cxl)$ ]] || usage
	[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout needs whole seconds"
	check_sizes
	(($#)) || usage
	command_args=("$@")
}

# Memory blocks come in 128 MiB; the CXL layout's sizes are tied to its
# window and region steps, so it keeps its own.
check_sizes() {
	local n
	for n in "$node0_mib" "$node1_mib"; do
		if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 256 || n % 128)); then
			die "--node0/--node1 need MiB, a multiple of 128, at least 256"
		fi
	done
	[[ $mode != cxl ]] || ((node0_mib == 512 && node1_mib == 1024)) ||
		die "--node0/--node1 are for hmat and kmem mode"
}

### Host packages #############################################################

# Run a command and show its output only when it fails (apt is chatty).
quietly() {
	local out
	out=$("$@" 2>&1) && return 0
	printf '%s\n' "$out" | tail -n 20 >&2
	return 1
}

apt_updated=false
apt_update_once() {
	$apt_updated && return
	log "apt-get update"
	quietly timeout 180 apt-get -q update || die "apt-get update failed"
	apt_updated=true
}

# The packages the guest needs, listed in tests/vm/packages.txt.
wanted_packages() { sed 's/#.*//' "$HERE/packages.txt" | tr -s ' \t' '\n' | grep -v '^$'; }

ensure_packages() {
	local missing=() p
	for p in $(wanted_packages); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	((EUID == 0)) || die "missing packages (install as root): ${missing[*]}"
	apt_update_once
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive quietly timeout 300 apt-get -q install -y \
		-o DPkg::Lock::Timeout=120 --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed"
}

### Kernel ####################################################################

# The meta package (security suite) depends on exactly one versioned image.
resolve_kernel_package() {
	apt-cache depends "$KERNEL_META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | head -n1
}

# Unpack the ELF vmlinux out of the zstd-packed bzImage: PVH boots it
# directly, which saves the in-guest decompression (~1 s under TCG). zstd
# exits 1 on the data after the frame, so success is judged by the ELF magic.
extract_vmlinux() {
	local bzimage=$1 out=$2 off
	while read -r off; do
		tail -c +$((off + 1)) "$bzimage" | zstd -dcq >"$out" 2>/dev/null || true
		[[ $(head -c4 "$out" | od -An -c | tr -d ' ') == 177ELF ]] && return 0
	done < <(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$bzimage" | cut -d: -f1)
	die "no zstd-packed ELF kernel found in $bzimage"
}

# Module dependencies, from the depends= field of the module's .modinfo.
module_path() { find "$1" -name "$2.ko.xz" -o -name "${2//_/-}.ko.xz" | head -n1; }
module_deps() { busybox xz -dc "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '; }

# Copy module NAME from the kernel tree SRC into OUT, its dependencies first,
# decompressed and without its signature (checking an RSA signature costs
# ~0.5 s of boot under TCG; the kernel does not require one). The names are
# appended to the array "order" in load order.
add_module() {
	local src=$1 out=$2 name=$3 path dep
	[[ " ${order[*]} " == *" $name "* ]] && return 0
	path=$(module_path "$src" "$name")
	[[ -n $path ]] || die "kernel module $name not found"
	for dep in $(module_deps "$path"); do add_module "$src" "$out" "$dep"; done
	busybox xz -dc "$path" >"$out/$name.ko"
	strip_signature "$out/$name.ko"
	order+=("$name")
}

# add_module_list SRC OUT LIST NAME...: add the modules NAME and write the
# load order of those not loaded before them to OUT/LIST.list.
add_module_list() {
	local src=$1 out=$2 list=$3 name before=${#order[@]}
	shift 3
	for name; do add_module "$src" "$out" "$name"; done
	printf '%s\n' "${order[@]:before}" >"$out/$list.list"
}

# Write the guest's modules to OUT, with the load orders OUT/9p.list,
# OUT/kmem.list and OUT/cxl.list, each without what the ones before it load
# (the guest loads 9p, then kmem, then cxl).
prepare_modules() {
	local src=$1 out=$2
	local order=()
	mkdir -p "$out"
	add_module_list "$src" "$out" 9p "${MODULES_9P[@]}"
	add_module_list "$src" "$out" kmem "${MODULES_KMEM[@]}"
	add_module_list "$src" "$out" cxl "${MODULES_CXL[@]}"
}

# A signed module ends in: signature, 12-byte struct module_signature (whose
# last 4 bytes are the big-endian signature length), "~Module signature
# appended~\n" (28 bytes).
strip_signature() {
	local f=$1 size siglen
	[[ $(tail -c 28 "$f") == '~Module signature appended~' ]] || return 0
	size=$(stat -c %s "$f")
	siglen=$(tail -c 32 "$f" | head -c 4 | od -An -tx1 | tr -d ' \n')
	truncate -s $((size - 28 - 12 - 16#$siglen)) "$f"
}

# Download Debian's 6.12 kernel (never installed: only unpacked) and keep the
# vmlinux and the few modules the guest needs in $CACHE/kernel.
ensure_kernel() {
	[[ $(cat "$CACHE/kernel/ready" 2>/dev/null) == "$KERNEL_STAMP" ]] && return 0
	local pkg tmp
	apt_update_once
	pkg=$(resolve_kernel_package)
	[[ -n $pkg ]] || die "apt knows no $KERNEL_META (is bookworm-security in the apt sources?)"
	tmp=$CACHE/kernel.tmp
	rm -rf "$tmp" "$CACHE/kernel"
	mkdir -p "$tmp/deb"
	log "downloading $pkg"
	(cd "$tmp/deb" && quietly timeout 300 apt-get -q download -o APT::Sandbox::User=root "$pkg") ||
		die "apt-get download $pkg failed"
	dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x"
	mkdir -p "$tmp/kernel"
	extract_vmlinux "$(echo "$tmp"/x/boot/vmlinuz-*)" "$tmp/kernel/vmlinux"
	prepare_modules "$tmp/x/lib/modules" "$tmp/kernel/modules"
	basename "$(echo "$tmp"/x/lib/modules/*)" >"$tmp/kernel/version"
	echo "$KERNEL_STAMP" >"$tmp/kernel/ready"
	mv "$tmp/kernel" "$CACHE/kernel"
	rm -rf "$tmp"
}

### Initramfs #################################################################

# busybox-static, /init and the modules. Cached under a name made from its
# inputs, so a change of guest-init.sh or of the kernel rebuilds it.
ensure_initrd() {
	local key tmp
	key=$(cat "$HERE/guest-init.sh" "$CACHE/kernel/version" "$CACHE"/kernel/modules/*.list \
		<(busybox | head -n1) | sha256sum | cut -c1-16)
	initrd=$CACHE/initrd-$key.cpio
	[[ -f $initrd ]] && return 0
	rm -f "$CACHE"/initrd-*.cpio
	tmp=$CACHE/initrd.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$tmp/bin/busybox"
	cp "$CACHE"/kernel/modules/* "$tmp/lib/modules/"
	install -m 755 "$HERE/guest-init.sh" "$tmp/init"
	# The kernel opens /dev/console before /init runs; only root can make
	# the node (without it the kernel warns once and /init opens it itself).
	mknod -m 600 "$tmp/dev/console" c 5 1 2>/dev/null || true
	(cd "$tmp" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) >"$initrd.part"
	mv "$initrd.part" "$initrd"
	rm -rf "$tmp"
}

### Guest #####################################################################

# The machine and NUMA layout of each mode, as QEMU options. All -numa node
# options must come before the hmat-lb ones; with hmat=on every node needs an
# initiator.
machine_options() {
	local hmat=(
		-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=100
		-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=20G
		-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=300
		-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G
	)
	local node0=(
		-object "memory-backend-ram,id=m0,size=${node0_mib}M"
		-numa node,nodeid=0,memdev=m0,cpus=0-1,initiator=0
	)
	case $mode in
	hmat)
		qemu_args+=(-cpu max -machine pc,hmat=on -m $((node0_mib + node1_mib))M "${node0[@]}"
			-object "memory-backend-ram,id=m1,size=${node1_mib}M"
			-numa node,nodeid=1,memdev=m1,initiator=0 "${hmat[@]}")
		;;
	kmem)
		# The devdax metadata (struct pages: 1/64) and alignment take
		# their own 128 MiB memory blocks; what is left is onlined
		# (1152 MiB of NVDIMM: 1 GiB of node 1).
		local nv=$((node1_mib + (node1_mib / 64 + 16 + 127) / 128 * 128))
		qemu_args+=(-cpu max -machine pc,hmat=on,nvdimm=on
			-m "${node0_mib}M,slots=2,maxmem=$((node0_mib + nv + 896))M" "${node0[@]}"
			-numa node,nodeid=1,initiator=0 "${hmat[@]}"
			-object "memory-backend-ram,id=nv1,size=${nv}M"
			-device nvdimm,id=nvdimm1,memdev=nv1,node=1)
		;;
	cxl)
		# The CXL fixed memory window becomes node 1 by itself. Without
		# hypervisor=off the kernel will not commit the region ("Failed
		# to synchronize CPU cache state"); erms=off makes memset and
		# page zeroing ~5x faster on both nodes. Regions come in 256 MiB
		# steps: 1280 MiB of device leave 1152 MiB of system RAM.
		qemu_args+=(-cpu max,hypervisor=off,erms=off -machine q35,cxl=on,hmat=on
			-m 512M "${node0[@]}"
			-object memory-backend-ram,id=cxl-mem1,size=1280M
			-object memory-backend-ram,id=cxl-lsa1,size=1M
			-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1
			-device cxl-rp,port=0,bus=cxl.1,id=rp13,chassis=0,slot=2
			-device cxl-type3,bus=rp13,memdev=cxl-mem1,lsa=cxl-lsa1,id=cxl-pmem0
			-M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G)
		;;
	esac
}

# The script the guest runs: forwarded variables, then COMMAND in the repo.
write_cmd() {
	local var
	{
		echo '# generated by run-guest.sh'
		for var in $(compgen -v TIERMALLOC_ || true); do
			printf 'export %s=%q\n' "$var" "${!var}"
		done
		printf 'cd %q || exit 125\n' "$REPO"
		printf 'exec'
		printf ' %q' "${command_args[@]}"
		printf '\n'
	} >"$run/cmd"
}

print_console_tail() {
	if [[ ! -s $run/console.log ]]; then
		log "the kernel console is empty (VM_APPEND=loglevel=7 shows more)"
		return
	fi
	log "kernel console (last 40 lines of $CACHE/console-$mode.log):"
	tail -n 40 "$run/console.log" | sed 's/^/  | /' >&2
}

# Run QEMU under a timeout. timeout(1) puts QEMU in a process group of its
# own, out of reach of the terminal's Ctrl-C, so an interrupt or a TERM sent
# to this script is passed on by hand. stdin is /dev/null: QEMU then leaves
# the terminal's settings alone.
run_qemu() {
	local pid rc=0 stopped=
	timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" </dev/null &
	pid=$!
	trap 'stopped=1; kill -TERM "$pid" 2>/dev/null' INT TERM HUP
	wait "$pid" || rc=$?
	if [[ $stopped ]]; then
		wait "$pid" || true
		log "interrupted"
		exit 130
	fi
	trap - INT TERM HUP
	return "$rc"
}

boot() {
	local append="console=ttyS0 loglevel=4 panic=-1 mitigations=off"
	append+=" tm_mode=$mode tm_repo=$REPO tm_run=$run tm_results=$results"
	# daxctl onlines the slow node itself: the kernel must not do it first.
	[[ $mode == kmem || $mode == cxl ]] && append+=" memhp_default_state=offline"
	# QEMU 7.2's CXL device answers the event-interrupt query with zeros and
	# cxl_pci does not probe with MSI; 9p works on legacy interrupts.
	[[ $mode == cxl ]] && append+=" pci=nomsi"
	append+=" ${VM_APPEND-}"
	qemu_args=(-nodefaults -no-user-config -display none -no-reboot
		-accel tcg -smp 2
		-kernel "$CACHE/kernel/vmlinux" -initrd "$initrd" -append "$append"
		-serial "file:$run/console.log"
		-device virtio-serial-pci -chardev stdio,id=out,signal=off
		-device virtconsole,chardev=out
		-device virtio-rng-pci
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,readonly=on
		-virtfs "local,path=$REPO,mount_tag=repo,security_model=none,multidevs=remap"
		-virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap")
	machine_options
	local rc=0
	run_qemu || rc=$?
	cp "$run/console.log" "$CACHE/console-$mode.log" 2>/dev/null || true
	[[ ${VM_DEBUG-} ]] && cat "$run/console.log" >&2
	if [[ -f $run/status ]]; then
		return "$(cat "$run/status")"
	fi
	if ((rc == 124 || rc == 137)); then
		log "guest ($mode) timed out after $timeout_s s"
		print_console_tail
		return 124
	fi
	log "guest ($mode) stopped before the command finished (qemu exit $rc)"
	print_console_tail
	return 125
}

main() {
	parse_args "$@"
	# The guest sees paths through the kernel command line: no blanks.
	[[ $REPO != *[[:space:]]* ]] || die "the repo path must not contain blanks"
	results=${results:-$REPO/build/vm/results/run-$mode}
	mkdir -p "$results" "$CACHE/runs"
	results=$(cd "$results" && pwd -P)
	[[ $results != *[[:space:]]* ]] || die "the results path must not contain blanks"

	# One preparer at a time (parallel runs share the cache).
	exec 9>"$CACHE/prepare.lock"
	flock -w 600 9 || die "timed out waiting for $CACHE/prepare.lock"
	ensure_packages
	ensure_kernel
	ensure_initrd
	exec 9>&-

	# Run directories of runs killed with SIGKILL would stay forever.
	find "$CACHE/runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} +
	run=$(mktemp -d "$CACHE/runs/$mode.XXXXXX")
	trap 'rm -rf "$run"' EXIT
	write_cmd
	boot
}

main "$@"
