/* SPDX-License-Identifier: ISC */
/* ses-feedback - a store without PostgreSQL, for the handler's tests.
 * fake_store.c defines the store_* functions the handler calls: each
 * records that it was called and answers what the test scripted. */
#ifndef SF_FAKE_STORE_H
#define SF_FAKE_STORE_H

#include "store.h"

struct fake_store {
	/* scripted answers */
	enum store_status ping;      /* store_ping */
	enum store_status seen;      /* store_seen */
	int               seen_flag; /* store_seen's *seen */
	enum store_status ingest;    /* store_ingest */
	int               duplicate; /* store_ingest's *duplicate */
	int               added;     /* store_ingest's *suppressed */
	/* what was called */
	int   pings, seens, ingests;
	char *last_json; /* owned: the last document ingest() was given */
};

/* The one fake; fake_store_reset() answers STORE_OK to all and forgets. */
extern struct fake_store fake_store;
void                     fake_store_reset(void);

#endif
