/* SPDX-License-Identifier: ISC */
/* ses-feedback - configuration.
 * One table of keys drives parsing, validation, check-config and the man
 * page. Each key is looked up in the request's FastCGI parameters, then
 * the process environment, then the built-in default. */
#ifndef SF_CFG_H
#define SF_CFG_H

#include <stddef.h>

#include "log.h"

enum cfg_id {
	CFG_AUTO_CONFIRM,
	CFG_CA_FILE,
	CFG_CERT_CACHE,
	CFG_CONNECT_TO,
	CFG_DSN,
	CFG_ENDPOINT,
	CFG_LOG,
	CFG_LOG_LEVEL,
	CFG_MAX_AGE,
	CFG_MAX_BODY,
	CFG_METRICS_FILE,
	CFG_MIN_SIGNATURE_VERSION,
	CFG_PREPARE,
	CFG_TOPICS,
	CFG__COUNT
};

enum cfg_type {
	CFG_T_STRING,
	CFG_T_BOOL,
	CFG_T_SIZE,
	CFG_T_SECONDS,
	CFG_T_SIGVER,
	CFG_T_LEVEL,
	CFG_T_TOPICS,
	CFG_T_ENDPOINT
};

/* What a location answers to GET: health on the SNS location, metrics only
 * where the operator's web server configuration says so. */
enum cfg_endpoint { CFG_ENDPOINT_SNS, CFG_ENDPOINT_METRICS };

struct cfg_def {
	const char   *name; /* SES_FEEDBACK_... */
	enum cfg_type type; /* how the value is checked */
	const char   *def;  /* built-in default */
	const char   *help; /* one line for check-config and --help */
};

extern const struct cfg_def cfg_table[CFG__COUNT];

/* Where request parameters come from. param returns NULL when the key is
 * absent; the pointer must stay valid for the request. */
struct cfg_src {
	const char *(*param)(void *ctx, const char *name);
	void *ctx;
};

enum cfg_origin { CFG_FROM_PARAM, CFG_FROM_ENV, CFG_FROM_DEFAULT };

/* The effective configuration of one request. String pointers borrow from
 * the source or the environment; valid while the request is. */
struct cfg {
	const char       *raw[CFG__COUNT];    /* value as found */
	enum cfg_origin   origin[CFG__COUNT]; /* where it was found */
	int               auto_confirm;       /* 1 = confirm subscriptions */
	const char       *ca_file;            /* NULL = system bundle */
	const char       *cert_cache;         /* NULL = memory cache only */
	const char       *connect_to;         /* NULL = none */
	const char       *dsn;                /* "" = libpq defaults */
	enum cfg_endpoint endpoint;           /* what this location serves */
	long              max_age;            /* seconds; older Timestamps get 403 */
	enum log_level    log_level;          /* least severe level logged */
	size_t            max_body;           /* bytes; larger bodies get 413 */
	int               min_sigver;         /* 1 or 2 */
	int               prepare;            /* 1 = named prepared statements */
	const char       *topics;             /* allow-list, "" = none */
};

/* Resolve every key. src may be NULL (environment only). Returns 0, or -1
 * with why naming the key and what is wrong with it. */
int cfg_load(struct cfg *c, const struct cfg_src *src, char *why, size_t whylen);
/* One key's value: request parameter, else environment, else default;
 * *origin says which. The pointer borrows like struct cfg's. */
const char *cfg_lookup(const struct cfg_src *src, enum cfg_id id, enum cfg_origin *origin);
/* Check one value against its key's type. Returns 0 or -1 with why. */
int         cfg_check(enum cfg_id id, const char *value, char *why, size_t whylen);
const char *cfg_origin_name(enum cfg_origin o);

#endif
