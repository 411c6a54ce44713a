/* SPDX-License-Identifier: ISC */
/* ses-feedback - a store without PostgreSQL, for the handler's tests.
 * Linked before libsesfeedback.a, so the archive's store.o is never
 * pulled in (nothing else in the library calls the store). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"

struct store {
	int prepare;
};

struct fake_store fake_store;

void
fake_store_reset(void)
{
	free(fake_store.last_json);
	memset(&fake_store, 0, sizeof(fake_store));
}

struct store *
store_new(void)
{
	return calloc(1, sizeof(struct store));
}

void
store_free(struct store *st)
{
	free(st);
}

void
store_set_prepare(struct store *st, int on)
{
	st->prepare = on;
}

enum store_status
store_ping(struct store *st, const char *dsn, char *why, size_t whylen)
{
	(void)st;
	(void)dsn;
	fake_store.pings++;
	if (fake_store.ping != STORE_OK)
		snprintf(why, whylen, "fake: no database");
	return fake_store.ping;
}

enum store_status
store_seen(
    struct store *st, const char *dsn, const char *message_id, int *seen, char *why, size_t whylen)
{
	(void)st;
	(void)dsn;
	(void)message_id;
	fake_store.seens++;
	*seen = fake_store.seen_flag;
	if (fake_store.seen != STORE_OK)
		snprintf(why, whylen, "fake: seen failed");
	return fake_store.seen;
}

enum store_status
store_ingest(struct store *st, const char *dsn, const char *json, int *duplicate, int *suppressed,
    char *why, size_t whylen)
{
	(void)st;
	(void)dsn;
	fake_store.ingests++;
	free(fake_store.last_json);
	fake_store.last_json = strdup(json);
	*duplicate = fake_store.duplicate;
	*suppressed = fake_store.added;
	if (fake_store.ingest != STORE_OK)
		snprintf(why, whylen, "fake: ingest failed");
	return fake_store.ingest;
}
