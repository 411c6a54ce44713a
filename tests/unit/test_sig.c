/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for SNS signatures (src/sig.c).
 * Signatures are made at test time with keys generated at test time:
 * SHA1withRSA for SignatureVersion 1, SHA256withRSA for 2. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bounds.h"
#include "buf.h"
#include "sig.h"
#include "sns.h"
#include "fixtures.h"
#include "testkeys.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char data[] = FIXTURE_STS_NOTIFICATION;

struct keys {
	EVP_PKEY *a;   /* RSA 2048: the signer */
	EVP_PKEY *b;   /* RSA 2048: somebody else */
	EVP_PKEY *big; /* RSA 4096 */
	EVP_PKEY *ec;  /* not RSA at all */
};

static int
group_setup(void **state)
{
	struct keys *k;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -1;
	k->a = testkeys_rsa(2048);
	k->b = testkeys_rsa(2048);
	k->big = testkeys_rsa(4096);
	k->ec = testkeys_ec();
	*state = k;
	return k->a != NULL && k->b != NULL && k->big != NULL && k->ec != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	struct keys *k = *state;

	if (k != NULL) {
		EVP_PKEY_free(k->a);
		EVP_PKEY_free(k->b);
		EVP_PKEY_free(k->big);
		EVP_PKEY_free(k->ec);
		free(k);
	}
	return 0;
}

/* Base64 of key's signature of d under version (1 SHA1, 2 SHA256). The
 * caller frees it. */
static char *
sign_b64(EVP_PKEY *key, int version, const void *d, size_t len)
{
	EVP_MD_CTX    *md;
	unsigned char *sig;
	char          *b64;
	size_t         slen = 0;

	md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(
	    EVP_DigestSignInit(md, NULL, version == 1 ? EVP_sha1() : EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, &slen, d, len), 1);
	sig = malloc(slen);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(md, sig, &slen, d, len), 1);
	b64 = malloc((slen + 2) / 3 * 4 + 1);
	assert_non_null(b64);
	assert_int_equal(
	    EVP_EncodeBlock((unsigned char *)b64, sig, (int)slen), (int)((slen + 2) / 3 * 4));
	free(sig);
	EVP_MD_CTX_free(md);
	return b64;
}

/* Base64 of n bytes of whatever. The caller frees it. */
static char *
b64_of(const unsigned char *p, size_t n)
{
	char *b64 = malloc((n + 2) / 3 * 4 + 1);

	assert_non_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, p, (int)n);
	return b64;
}

static int
verify(EVP_PKEY *key, int version, const char *d, size_t len, const char *sig, char *why,
    size_t whylen)
{
	why[0] = '\0';
	return sig_verify(key, version, d, len, sig, why, whylen);
}

static void
test_verify_v1_v2(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s1, *s2;

	s1 = sign_b64(k->a, 1, data, strlen(data));
	s2 = sign_b64(k->a, 2, data, strlen(data));
	assert_int_equal(strlen(s1), 344);
	assert_int_equal(verify(k->a, 1, data, strlen(data), s1, why, sizeof(why)), 0);
	assert_int_equal(verify(k->a, 2, data, strlen(data), s2, why, sizeof(why)), 0);
	/* each is tied to its version */
	assert_int_equal(verify(k->a, 2, data, strlen(data), s1, why, sizeof(why)), -1);
	assert_string_equal(why, "signature does not verify");
	assert_int_equal(verify(k->a, 1, data, strlen(data), s2, why, sizeof(why)), -1);
	assert_string_equal(why, "signature does not verify");
	/* the verifier leaves no OpenSSL errors behind */
	assert_int_equal(ERR_peek_error(), 0);
	free(s1);
	free(s2);
}

static void
test_verify_bigger_key_and_empty_data(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s;

	s = sign_b64(k->big, 2, data, strlen(data));
	assert_int_equal(strlen(s), 684);
	assert_int_equal(verify(k->big, 2, data, strlen(data), s, why, sizeof(why)), 0);
	assert_int_equal(verify(k->a, 2, data, strlen(data), s, why, sizeof(why)), -1);
	free(s);
	s = sign_b64(k->a, 2, "", 0);
	assert_int_equal(verify(k->a, 2, "", 0, s, why, sizeof(why)), 0);
	assert_int_equal(verify(k->a, 2, "\n", 1, s, why, sizeof(why)), -1);
	free(s);
}

