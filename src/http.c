/* SPDX-License-Identifier: ISC */
/* ses-feedback - outgoing HTTPS (libcurl). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "deadline.h"
#include "http.h"

struct http {
	CURL           *curl;     /* owned, reused across requests */
	struct timespec deadline; /* CLOCK_MONOTONIC; tv_sec 0: none */
};

struct sink {
	struct buf *body;    /* where the answer goes */
	int         overrun; /* set when the cap was hit */
};

static size_t write_cb(char *p, size_t size, size_t n, void *ctx);

struct http *
http_new(void)
{
	struct http *h;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

void
http_set_deadline(struct http *h, long ms)
{
	deadline_set(&h->deadline, ms);
}

int
http_get(struct http *h, const char *url, const struct http_opts *o, struct buf *body, long *status,
    char *why, size_t whylen)
{
	struct curl_slist *connect_to = NULL, *n;
	struct sink        sink = { body, 0 };
	char               errbuf[CURL_ERROR_SIZE] = "";
	char              *list = NULL, *tok, *save = NULL;
	CURLcode           rc;
	long               total = deadline_left_ms(&h->deadline, HTTP_TOTAL_TIMEOUT_MS);
	int                ret = -1;

	*status = 0;
	if (total <= 0) {
		snprintf(why, whylen, "no time left for HTTPS in this request");
		return -1;
	}
	if (o->connect_to != NULL) {
		list = strdup(o->connect_to);
		if (list == NULL) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		for (tok = strtok_r(list, " \t,", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t,", &save)) {
			n = curl_slist_append(connect_to, tok);
			if (n == NULL) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			connect_to = n;
		}
	}
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, total);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	/* A proxy from the environment would be an unreviewed egress path. */
	curl_easy_setopt(h->curl, CURLOPT_PROXY, "");
	if (o->ca_file != NULL)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, o->ca_file);
	if (connect_to != NULL)
		curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO, connect_to);

	rc = curl_easy_perform(h->curl);
	if (sink.overrun || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, whylen, "answer larger than %zu bytes", o->max_body);
		ret = HTTP_TOO_LARGE;
		goto out;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	ret = 0;
out:
	/* The handle must not keep pointers into memory freed below. */
	curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO, NULL);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
	curl_slist_free_all(connect_to);
	free(list);
	return ret;
}

static size_t
write_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;

	if (buf_add(s->body, p, size * n) == -1) {
		s->overrun = 1;
		return 0;
	}
	return size * n;
}
