#!/usr/bin/env bash
# The install suite: make install / uninstall, the installed launcher and
# pkg-config file, the man pages, and the Debian packages.
#
#   tests/install/run.sh [BUILD_DIR] [SECTION...]
#
# Sections: prefix destdir man deb (all by default). Prints ok/FAIL/skip per
# check and "N passed, N failed[, N skipped]"; exit status 1 on a failure.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd) || exit 2
[ $# -gt 0 ] && shift
sections=${*:-prefix destdir man deb}
cd "$root" || exit 2

unset LD_PRELOAD PKG_CONFIG_PATH
for v in $(compgen -e); do
	case $v in TIERMALLOC_*) unset "$v" ;; esac
done
export LC_ALL=C

work=$(mktemp -d "${TMPDIR:-/tmp}/tm-install.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0

ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
skip() { skipped=$((skipped + 1)); printf 'skip %s: %s\n' "$1" "$2"; }
# fail NAME LOG: the tail of the log follows
fail() {
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$1"
	[ -s "$2" ] && tail -n 25 "$2" | cut -c1-300 | sed 's/^/     | /'
}
# check NAME COMMAND...: ok when the command succeeds, its output kept
check() {
	local name=$1 log=$work/log.$((passed + failed))
	shift
	if "$@" >"$log" 2>&1; then ok "$name"; else fail "$name" "$log"; fi
}
# same NAME WANT COMMAND...: ok when the command prints exactly WANT
same() {
	local name=$1 want=$2 log=$work/log.$((passed + failed))
	shift 2
	"$@" >"$log" 2>&1
	if [ "$(cat "$log")" = "$want" ]; then ok "$name"
	else echo "wanted: $want" >>"$log"; fail "$name" "$log"; fi
}

make_q() { make --no-print-directory -s B="$build" "$@"; }

# What python3 prints, and the library it runs with; the same through any
# launcher or preload.
PY='import os; print(sum(range(10**5)), os.environ["LD_PRELOAD"].split(":")[0])'

# A program linked with -ltiermalloc through pkg-config: the library is its
# malloc, and the public API answers.
link_with_pkgconfig() {
	local pc=$1
	printf '#include <stdio.h>\n#include <stdlib.h>\n#include <tiermalloc.h>\n%s\n' \
		'int main(void) { void *p = malloc(100); printf("%d %d\n", tm_tier_count(), tm_tier_of(p)); free(p); return 0; }' \
		>"$work/api.c"
	PKG_CONFIG_PATH=$pc cc "$work/api.c" -o "$work/api" \
		$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs tiermalloc) \
		-Wl,-rpath,"$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir tiermalloc)" &&
		"$work/api"
}