/* Only len bytes are signed: data with a NUL or without one at len. */
static void
test_verify_uses_len(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s;

	s = sign_b64(k->a, 2, "abc\0def", 7);
	assert_int_equal(verify(k->a, 2, "abc\0def", 7, s, why, sizeof(why)), 0);
	assert_int_equal(verify(k->a, 2, "abc", 3, s, why, sizeof(why)), -1);
	free(s);
	s = sign_b64(k->a, 1, data, 10);
	assert_int_equal(verify(k->a, 1, data, 10, s, why, sizeof(why)), 0);
	assert_int_equal(verify(k->a, 1, data, 11, s, why, sizeof(why)), -1);
	free(s);
}

static void
test_verify_changed_data(void **state)
{
	struct keys        *k = *state;
	char                why[256];
	char               *s, *d;
	size_t              n = strlen(data), i;
	static const size_t where[] = { 0, 8, 50, 0 };

	d = strdup(data);
	assert_non_null(d);
	s = sign_b64(k->a, 2, data, n);
	for (i = 0; i < NITEMS(where); i++) {
		size_t at = i == NITEMS(where) - 1 ? n - 1 : where[i];

		d[at] ^= 0x01;
		assert_int_equal(verify(k->a, 2, d, n, s, why, sizeof(why)), -1);
		assert_string_equal(why, "signature does not verify");
		d[at] ^= 0x01;
	}
	/* one byte more or less */
	assert_int_equal(verify(k->a, 2, data, n - 1, s, why, sizeof(why)), -1);
	d = realloc(d, n + 2);
	assert_non_null(d);
	d[n] = '\n';
	d[n + 1] = '\0';
	assert_int_equal(verify(k->a, 2, d, n + 1, s, why, sizeof(why)), -1);
	/* and the original still verifies */
	assert_int_equal(verify(k->a, 2, data, n, s, why, sizeof(why)), 0);
	free(d);
	free(s);
}

static void
test_verify_other_key(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s;

	s = sign_b64(k->b, 1, data, strlen(data));
	assert_int_equal(verify(k->a, 1, data, strlen(data), s, why, sizeof(why)), -1);
	assert_int_equal(verify(k->b, 1, data, strlen(data), s, why, sizeof(why)), 0);
	free(s);
	s = sign_b64(k->b, 2, data, strlen(data));
	assert_int_equal(verify(k->a, 2, data, strlen(data), s, why, sizeof(why)), -1);
	assert_string_equal(why, "signature does not verify");
	free(s);
	/* an EC key never verifies an SNS signature */
	s = sign_b64(k->a, 2, data, strlen(data));
	assert_int_equal(verify(k->ec, 2, data, strlen(data), s, why, sizeof(why)), -1);
	free(s);
}

