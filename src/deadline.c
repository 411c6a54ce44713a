/* SPDX-License-Identifier: ISC */
/* ses-feedback - a request's deadline, on the monotonic clock. */
#include "config.h"

#include "deadline.h"

void
deadline_set(struct timespec *d, long ms)
{
	d->tv_sec = 0;
	d->tv_nsec = 0;
	if (ms <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

long
deadline_left_ms(const struct timespec *d, long cap)
{
	struct timespec now;
	long            ms;

	if (d->tv_sec == 0)
		return cap;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(d->tv_sec - now.tv_sec) * 1000 + (d->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms < cap ? ms : cap;
}
