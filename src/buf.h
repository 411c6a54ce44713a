/* SPDX-License-Identifier: ISC */
/* ses-feedback - bounded byte buffers.
 * Every buffer has a hard cap set when it is made (after curl's dynbuf).
 * On failure the buffer is freed by the callee, so a caller never has to
 * clean up after a failed append. */
#ifndef SF_BUF_H
#define SF_BUF_H

#include <stddef.h>

struct buf {
	char  *data; /* owned; NUL-terminated when not NULL */
	size_t len;  /* bytes used, not counting the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns 0, or -1 (buffer freed) when over max or out
 * of memory. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the data to the caller (who frees it) and reset the buffer; *len
 * (unless len is NULL, for a caller that only wants the string) gets its
 * length in the same call, as curl's Curl_dyn_take does. May return NULL
 * for an empty buffer, with *len 0. */
char *buf_take(struct buf *b, size_t *len);
void  buf_free(struct buf *b);

#endif
