/* Policy side placeholder until heat tracking lands: no site predictions, no
 * migrator; hints are refused with ENOSYS. */
#include "policy.h"

#include <errno.h>

void tm_policy_init(const tm_tierset *tiers) {}
void tm_policy_start(void) {}
void tm_policy_after_fork_child(void) {}
void tm_policy_stop(void) {}
int tm_policy_site_tier(uintptr_t site, size_t size) { return -1; }
void tm_policy_sample(void *p, size_t size, uintptr_t site, int tier) {}
int tm_policy_advise(void *p, size_t len, int heat)
{
	errno = ENOSYS;
	return -1;
}
