/* SPDX-License-Identifier: ISC */
/* ses-feedback - signing certificates.
 * The URL rules are exact string comparisons against the one host SNS
 * uses for the topic's region: no URL parser to disagree with, and every
 * trick (userinfo, ports, case, look-alike hosts, encoded bytes) fails. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <dirent.h>

#include "cert.h"
#include "log.h"
#include "policy.h"

/* A slot is found by its key: the URL and the trust context it was
 * fetched under (CA file, CONNECT_TO), so that a certificate fetched under
 * one location's settings is never trusted under another's. */
struct cert_slot {
	char     *key_id;    /* owned; NULL when free */
	EVP_PKEY *key;       /* owned */
	size_t    bytes;     /* PEM size, counted against CERT_MEM_MAX_BYTES */
	time_t    not_after; /* drop the slot after this */
	unsigned  used;      /* clock for LRU replacement */
};

struct cert_cache {
	struct cert_slot slot[CERT_MEM_SLOTS];
	size_t           bytes; /* sum of the slots' bytes */
	unsigned         clock;
};

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static int   query_param(const char *q, const char *name, char *out, size_t outlen, int *count);
static int   cache_path(const char *dir, const char *key_id, char *path, size_t pathlen);
static char *cache_key(const char *url, const struct http_opts *o);
static int   dir_safe(const char *dir);
static int   disk_read(const char *path, struct buf *out);
static void  disk_write(const char *dir, const char *path, const char *pem, size_t len);
static void  disk_evict(const char *dir);
static void  mem_put(
     struct cert_cache *c, const char *key_id, EVP_PKEY *key, size_t bytes, time_t not_after);
static void slot_clear(struct cert_cache *c, struct cert_slot *s);

const char *
cert_source_name(enum cert_source s)
{
	switch (s) {
	case CERT_FROM_MEMORY:
		return "memory";
	case CERT_FROM_DISK:
		return "disk";
	default:
		return "network";
	}
}

/* Expect "https://HOST" at the start of url; return what follows. */
static const char *
after_host(const char *url, const struct sns_arn *arn, char *why, size_t whylen)
{
	char   host[96];
	size_t hl;

	if (strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "URL is not https://");
		return NULL;
	}
	if (policy_region_ok(arn, why, whylen) == -1)
		return NULL;
	if (sns_host_for(arn, host, sizeof(host)) == -1) {
		snprintf(why, whylen, "no SNS host for the topic's region");
		return NULL;
	}
	hl = strlen(host);
	url += 8;
	if (strncmp(url, host, hl) != 0 || url[hl] != '/') {
		snprintf(why, whylen, "URL host is not %s", host);
		return NULL;
	}
	return url + hl;
}

int
cert_url_check(const char *url, const struct sns_arn *arn, char *why, size_t whylen)
{
	static const char prefix[] = "/SimpleNotificationService-";
	const char       *p;
	size_t            hex;

	p = after_host(url, arn, why, whylen);
	if (p == NULL)
		return -1;
	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0) {
		snprintf(why, whylen, "certificate path is not /SimpleNotificationService-*.pem");
		return -1;
	}
	p += sizeof(prefix) - 1;
	hex = strspn(p, "0123456789abcdefABCDEF");
	if (hex == 0 || hex > 128 || strcmp(p + hex, ".pem") != 0) {
		snprintf(
		    why, whylen, "certificate path is not /SimpleNotificationService-<hex>.pem");
		return -1;
	}
	return 0;
}

