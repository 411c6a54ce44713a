/* SPDX-License-Identifier: ISC */
/* ses-feedback - where a signing key comes from.
 * Memory first (a parsed key, no I/O), then the disk cache shared by the
 * workers, then the SNS host. A certificate read from disk is checked as
 * if it had just been fetched: the directory is trusted only to be ours. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "buf.h"
#include "cert.h"
#include "certcache.h"
#include "log.h"

/* A slot is found by its key: the URL and the trust context it was
 * fetched under (CA file, CONNECT_TO), so that a certificate fetched under
 * one location's settings is never trusted under another's. */
struct cert_slot {
	char     *key_id;    /* owned; NULL when free */
	EVP_PKEY *key;       /* owned */
	size_t    bytes;     /* PEM size, counted against CERTCACHE_MEM_MAX_BYTES */
	time_t    not_after; /* drop the slot after this */
	unsigned  used;      /* clock for LRU replacement */
};

struct certcache {
	struct cert_slot slot[CERTCACHE_MEM_SLOTS];
	size_t           bytes; /* sum of the slots' bytes */
	unsigned         clock;
};

static EVP_PKEY *cache_lookup(struct certcache *c, const char *key_id, time_t now);
static int       disk_lookup(const char *path, const struct cert_fetch *req, struct buf *body,
          EVP_PKEY **pk, time_t *not_after);
static enum certcache_status fetch(struct http *h, const struct cert_fetch *req, struct buf *body,
    EVP_PKEY **pk, time_t *not_after, char *why, size_t whylen);
static char                 *cache_key(const char *url, const struct http_opts *o);
static int  cache_path(const char *dir, const char *key_id, char *path, size_t pathlen);
static int  disk_read(const char *path, struct buf *out);
static void disk_write(const char *dir, const char *path, const char *pem, size_t len);
static void disk_evict(const char *dir);
static void mem_put(
    struct certcache *c, const char *key_id, EVP_PKEY *key, size_t bytes, time_t not_after);
static void slot_clear(struct certcache *c, struct cert_slot *s);

const char *
certcache_source_name(enum certcache_source s)
{
	switch (s) {
	case CERTCACHE_FROM_MEMORY:
		return "memory";
	case CERTCACHE_FROM_DISK:
		return "disk";
	default:
		return "network";
	}
}

struct certcache *
certcache_new(void)
{
	return calloc(1, sizeof(struct certcache));
}

void
certcache_free(struct certcache *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < CERTCACHE_MEM_SLOTS; i++)
		slot_clear(c, &c->slot[i]);
	free(c);
}

enum certcache_status
certcache_get(struct certcache *c, struct http *h, const struct cert_fetch *req, EVP_PKEY **key,
    enum certcache_source *from, char *why, size_t whylen)
{
	struct buf            body;
	char                  path[4096];
	char                 *key_id = NULL;
	EVP_PKEY             *pk = NULL;
	time_t                not_after = 0;
	int                   have_path = 0;
	enum certcache_status ret = CERTCACHE_UNAVAILABLE;

