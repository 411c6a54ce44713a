/* SPDX-License-Identifier: ISC */
/* ses-feedback - configuration.
 * One table of keys drives parsing, validation, check-config and the man
 * page. Each key is looked up in the request's FastCGI parameters, then
 * the process environment, then the built-in default. */
#ifndef SF_CFG_H
#define SF_CFG_H

#include <stddef.h>

#include "log.h"
#include "verify.h"

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

/* How a value is checked and where it is stored (struct cfg_def.offset). */
enum cfg_type {
	CFG_T_STRING, /* const char *, as found (CFG_EMPTY_NULL: "" is NULL) */
	CFG_T_LIST,   /* const char *, words split by space, comma, tab, newline */
	CFG_T_LONG,   /* long, decimal digits only, from min to max */
	CFG_T_SIZE,   /* size_t, decimal digits only, from min to max */
	CFG_T_WORD    /* int (or an enum), one of map's words */
};

/* Scope: where a key may come from. */
#define CFG_REQUEST    0x01 /* a FastCGI parameter may set it, per request */
#define CFG_STARTUP    0x02 /* read from the environment when the program starts */
#define CFG_EMPTY_NULL 0x04 /* CFG_T_STRING: an empty value is stored as NULL */

/* What a location answers to GET: health on the SNS location, metrics or
 * the status page only where the operator's web server configuration says
 * so. */
enum cfg_endpoint { CFG_ENDPOINT_SNS, CFG_ENDPOINT_METRICS, CFG_ENDPOINT_STATUS };

/* Where log lines go (SES_FEEDBACK_LOG). */
enum cfg_log { CFG_LOG_STDERR, CFG_LOG_SYSLOG };

/* One allowed word of a CFG_T_WORD key and the number stored for it. A map
 * ends with a NULL word. */
struct cfg_word {
	const char *word;
	int         value;
};

/* One row per key, alphabetical: adding a key is a row here, its field in
 * struct cfg, and its entry in the man page. */
struct cfg_def {
	const char            *name;   /* SES_FEEDBACK_... */
	enum cfg_type          type;   /* how the value is checked and stored */
	int                    flags;  /* CFG_REQUEST, CFG_STARTUP, CFG_EMPTY_NULL */
	size_t                 offset; /* offsetof(struct cfg, field) */
	long long              min;    /* CFG_T_LONG, CFG_T_SIZE: least allowed */
	long long              max;    /* ... and largest */
	const struct cfg_word *map;    /* CFG_T_WORD: the allowed words */
	const char            *what;   /* numbers and lists: named in errors */
	const char            *def;    /* built-in default */
	const char            *help;   /* one line for check-config and --help */
};

extern const struct cfg_def cfg_table[CFG__COUNT];

/* Where request parameters come from. param returns NULL when the key is
 * absent; the pointer must stay valid for the request. */
struct cfg_src {
	const char *(*param)(void *ctx, const char *name);
	void *ctx;
};

enum cfg_origin { CFG_FROM_PARAM, CFG_FROM_ENV, CFG_FROM_DEFAULT };

/* The effective configuration of one request (or, from cfg_load_startup,
 * of the process). String pointers borrow from the source, the
 * environment or the table; valid while the request is. */
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
	enum cfg_log      log;                /* where log lines go */
	const char       *metrics_file;       /* NULL = no shared metrics file */
};

/* Resolve every key. src may be NULL (environment only). Returns 0, or -1
 * with why naming the key and what is wrong with it. */
int cfg_load(struct cfg *c, const struct cfg_src *src, char *why, size_t whylen);
/* Resolve and check the CFG_STARTUP keys from the environment, the way
 * cfg_load() does; every other field gets its default. For the program's
 * start: a bad value there is fatal, not a request's 500. Returns 0 or -1
 * with why. */
int cfg_load_startup(struct cfg *c, char *why, size_t whylen);
/* One key's value: request parameter (CFG_REQUEST keys only), else
 * environment, else default; *origin says which. The pointer borrows like
 * struct cfg's. */
const char *cfg_lookup(const struct cfg_src *src, enum cfg_id id, enum cfg_origin *origin);
/* Check one value against its key's type. Returns 0 or -1 with why. */
int         cfg_check(enum cfg_id id, const char *value, char *why, size_t whylen);
const char *cfg_origin_name(enum cfg_origin o);
/* "request", "startup" or "startup, request": where a key may come from. */
const char *cfg_scope_name(int flags);
/* What verify_message() judges a message by at time now: c's allow-list,
 * versions, replay window, certificate cache and HTTPS trust. The strings
 * borrow from c. */
void cfg_verify_opts(const struct cfg *c, time_t now, struct verify_opts *o);

#endif
