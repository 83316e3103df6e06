/* jemalloc's mallctl tree, relocated at its first use (je_ctl.c). */
#ifndef TM_JE_CTL_H
#define TM_JE_CTL_H

/* Relocate the tree if that is still to do. 0, or EAGAIN when it cannot be
 * (mallctl then fails with it, and the next call tries again). */
int tm_je_ctl_relocate(void);

#endif