# make install PREFIX=scratch: the paths compiled into the launcher, the
# man pages and the .pc file are real, so everything runs from there.
section_prefix() {
	local p=$work/prefix pc=$work/prefix/lib/pkgconfig libm
	libm=$(gcc -print-file-name=libm.so.6)
	check "install: make install PREFIX=scratch" make_q install PREFIX="$p" LDCONFIG=:
	same "install: launcher runs python3 under the installed library" \
		"4999950000 $p/lib/libtiermalloc.so.0" "$p/bin/tiermalloc" -- python3 -c "$PY"
	same "install: launcher keeps an existing LD_PRELOAD after the library" \
		"$p/lib/libtiermalloc.so.0:$libm" \
		env LD_PRELOAD="$libm" "$p/bin/tiermalloc" sh -c 'echo $LD_PRELOAD'
	same "install: options become variables" "ratio 1:3 1G /tmp/x" "$p/bin/tiermalloc" \
		--policy ratio --ratio=1:3 --dram-limit 1G --stats-dir=/tmp/x -- \
		sh -c 'echo $TIERMALLOC_POLICY $TIERMALLOC_RATIO $TIERMALLOC_DRAM_LIMIT $TIERMALLOC_STATS_DIR'
	same "install: exit status passed through" 7 \
		sh -c '"$1" sh -c "exit 7"; echo $?' - "$p/bin/tiermalloc"
	same "install: bad value is a usage error, in the library's words" \
		"tiermalloc: --ratio=3: $(TIERMALLOC_RATIO=3 TIERMALLOC_VERBOSE=1 LD_PRELOAD="$p/lib/libtiermalloc.so.0" \
			/bin/true 2>&1 | sed -n 's/.*TIERMALLOC_RATIO=3: \(.*\); using the default.*/\1/p')
Try 'tiermalloc --help'.
125" sh -c '"$1" --ratio=3 true; echo $?' - "$p/bin/tiermalloc"
	same "install: unknown option is a usage error" \
		"tiermalloc: unknown option --polcy=heat
Try 'tiermalloc --help'.
125" sh -c '"$1" --polcy=heat true; echo $?' - "$p/bin/tiermalloc"
	same "install: missing program" "tiermalloc: no-such-program: No such file or directory
127" sh -c '"$1" no-such-program; echo $?' - "$p/bin/tiermalloc"
	check "install: --print-tiers shows the library's report" \
		sh -c '"$1" --print-tiers | grep -q "^tiermalloc: tier 0: nodes" && "$1" --print-tiers | tail -n1 | grep -qx "[1-9] tiers\?"' - "$p/bin/tiermalloc"
	same "install: pkg-config's preload variable" "4999950000 $p/lib/libtiermalloc.so.0" \
		env LD_PRELOAD="$(PKG_CONFIG_PATH=$pc pkg-config --variable=preload tiermalloc)" python3 -c "$PY"
	same "install: a program built with pkg-config uses the library" "1 0" link_with_pkgconfig "$pc"
	same "install: --print-tiers without the library fails, not loops" \
		"tiermalloc: $p/lib/libtiermalloc.so.0 did not load
126" sh -c 'mv "$1.0" "$1.x"; timeout 10 "$2" --print-tiers >"$3" 2>&1; rc=$?
		       mv "$1.x" "$1.0"; grep -v "^ERROR: ld.so" "$3"; echo $rc' \
		- "$p/lib/libtiermalloc.so" "$p/bin/tiermalloc" "$work/print-tiers.out"
	check "install: tierstat runs" "$p/bin/tierstat" --help
	check "install: make uninstall leaves only directories" \
		sh -c 'make --no-print-directory -s B="$1" uninstall PREFIX="$2" LDCONFIG=: &&
		       test -z "$(find "$2" ! -type d)"' - "$build" "$p"
}

# make install DESTDIR=... with Debian's layout: what goes where.
section_destdir() {
	local d=$work/destdir lib
	lib=usr/lib/$(gcc -print-multiarch)
	check "destdir: make install DESTDIR PREFIX=/usr LIBDIR=multiarch" \
		make_q install DESTDIR="$d" PREFIX=/usr LIBDIR=/$lib
	same "destdir: installed files" "./usr/bin/tiermalloc
./usr/bin/tierstat
./usr/include/tiermalloc.h
./$lib/libtiermalloc.so -> libtiermalloc.so.0
./$lib/libtiermalloc.so.0
./$lib/pkgconfig/tiermalloc.pc
./usr/share/man/man1/tiermalloc.1
./usr/share/man/man1/tierstat.1
./usr/share/man/man7/tiermalloc.7" \
		sh -c 'cd "$1" && { find . -type f; find . -type l -printf "%p -> %l\n"; } | sort' - "$d"
	same "destdir: soname" "libtiermalloc.so.0" \
		sh -c 'objdump -p "$1" | awk "/SONAME/ {print \$2}"' - "$d/$lib/libtiermalloc.so.0"
	# What every exec of a preloaded program pays for: jemalloc and the
	# unwinder are linked in, libm is not needed, and libstdc++ is found at
	# run time by C++ programs only.
	same "destdir: the library needs only libc" "libc.so.6" \
		sh -c 'objdump -p "$1" | awk "/NEEDED/ {print \$2}" | sort | tr "\n" " " | sed "s/ $//"' \
		- "$d/$lib/libtiermalloc.so.0"
	same "destdir: launcher preloads the installed path" "/$lib/libtiermalloc.so.0" \
		sh -c 'strings "$1" | grep -x "/.*libtiermalloc.so.0"' - "$d/usr/bin/tiermalloc"
	check "destdir: make uninstall DESTDIR" \
		sh -c 'make --no-print-directory -s B="$1" uninstall DESTDIR="$2" PREFIX=/usr LIBDIR="$3" &&
		       test -z "$(find "$2" ! -type d)"' - "$build" "$d" "/$lib"
}