int
cert_subscribe_url_check(const struct sns_msg *m, char *why, size_t whylen)
{
	char        val[2048];
	const char *p;
	int         n;

	p = after_host(m->subscribe_url, &m->arn, why, whylen);
	if (p == NULL)
		return -1;
	if (p[0] != '/' || p[1] != '?') {
		snprintf(why, whylen, "SubscribeURL path is not /?");
		return -1;
	}
	p += 2;
	if (strpbrk(p, "#@ \\") != NULL) {
		snprintf(why, whylen, "SubscribeURL has a forbidden character");
		return -1;
	}
	if (query_param(p, "Action", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, "ConfirmSubscription") != 0) {
		snprintf(why, whylen, "SubscribeURL Action is not ConfirmSubscription");
		return -1;
	}
	if (query_param(p, "TopicArn", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, m->topic_arn) != 0) {
		snprintf(why, whylen, "SubscribeURL TopicArn differs from the message's");
		return -1;
	}
	if (query_param(p, "Token", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, m->token) != 0) {
		snprintf(why, whylen, "SubscribeURL Token differs from the message's");
		return -1;
	}
	/* Nothing else may ride along. */
	for (n = 0; *p != '\0'; n++) {
		p += strcspn(p, "&");
		if (*p == '&')
			p++;
	}
	if (n != 3) {
		snprintf(why, whylen, "SubscribeURL has unexpected parameters");
		return -1;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Find name=value in a query string and percent-decode the value. count
 * says how often name occurs. -1 on bad encoding or overflow. */
static int
query_param(const char *q, const char *name, char *out, size_t outlen, int *count)
{
	size_t      nl = strlen(name), o;
	const char *p = q, *e;
	int         hi, lo;

	*count = 0;
	out[0] = '\0';
	while (*p != '\0') {
		e = p + strcspn(p, "&");
		if ((size_t)(e - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			(*count)++;
			o = 0;
			for (p += nl + 1; p < e; p++) {
				if (o + 1 >= outlen)
					return -1;
				if (*p == '%') {
					if (e - p < 3 || (hi = hexval(p[1])) < 0 ||
					    (lo = hexval(p[2])) < 0 || (hi == 0 && lo == 0))
						return -1;
					out[o++] = (char)(hi * 16 + lo);
					p += 2;
				} else {
					out[o++] = *p;
				}
			}
			out[o] = '\0';
		}
		p = *e == '&' ? e + 1 : e;
	}
	return 0;
}

/* Does x carry one of the names AWS gives this region's signing
 * certificates? */
static int
name_ok(X509 *x, const struct sns_arn *arn)
{
	char names[POLICY_MAX_NAMES][POLICY_NAME_LEN];
	int  i, n;

	n = policy_cert_names(arn, names);
	for (i = 0; i < n; i++) {
		if (X509_check_host(x, names[i], 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) ==
		    1)
			return 1;
	}
	return 0;
}

int
cert_check_pem(const char *pem, size_t len, const struct sns_arn *arn, time_t now, EVP_PKEY **key,
    time_t *not_after, char *why, size_t whylen)
{
	char        copy[CERT_MAX_PEM + 1];
	BIO        *bio = NULL;
	X509       *x = NULL;
	EVP_PKEY   *pk = NULL;
	const char *b, *e, *p;
	struct tm   tm;
	int         ret = -1;

	*key = NULL;
	if (len > CERT_MAX_PEM || memchr(pem, '\0', len) != NULL) {
		snprintf(why, whylen, "certificate too large or binary");
		goto out;
	}
	/* Work on a NUL-terminated copy: nothing past len is ever read. */
	memcpy(copy, pem, len);
	copy[len] = '\0';
	pem = copy;
	/* Exactly one PEM block and nothing around it but white space. */
	for (p = pem; p < pem + len && strchr(" \t\r\n", *p) != NULL; p++)
		;
	b = strstr(pem, pem_begin);
	if (b == NULL || b != p || strstr(b + 1, pem_begin) != NULL ||
	    strstr(pem, "-----BEGIN") != b) {
		snprintf(why, whylen, "not exactly one PEM certificate");
		goto out;
	}
	e = strstr(b, pem_end);
	if (e == NULL || strstr(e + 1, "-----") != e + sizeof(pem_end) - 6) {
		snprintf(why, whylen, "not exactly one PEM certificate");
		goto out;
	}
	for (p = e + sizeof(pem_end) - 1; p < pem + len; p++) {
		if (strchr(" \t\r\n", *p) == NULL) {
			snprintf(why, whylen, "data after the PEM certificate");
			goto out;
		}
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL || (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(why, whylen, "certificate does not parse");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(x), &now) >= 0) {
		snprintf(why, whylen, "certificate not yet valid");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
		snprintf(why, whylen, "certificate expired");
		goto out;
	}
	if (!name_ok(x, arn)) {
		snprintf(why, whylen, "certificate is not issued to the SNS service");
		goto out;
	}
	pk = X509_get_pubkey(x);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pk) < 2048) {
		snprintf(why, whylen, "certificate key is not RSA of 2048 bits or more");
		goto out;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		snprintf(why, whylen, "certificate expiry unreadable");
		goto out;
	}
	*not_after = timegm(&tm);
	*key = pk;
	pk = NULL;
	ret = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(bio);
	return ret;
}

struct cert_cache *
cert_cache_new(void)
{
	return calloc(1, sizeof(struct cert_cache));
}

static void
slot_clear(struct cert_cache *c, struct cert_slot *s)
{
	c->bytes -= s->bytes;
	free(s->key_id);
	EVP_PKEY_free(s->key);
	memset(s, 0, sizeof(*s));
}

void
cert_cache_free(struct cert_cache *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CERT_MEM_SLOTS; i++)
		slot_clear(c, &c->slot[i]);
	free(c);
}

