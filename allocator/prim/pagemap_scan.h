/* The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (kernel >= 6.7), which the
 * installed headers predate: its ABI from the kernel's documentation
 * (PAGEMAP_SCAN(2const)). Shared by the OS layer (uffd.c) and the guest's
 * kernel checks (tests/vm/thpcheck.c). */
#ifndef TM_PRIM_PAGEMAP_SCAN_H
#define TM_PRIM_PAGEMAP_SCAN_H

#include <stdint.h>
#include <sys/ioctl.h>

#define PAGE_IS_WRITTEN (1ULL << 1)
#define PAGE_IS_PRESENT (1ULL << 3)
#define PAGE_IS_HUGE (1ULL << 6) /* PMD-mapped THP (or hugetlb) */

/* flags */
#define PM_SCAN_WP_MATCHING (1ULL << 0) /* write-protect the pages reported */

struct pm_page_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#endif