	*key = NULL;
	buf_init(&body, CERT_MAX_PEM);
	key_id = cache_key(req->url, req->http);
	if (key_id == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	*key = cache_lookup(c, key_id, req->now);
	if (*key != NULL) {
		*from = CERTCACHE_FROM_MEMORY;
		ret = CERTCACHE_OK;
		goto out;
	}
	if (req->dir != NULL && certcache_dir_ok(req->dir) &&
	    cache_path(req->dir, key_id, path, sizeof(path)) == 0)
		have_path = 1;
	if (have_path && disk_lookup(path, req, &body, &pk, &not_after) == 0) {
		*from = CERTCACHE_FROM_DISK;
	} else {
		ret = fetch(h, req, &body, &pk, &not_after, why, whylen);
		if (ret != CERTCACHE_OK)
			goto out;
		*from = CERTCACHE_FROM_NETWORK;
		if (have_path) {
			disk_write(req->dir, path, body.data, body.len);
			disk_evict(req->dir);
		}
	}
	mem_put(c, key_id, pk, body.len, not_after); /* takes pk */
	*key = pk;
	ret = CERTCACHE_OK;
out:
	free(key_id);
	buf_free(&body);
	return ret;
}

int
certcache_dir_ok(const char *dir)
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

/* The key cached in memory under key_id, or NULL. An expired slot is
 * freed on the way. */
static EVP_PKEY *
cache_lookup(struct certcache *c, const char *key_id, time_t now)
{
	struct cert_slot *s;
	int               i;

	for (i = 0; i < CERTCACHE_MEM_SLOTS; i++) {
		s = &c->slot[i];
		if (s->key_id == NULL || strcmp(s->key_id, key_id) != 0)
			continue;
		if (s->not_after <= now) {
			slot_clear(c, s);
			continue;
		}
		s->used = ++c->clock;
		return s->key;
	}
	return NULL;
}

/* The certificate at path, when it is there and still passes
 * cert_check_pem(); an expired or damaged one is removed, to be fetched
 * afresh. 0 with *pk (owned by the caller) and its PEM in body, or -1 with
 * body empty. */
static int
disk_lookup(const char *path, const struct cert_fetch *req, struct buf *body, EVP_PKEY **pk,
    time_t *not_after)
{
	char err[256];

	if (disk_read(path, body) == 0) {
		if (cert_check_pem(body->data, body->len, req->arn, req->now, pk, not_after, err,
		        sizeof(err)) == 0)
			return 0;
		log_info("dropping cached certificate %s: %s", path, err);
		unlink(path);
	}
	buf_free(body);
	buf_init(body, CERT_MAX_PEM);
	return -1;
}

/* GET req->url into body and check it. CERTCACHE_OK with *pk owned by the
 * caller; otherwise why, and CERTCACHE_UNAVAILABLE when SNS may do better
 * later (no answer, 5xx, 429). */
static enum certcache_status
fetch(struct http *h, const struct cert_fetch *req, struct buf *body, EVP_PKEY **pk,
    time_t *not_after, char *why, size_t whylen)
{
	struct http_opts ho = *req->http;
	char             err[256];
	long             status = 0;

	ho.max_body = CERT_MAX_PEM;
	switch (http_get(h, req->url, &ho, body, &status, err, sizeof(err))) {
	case 0:
		break;
	case HTTP_TOO_LARGE:
		/* The SNS host answered; what it sent is no certificate. */
		snprintf(why, whylen, "signing certificate rejected: %s", err);
		return CERTCACHE_REJECT;
	default:
		snprintf(why, whylen, "certificate fetch failed: %s", err);
		return CERTCACHE_UNAVAILABLE;
	}
	if (status != 200) {
		snprintf(why, whylen, "certificate fetch answered HTTP %ld", status);
		return status >= 500 || status == 429 ? CERTCACHE_UNAVAILABLE : CERTCACHE_REJECT;
	}
	if (cert_check_pem(body->data ? body->data : "", body->len, req->arn, req->now, pk,
	        not_after, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "signing certificate rejected: %s", err);
		return CERTCACHE_REJECT;
	}
	return CERTCACHE_OK;
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
mem_put(struct certcache *c, const char *key_id, EVP_PKEY *key, size_t bytes, time_t not_after)
{
	struct cert_slot *victim;
	struct cert_slot *free_slot, *lru;
	int               i;

	for (;;) {
		free_slot = NULL;
		lru = NULL;
		for (i = 0; i < CERTCACHE_MEM_SLOTS; i++) {
			if (c->slot[i].key == NULL) {
				if (free_slot == NULL)
					free_slot = &c->slot[i];
			} else if (lru == NULL || c->slot[i].used < lru->used) {
				lru = &c->slot[i];
			}
		}
		if ((free_slot != NULL && c->bytes + bytes <= CERTCACHE_MEM_MAX_BYTES) ||
		    lru == NULL)
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

static void
slot_clear(struct certcache *c, struct cert_slot *s)
{
	c->bytes -= s->bytes;
	free(s->key_id);
	EVP_PKEY_free(s->key);
	memset(s, 0, sizeof(*s));
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

/* Keep the directory within CERTCACHE_DISK_MAX_FILES certificates and
 * CERTCACHE_DISK_MAX_BYTES, removing the least recently written first. SNS uses
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
		if (files <= CERTCACHE_DISK_MAX_FILES && bytes <= CERTCACHE_DISK_MAX_BYTES)
			return;
		if (oldest[0] == '\0' || unlink(oldest) == -1)
			return;
		log_info("certificate cache %s full (%zu files, %zu bytes): removed %s", dir, files,
		    bytes, oldest);
	}
}
