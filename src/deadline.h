/* SPDX-License-Identifier: ISC */
/* ses-feedback - a request's deadline, on the monotonic clock.
 * One per request (set at accept, see bounds.h); the database and HTTPS
 * clients each cut their own waits to what is left of it. */
#ifndef SF_DEADLINE_H
#define SF_DEADLINE_H

#include <time.h>

/* Set *d to ms milliseconds from now; ms <= 0 clears it (no deadline,
 * tv_sec 0). */
void deadline_set(struct timespec *d, long ms);

/* Milliseconds left until *d, never below 0; cap when there is no
 * deadline or more than cap is left. */
long deadline_left_ms(const struct timespec *d, long cap);

#endif