static void
test_verify_bad_version(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s;

	s = sign_b64(k->a, 2, data, strlen(data));
	assert_int_equal(verify(k->a, 0, data, strlen(data), s, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown signature version 0");
	assert_int_equal(verify(k->a, 3, data, strlen(data), s, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown signature version 3");
	assert_int_equal(verify(k->a, -1, data, strlen(data), s, why, sizeof(why)), -1);
	free(s);
}

static void
test_verify_malformed_base64(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *s, *t;
	size_t       n;

	s = sign_b64(k->a, 2, data, strlen(data));
	n = strlen(s);
	t = malloc(n + 8);
	assert_non_null(t);

	/* truncated: not a multiple of 4, then a whole quantum short */
	memcpy(t, s, n - 1);
	t[n - 1] = '\0';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	t[n - 4] = '\0';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature length does not match the key");

	/* characters outside the alphabet, including base64url's */
	memcpy(t, s, n + 1);
	t[10] = '!';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	memcpy(t, s, n + 1);
	t[10] = '-';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	memcpy(t, s, n + 1);
	t[10] = '_';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	memcpy(t, s, n + 1);
	t[10] = '\x80';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);

	/* white space: inside, at the end, a PEM-style line break */
	snprintf(t, n + 8, "%.64s\n%s", s, s + 64);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	snprintf(t, n + 8, "%.64s %.3s%s", s, s + 64, s + 67);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	/* a PEM-style break padded to a multiple of four, so the length
	 * alone does not give it away */
	snprintf(t, n + 8, "%.64s\r\n%s\r\n", s, s + 64);
	assert_int_equal(strlen(t) % 4, 0);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	snprintf(t, n + 8, "%.64s %s   ", s, s + 64);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	snprintf(t, n + 8, "%s\n", s);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	snprintf(t, n + 8, " %s", s);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	snprintf(t, n + 8, "%s    ", s);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);

	/* padding in the middle */
	memcpy(t, s, n + 1);
	t[100] = '=';
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);

	/* empty */
	assert_int_equal(verify(k->a, 2, data, strlen(data), "", why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	assert_int_equal(verify(k->a, 2, data, strlen(data), "====", why, sizeof(why)), -1);

	/* the reason never quotes the signature */
	assert_null(strstr(why, s));
	free(t);
	free(s);
}

static void
test_verify_wrong_length(void **state)
{
	struct keys        *k = *state;
	unsigned char       junk[2048];
	char                why[256];
	char               *s, *t;
	size_t              i;
	static const size_t lens[] = { 1, 128, 255, 257, 512, 1024, 1025, 2048 };

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < NITEMS(lens); i++) {
		t = b64_of(junk, lens[i]);
		assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
		free(t);
	}
	/* a real signature with one extra quantum of zero bytes */
	s = sign_b64(k->a, 2, data, strlen(data));
	t = malloc(strlen(s) + 8);
	assert_non_null(t);
	snprintf(t, strlen(s) + 8, "%sAAAA", s);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature is not base64");
	free(t);
	/* right length, wrong bytes */
	t = b64_of(junk, 256);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "signature does not verify");
	free(t);
	free(s);
}

/* Regression: the longest Signature the envelope admits (LIM_SNS_SIGNATURE_MAX
 * characters) was decoded into a buffer too small for it and reported as
 * not base64; it is base64, of the wrong length. */
static void
test_verify_longest_signature(void **state)
{
	struct keys  *k = *state;
	unsigned char junk[LIM_SNS_SIGNATURE_MAX / 4 * 3];
	char          why[256];
	char         *t;

	memset(junk, 0x5a, sizeof(junk));
	t = b64_of(junk, sizeof(junk));
	assert_int_equal(strlen(t), LIM_SNS_SIGNATURE_MAX);
	assert_int_equal(verify(k->a, 2, data, strlen(data), t, why, sizeof(why)), -1);
	assert_string_equal(why, "Signature length does not match the key");
	free(t);
}

/* A flipped bit anywhere in the signature. */
static void
test_verify_flipped_signature(void **state)
{
	struct keys        *k = *state;
	unsigned char       raw[300];
	char                why[256];
	char               *s, *t;
	size_t              i;
	static const size_t where[] = { 0, 1, 127, 128, 254, 255 };

	s = sign_b64(k->a, 1, data, strlen(data));
	assert_int_equal(sig_base64_decode(s, raw, sizeof(raw)), 256);
	for (i = 0; i < NITEMS(where); i++) {
		raw[where[i]] ^= 0x10;
		t = b64_of(raw, 256);
		assert_int_equal(verify(k->a, 1, data, strlen(data), t, why, sizeof(why)), -1);
		free(t);
		raw[where[i]] ^= 0x10;
	}
	t = b64_of(raw, 256);
	assert_string_equal(t, s);
	assert_int_equal(verify(k->a, 1, data, strlen(data), t, why, sizeof(why)), 0);
	free(t);
	free(s);
}

/* The whole path: parse an envelope, build its string to sign, sign it,
 * verify; then change one field and see it fail. */
static void
test_verify_envelope(void **state)
{
	static const char env[] =
	    "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\","
	    "\"TopicArn\":\"arn:aws:sns:us-west-2:123456789012:MyTopic\",\"Subject\":null,"
	    "\"Message\":\"Hello world!\",\"Timestamp\":\"2012-05-02T00:54:06.655Z\","
	    "\"SignatureVersion\":\"1\",\"Signature\":\"x\",\"SigningCertURL\":"
	    "\"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3.pem\"}";
	struct keys   *k = *state;
	struct sns_msg m;
	struct buf     b;
	char           why[256];
	char          *s;

	assert_int_equal(sns_parse(env, strlen(env), &m, why, sizeof(why)), 0);
	buf_init(&b, 65536);
	assert_int_equal(sns_string_to_sign(&m, &b), 0);
	assert_string_equal(b.data, data);
	s = sign_b64(k->a, m.sigver, b.data, b.len);
	assert_int_equal(verify(k->a, m.sigver, b.data, b.len, s, why, sizeof(why)), 0);
	buf_free(&b);
	/* the same signature with a Subject added no longer verifies */
	m.subject = "added";
	buf_init(&b, 65536);
	assert_int_equal(sns_string_to_sign(&m, &b), 0);
	assert_int_equal(verify(k->a, m.sigver, b.data, b.len, s, why, sizeof(why)), -1);
	buf_free(&b);
	free(s);
	sns_free(&m);
}

struct b64_case {
	const char *in;
	const char *out;
	int         len;
};

static void
test_base64_vectors(void **state)
{
	/* RFC 4648 section 10, and a few binary ones */
	static const struct b64_case cases[] = {
		{ "Zg==", "f", 1 },
		{ "Zm8=", "fo", 2 },
		{ "Zm9v", "foo", 3 },
		{ "Zm9vYg==", "foob", 4 },
		{ "Zm9vYmE=", "fooba", 5 },
		{ "Zm9vYmFy", "foobar", 6 },
		{ "AA==", "\0", 1 },
		{ "AP8=", "\0\xff", 2 },
		{ "+/+/", "\xfb\xff\xbf", 3 },
		{ "////", "\xff\xff\xff", 3 },
		{ "AAAA", "\0\0\0", 3 },
		{ "SGVsbG8sIHdvcmxkIQ==", "Hello, world!", 13 },
	};
	unsigned char out[64];
	size_t        i;

	for (i = 0; i < NITEMS(cases); i++) {
		int n;

		memset(out, 0xee, sizeof(out));
		n = sig_base64_decode(cases[i].in, out, sizeof(out));
		if (n != cases[i].len)
			fail_msg("sig_base64_decode(\"%s\") = %d, want %d", cases[i].in, n,
			    cases[i].len);
		assert_memory_equal(out, cases[i].out, (size_t)n);
	}
}

static void
test_base64_malformed(void **state)
{
	static const char *const bad[] = { "", "Z", "Zg", "Zg=", "Zm9vY",
		"Zg===", "Z===", "====", "=Zg=", "Zg==Zg==", "Zg=a", "Zm9v\n", "\nZm9v", "Zm 9v",
		"Zm9v ", "Zm9-", "Zm9_", "Zm9v\t", "Zm9v\r\n", "Zm9.", "Zm9\x80",
		"Zm9v====", "Zm9v\nYmFy\n\n\n", "Zm9v\r\nYmFy\r\n", "Zm9v    ", "\t\t\t\tZm9v" };
	unsigned char            out[64];
	size_t                   i;

	for (i = 0; i < NITEMS(bad); i++) {
		int n = sig_base64_decode(bad[i], out, sizeof(out));

		if (n != -1)
			fail_msg("sig_base64_decode(\"%s\") = %d, want -1", bad[i], n);
	}
}

static void
test_base64_outlen(void **state)
{
	unsigned char out[8];

	memset(out, 0xee, sizeof(out));
	assert_int_equal(sig_base64_decode("Zm9vYmFy", out, 6), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(out[6], 0xee);
	assert_int_equal(sig_base64_decode("Zm9vYmFy", out, 5), -1);
	assert_int_equal(sig_base64_decode("Zm9vYmFyYmF6", out, 8), -1);
}

/* The decoder OpenSSL's EVP_DecodeUpdate() made, as sig.c had it: the
 * reference for sig_base64_decode(). */
static int
openssl_decode(const char *in, unsigned char *out, size_t outlen)
{
	EVP_ENCODE_CTX *ctx = NULL;
	size_t          n = strlen(in);
	int             l1 = 0, l2 = 0, ret = -1;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen ||
	    strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return -1;
	ctx = EVP_ENCODE_CTX_new();
	assert_non_null(ctx);
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &l1, (const unsigned char *)in, (int)n) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, out + l1, &l2) != 1)
		goto out;
	ret = l1 + l2;