enum cert_status
cert_get(struct cert_cache *c, struct http *h, const struct http_opts *o, const char *dir,
    const char *url, const struct sns_arn *arn, time_t now, EVP_PKEY **key, enum cert_source *from,
    char *why, size_t whylen)
{
	struct buf       body;
	struct http_opts ho = *o;
	char             path[4096];
	char             err[256];
	char            *key_id = NULL;
	EVP_PKEY        *pk = NULL;
	time_t           not_after = 0;
	long             status = 0;
	int              i, have_path = 0;
	enum cert_status ret = CERT_REJECT;

	*key = NULL;
	buf_init(&body, CERT_MAX_PEM);
	key_id = cache_key(url, o);
	if (key_id == NULL) {
		snprintf(why, whylen, "out of memory");
		ret = CERT_UNAVAILABLE;
		goto out;
	}
	for (i = 0; i < CERT_MEM_SLOTS; i++) {
		struct cert_slot *s = &c->slot[i];

		if (s->key_id == NULL || strcmp(s->key_id, key_id) != 0)
			continue;
		if (s->not_after <= now) {
			slot_clear(c, s);
			continue;
		}
		s->used = ++c->clock;
		*key = s->key;
		*from = CERT_FROM_MEMORY;
		ret = CERT_OK;
		goto out;
	}
	if (dir != NULL && dir_safe(dir) && cache_path(dir, key_id, path, sizeof(path)) == 0) {
		have_path = 1;
		if (disk_read(path, &body) == 0) {
			if (cert_check_pem(body.data, body.len, arn, now, &pk, &not_after, err,
			        sizeof(err)) == 0) {
				*from = CERT_FROM_DISK;
				goto found;
			}
			/* Expired or damaged: drop it and fetch afresh. */
			log_info("dropping cached certificate %s: %s", path, err);
			unlink(path);
		}
		buf_free(&body);
		buf_init(&body, CERT_MAX_PEM);
	}
	ho.max_body = CERT_MAX_PEM;
	switch (http_get(h, url, &ho, &body, &status, err, sizeof(err))) {
	case 0:
		break;
	case HTTP_TOO_LARGE:
		/* The SNS host answered; what it sent is no certificate. */
		snprintf(why, whylen, "signing certificate rejected: %s", err);
		ret = CERT_REJECT;
		goto out;
	default:
		snprintf(why, whylen, "certificate fetch failed: %s", err);
		ret = CERT_UNAVAILABLE;
		goto out;
	}
	if (status != 200) {
		snprintf(why, whylen, "certificate fetch answered HTTP %ld", status);
		ret = status >= 500 || status == 429 ? CERT_UNAVAILABLE : CERT_REJECT;
		goto out;
	}
	if (cert_check_pem(body.data ? body.data : "", body.len, arn, now, &pk, &not_after, err,
	        sizeof(err)) == -1) {
		snprintf(why, whylen, "signing certificate rejected: %s", err);
		goto out;
	}
	*from = CERT_FROM_NETWORK;
	if (have_path) {
		disk_write(dir, path, body.data, body.len);
		disk_evict(dir);
	}
found:
	mem_put(c, key_id, pk, body.len, not_after);
	*key = pk;
	pk = NULL;
	ret = CERT_OK;
out:
	EVP_PKEY_free(pk);
	free(key_id);
	buf_free(&body);
	return ret;
}

/* URL, CA file and CONNECT_TO, each on a line of its own: none of them
 * can hold a newline that makes two contexts look alike (the URL policy
 * refuses control characters, and the settings come from the operator). */
static char *
cache_key(const char *url, const struct http_opts *o)
{
	const char *ca = o->ca_file != NULL ? o->ca_file : "";
	const char *ct = o->connect_to != NULL ? o->connect_to : "";
	size_t      n = strlen(url) + strlen(ca) + strlen(ct) + 3;
	char       *k = malloc(n);

	if (k != NULL)
		snprintf(k, n, "%s\n%s\n%s", url, ca, ct);
	return k;
}

/* Takes key. The least recently used slots make room, by count and by
 * bytes. */
