/* Diagnostics that are safe inside malloc: no allocation, bounded count.
 *
 * Messages are formatted into a stack buffer and written with write(2). A
 * thread-local guard drops messages raised while one is being written, and
 * warnings stop after a cap so a misbehaving loop cannot flood stderr. */
#ifndef TM_LOG_H
#define TM_LOG_H

#include <stdbool.h>

#define TM_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* One line "tiermalloc: warning: ..." on stderr, up to the warning cap. */
void tm_warn(const char *fmt, ...) TM_PRINTF(1, 2);

/* One line "tiermalloc: ..." on stderr when TIERMALLOC_VERBOSE is set. */
void tm_info(const char *fmt, ...) TM_PRINTF(1, 2);

/* Switched on by the config module once the environment has been read;
 * until then both calls above are silent. Lines go to descriptor 2 only
 * while it is the file it was at that moment. */
void tm_log_enable(bool verbose);

/* Number of warnings raised so far (printed or suppressed). */
unsigned long tm_log_warning_count(void);

#endif