out:
	EVP_ENCODE_CTX_free(ctx);
	return ret;
}

static void
same_as_openssl(const char *in)
{
	unsigned char a[4096], b[4096];
	int           na, nb;

	na = sig_base64_decode(in, a, sizeof(a));
	nb = openssl_decode(in, b, sizeof(b));
	if (na != nb)
		fail_msg("\"%s\": %d, OpenSSL %d", in, na, nb);
	if (na > 0)
		assert_memory_equal(a, b, (size_t)na);
}

/* Every string of up to 8 characters over an alphabet of padding, digits
 * of each kind and characters base64 does not have, then long random
 * ones: the same answer as OpenSSL's decoder, byte for byte. */
static void
test_base64_like_openssl(void **state)
{
	static const char alpha[] = "=A/ -z9+_\n.";
	char              in[LIM_SNS_SIGNATURE_MAX + 1];
	size_t            len, i, j, n, a;
	unsigned long     x, count, r = 12345;

	(void)state;
	for (len = 0; len <= 8; len++) {
		/* lengths 6 and 7 are refused for their length alone; 8 with a
		 * smaller alphabet, to stay fast */
		if (len == 6 || len == 7)
			continue;
		a = len == 8 ? 5 : sizeof(alpha) - 1;
		for (count = 1, i = 0; i < len; i++)
			count *= a;
		for (x = 0; x < count; x++) {
			unsigned long y = x;

			for (i = 0; i < len; i++, y /= a)
				in[i] = alpha[y % a];
			in[len] = '\0';
			same_as_openssl(in);
		}
	}
	for (j = 0; j < 2000; j++) {
		r = r * 1103515245 + 12345;
		n = (r >> 8) % 700;
		for (i = 0; i < n; i++) {
			r = r * 1103515245 + 12345;
			in[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			    [(r >> 8) % 64];
		}
		/* the end as a signature has it, or padding anywhere */
		if (n > 0 && j % 3 == 0)
			in[n - 1] = '=';
		if (n > 1 && j % 5 == 0)
			in[n - 2] = '=';
		if (n > 0 && j % 7 == 0)
			in[(r >> 8) % n] = '=';
		in[n] = '\0';
		same_as_openssl(in);
	}
}

/* Verify contexts are kept per key and version: each call still answers
 * for the key it is given, across more keys than are kept, after the
 * key's owner frees it (the freed key's address may come back as
 * another's), and after the cache is cleared. */
static void
test_verify_contexts_kept(void **state)
{
	struct keys *k = *state;
	EVP_PKEY    *keys[3] = { k->a, k->b, k->big }, *p, *q;
	char        *s[3][3];
	char         why[256];
	size_t       n = strlen(data);
	int          round, i, j, v, w;

	for (i = 0; i < 3; i++)
		for (v = 1; v <= 2; v++)
			s[i][v] = sign_b64(keys[i], v, data, n);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 3; i++) {
			for (v = 1; v <= 2; v++) {
				for (j = 0; j < 3; j++) {
					for (w = 1; w <= 2; w++) {
						int want = i == j && v == w ? 0 : -1;

						assert_int_equal(verify(keys[i], v, data, n,
						                     s[j][w], why, sizeof(why)),
						    want);
					}
				}
			}
		}
		if (round == 1)
			sig_cache_clear();
	}
	/* The slot of a key its owner freed is evicted in time (by four
	 * other keys and versions): without its own reference that would free
	 * the key twice, which ASan and glibc catch. */
	for (i = 0; i < 20; i++) {
		p = EVP_PKEY_dup(k->a);
		assert_non_null(p);
		assert_int_equal(verify(p, 2, data, n, s[0][2], why, sizeof(why)), 0);
		EVP_PKEY_free(p);
		q = EVP_PKEY_dup(k->b);
		assert_non_null(q);
		assert_int_equal(verify(q, 2, data, n, s[0][2], why, sizeof(why)), -1);
		assert_int_equal(verify(q, 2, data, n, s[1][2], why, sizeof(why)), 0);
		assert_int_equal(verify(q, 1, data, n, s[1][1], why, sizeof(why)), 0);
		assert_int_equal(verify(k->big, 1, data, n, s[2][1], why, sizeof(why)), 0);
		assert_int_equal(verify(k->big, 2, data, n, s[2][2], why, sizeof(why)), 0);
		EVP_PKEY_free(q);
	}
	sig_cache_clear();
	for (i = 0; i < 3; i++)
		for (v = 1; v <= 2; v++)
			free(s[i][v]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_v1_v2),
		cmocka_unit_test(test_verify_bigger_key_and_empty_data),
		cmocka_unit_test(test_verify_uses_len),
		cmocka_unit_test(test_verify_changed_data),
		cmocka_unit_test(test_verify_other_key),
		cmocka_unit_test(test_verify_bad_version),
		cmocka_unit_test(test_verify_malformed_base64),
		cmocka_unit_test(test_verify_wrong_length),
		cmocka_unit_test(test_verify_longest_signature),
		cmocka_unit_test(test_verify_flipped_signature),
		cmocka_unit_test(test_verify_envelope),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_malformed),
		cmocka_unit_test(test_base64_outlen),
		cmocka_unit_test(test_base64_like_openssl),
		cmocka_unit_test(test_verify_contexts_kept),
	};

	return cmocka_run_group_tests_name("sig", tests, group_setup, group_teardown);
}