static void
mem_put(struct cert_cache *c, const char *key_id, EVP_PKEY *key, size_t bytes, time_t not_after)
{
	struct cert_slot *victim;
	struct cert_slot *free_slot, *lru;
	int               i;

	for (;;) {
		free_slot = NULL;
		lru = NULL;
		for (i = 0; i < CERT_MEM_SLOTS; i++) {
			if (c->slot[i].key == NULL) {
				if (free_slot == NULL)
					free_slot = &c->slot[i];
			} else if (lru == NULL || c->slot[i].used < lru->used) {
				lru = &c->slot[i];
			}
		}
		if ((free_slot != NULL && c->bytes + bytes <= CERT_MEM_MAX_BYTES) || lru == NULL)
			break;
		slot_clear(c, lru);
	}
	victim = free_slot != NULL ? free_slot : &c->slot[0];
	/* Should strdup fail, the slot owns the key without an id: it serves
	 * this request and is reused (and the key freed) by the next put. */
	victim->key_id = strdup(key_id);
	victim->key = key;
	victim->bytes = bytes;
	victim->not_after = not_after;
	victim->used = ++c->clock;
	c->bytes += bytes;
}

/* The cache decides which keys are trusted, so only a directory that is
 * ours and that no one else can write to is used. A missing one is made
 * (mode 0700). Anything else: memory only, and a warning. */
int
cert_cache_dir_ok(const char *dir)
{
	return dir_safe(dir);
}

static int
dir_safe(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0700) == -1 || lstat(dir, &st) == -1) {
			log_warn("certificate cache %s unusable; caching in memory only", dir);
			return 0;
		}
		log_info("created certificate cache %s", dir);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		log_warnx("certificate cache %s must be a directory owned by uid %ld and writable "
		          "by no one else; caching in memory only",
		    dir, (long)geteuid());
		return 0;
	}
	return 1;
}

/* DIR/<sha256 of the cache key>.pem: a fixed-length name that no URL can
 * steer. */
static int
cache_path(const char *dir, const char *key_id, char *path, size_t pathlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char          hex[SHA256_DIGEST_LENGTH * 2 + 1];
	int           i, n;

	SHA256((const unsigned char *)key_id, strlen(key_id), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	n = snprintf(path, pathlen, "%s/%s.pem", dir, hex);
	return (n < 0 || (size_t)n >= pathlen) ? -1 : 0;
}

static int
disk_read(const char *path, struct buf *out)
{
	struct stat st;
	char        tmp[4096];
	ssize_t     n;
	int         fd, ret = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("certificate cache %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > CERT_MAX_PEM)
		goto out;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (buf_add(out, tmp, (size_t)n) == -1)
			goto out;
	}
	if (n == 0 && out->data != NULL)
		ret = 0;
out:
	close(fd);
	return ret;
}

/* Write to a temporary file and rename it into place, so that other
 * workers see either nothing or the whole certificate. */
static void
disk_write(const char *dir, const char *path, const char *pem, size_t len)
{
	char    tmp[4096];
	int     fd, n;
	ssize_t w;

	n = snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	fd = mkstemp(tmp);
	if (fd == -1) {
		log_warn("certificate cache %s: cannot write", dir);
		return;
	}
	w = write(fd, pem, len);
	if (w != (ssize_t)len || fchmod(fd, 0644) == -1 || fsync(fd) == -1) {
		log_warn("certificate cache %s: write failed", tmp);
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("certificate cache %s: rename failed", path);
		unlink(tmp);
	}
}

/* Keep the directory within CERT_DISK_MAX_FILES certificates and
 * CERT_DISK_MAX_BYTES, removing the least recently written first. SNS uses
 * a handful of certificates, so the scan is short. */
static void
disk_evict(const char *dir)
{
	char           path[4096], oldest[4096];
	DIR           *d;
	struct dirent *e;
	struct stat    st;
	time_t         omt;
	size_t         files, bytes;
	int            n;

	for (;;) {
		d = opendir(dir);
		if (d == NULL)
			return;
		files = 0;
		bytes = 0;
		omt = 0;
		oldest[0] = '\0';
		while ((e = readdir(d)) != NULL) {
			n = (int)strlen(e->d_name);
			if (n != SHA256_DIGEST_LENGTH * 2 + 4 ||
			    strcmp(e->d_name + n - 4, ".pem") != 0)
				continue;
			n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) == -1 ||
			    !S_ISREG(st.st_mode))
				continue;
			files++;
			bytes += (size_t)st.st_size;
			if (oldest[0] == '\0' || st.st_mtime < omt) {
				omt = st.st_mtime;
				memcpy(oldest, path, (size_t)n + 1);
			}
		}
		closedir(d);
		if (files <= CERT_DISK_MAX_FILES && bytes <= CERT_DISK_MAX_BYTES)
			return;
		if (oldest[0] == '\0' || unlink(oldest) == -1)
			return;
		log_info("certificate cache %s full (%zu files, %zu bytes): removed %s", dir, files,
		    bytes, oldest);
	}
}
