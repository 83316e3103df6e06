#!/bin/bash
# The kernel's handling of transparent huge pages that the heat policy
# relies on (build/vm/thpcheck): uffd's write protection and PAGEMAP_SCAN
# keep a huge page mapped huge, the first write fault splits its mapping
# but not the page, and move_pages given any of its 4 KiB pages moves all
# of it. Run at THP "always" and "madvise".
# vm-timeout: 30
set -u
failed=0
for mode in always madvise; do
	echo "$mode" >/sys/kernel/mm/transparent_hugepage/enabled
	echo "THP $mode:"
	build/vm/thpcheck || failed=1
done
echo madvise >/sys/kernel/mm/transparent_hugepage/enabled
exit $failed