# The man pages' lists against their sources: the variables of tiermalloc(7)
# against config.c's table, the options of tiermalloc(1) against what the
# launcher says it accepts; and man finds nothing to warn about.
section_man() {
	local man=$build/install/man
	check "man: pages build" make_q man
	same "man: tiermalloc(7) lists config.c's variables, in order" \
		"$(grep -o '^[[:space:]]*\[TM_OPT_[A-Z_]*\] = {"TIERMALLOC_[A-Z_]*"' allocator/config.c |
		   grep -o 'TIERMALLOC_[A-Z_]*')" \
		sed -n 's/^\.B \(TIERMALLOC_[A-Z_]*\)$/\1/p' "$man/tiermalloc.7"
	same "man: tiermalloc(1) lists the launcher's options, in order" \
		"$("$build/tiermalloc" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p')" \
		sh -c 'sed -n "s/^\.BI\{0,1\} \\\\-\\\\-\([^= ]*\).*/\1/p" "$1" | sed "s/\\\\-/-/g"' - "$man/tiermalloc.1"
	same "man: no warnings from man" "" \
		sh -c 'for f in "$1"/*; do MANWIDTH=80 man --warnings -l "$f" >/dev/null; done' - "$man"
}

# One root-owned command in a throwaway root: an overlay of / whose changes
# live in a tmpfs of a private mount namespace, gone when it exits.
in_throwaway_root() {
	unshare --mount --propagation private sh -ec '
		t=$1; shift
		mount -t tmpfs tmpfs "$t"
		mkdir "$t/upper" "$t/work" "$t/root"
		mount -t overlay overlay -o lowerdir=/,upperdir="$t/upper",workdir="$t/work" "$t/root"
		mount --rbind /dev "$t/root/dev"
		mount -t proc proc "$t/root/proc"
		mount --rbind /sys "$t/root/sys"
		exec chroot "$t/root" "$@"' - "$work/root" "$@"
}

# make deb (lintian included), then the packages installed, used and purged
# in a throwaway root. The machine's dpkg database is checked untouched.
section_deb() {
	local debs status
	if [ "$(id -u)" -ne 0 ]; then skip "deb" "needs root (dpkg in an overlay root)"; return; fi
	check "deb: make deb (dpkg-buildpackage, lintian without warnings)" make_q deb
	debs=$(ls "$build"/deb/*.deb | grep -v dbgsym | tr '\n' ' ')
	status=$(md5sum /var/lib/dpkg/status)
	mkdir -p "$work/root"
	same "deb: installed in a throwaway root, used, purged" "1 tier
4999950000 /usr/lib/$(gcc -print-multiarch)/libtiermalloc.so.0
/usr/lib/$(gcc -print-multiarch)/libtiermalloc.so.0
purged, nothing left" in_throwaway_root sh -c '
		dpkg -i $1 >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
		tiermalloc --print-tiers | tail -n1
		tiermalloc -- python3 -c "$2"
		pkg-config --variable=preload tiermalloc
		files=$(dpkg -L libtiermalloc0 tiermalloc libtiermalloc-dev | sort -u)
		dpkg --purge libtiermalloc-dev tiermalloc libtiermalloc0 >>/tmp/dpkg.log 2>&1
		for f in $files; do [ -d "$f" ] || [ ! -e "$f" ] || echo "left: $f"; done
		echo purged, nothing left' - "$debs" "$PY"
	same "deb: the machine's dpkg database is unchanged" "$status" md5sum /var/lib/dpkg/status
}

for s in $sections; do "section_$s"; done
printf '%d passed, %d failed' "$passed" "$failed"
[ "$skipped" -eq 0 ] || printf ', %d skipped' "$skipped"
printf '\n'
[ "$failed" -eq 0 ]
