#!/usr/bin/env bash
#
# make check-layers: every #include "..." of the library's sources goes the
# way the layout allows (README, "How the code is laid out"):
#
#   allocator/prim/  the OS layer: itself and the log only
#   allocator/       the core: itself (prim/ included) and include/
#   policy/          itself, the OS layer, and of the core only the headers
#                    made for plugins
#   stats/           itself, the OS layer, the plugin headers, the
#                    allocator's and the policy's snapshots
#
# Prints one line per include against the direction and fails if any.
set -uo pipefail
cd "$(dirname "$0")/.."

# The core headers a plugin may include.
plugin_api='allocator/(plugin|heap|services|config|log|tiers)\.h'

allowed() { # FILE INCLUDE
	local file=$1 inc=$2
	case $file in
	allocator/prim/*) [[ $inc =~ ^(allocator/prim/.*|allocator/log\.h)$ ]] ;;
	allocator/*) [[ $inc =~ ^(allocator/.*|include/tiermalloc\.h)$ ]] ;;
	policy/*) [[ $inc =~ ^(policy/.*|allocator/prim/.*|$plugin_api|include/tiermalloc\.h)$ ]] ;;
	stats/*) [[ $inc =~ ^(stats/.*|allocator/prim/.*|$plugin_api|allocator/snapshot\.h|policy/policy\.h|include/tiermalloc\.h)$ ]] ;;
	*) false ;;
	esac
}

bad=0 checked=0
while IFS= read -r file; do
	while IFS= read -r inc; do
		checked=$((checked + 1))
		[[ -e $inc ]] || { echo "$file: \"$inc\" does not name a file from the top"; bad=$((bad + 1)); continue; }
		allowed "$file" "$inc" || { echo "$file: includes \"$inc\": against the direction"; bad=$((bad + 1)); }
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find allocator policy stats -name '*.[ch]' -o -name '*.cc' | sort)

echo "check-layers: $checked includes, $bad against the direction"
((bad == 0))
