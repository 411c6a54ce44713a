/* SPDX-License-Identifier: ISC */
/* ses-feedback - libFuzzer harness for the SNS envelope.
 * The input is a request body: sns_parse(), then on success the string to
 * sign and the local URL checks that verify_local() applies to it. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "sns.h"

#define FUZZ_NAME "fuzz_envelope"
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sns_msg m;
	struct buf     sts;
	char           why[256] = "";
	char           err[256];

	/* sns_parse() takes (pointer, length): libFuzzer's buffer is exactly
	 * size bytes with no NUL after it, so reading past len is caught. */
	if (sns_parse((const char *)data, size, &m, why, sizeof(why)) == -1) {
		CHECK(m.root == NULL);
		CHECK(why[0] != '\0');
		return 0;
	}
	CHECK(m.root != NULL);
	CHECK(m.type_str != NULL && m.message_id != NULL && m.topic_arn != NULL);
	CHECK(m.message != NULL && m.timestamp != NULL && m.signature != NULL);
	CHECK(m.signing_cert_url != NULL);
	CHECK(strlen(m.message) == m.message_len);
	CHECK(m.sigver == 1 || m.sigver == 2);
	if (m.type != SNS_NOTIFICATION)
		CHECK(m.subscribe_url != NULL && m.token != NULL);

	/* The cap verify_signature() uses: every field but Message is
	 * bounded by sns_parse(), so a parsed message must always fit. */
	buf_init(&sts, m.message_len + 16384);
	CHECK(sns_string_to_sign(&m, &sts) == 0);
	CHECK(sts.data != NULL && strlen(sts.data) == sts.len);
	buf_free(&sts);

	/* Over the cap the callee frees: LeakSanitizer checks that. */
	buf_init(&sts, 32);
	CHECK(sns_string_to_sign(&m, &sts) == -1);
	CHECK(sts.data == NULL);

	(void)policy_cert_url(m.signing_cert_url, &m.arn, err, sizeof(err));
	if (m.type == SNS_SUBSCRIPTION_CONFIRMATION)
		(void)policy_subscribe_url(&m, err, sizeof(err));
	sns_free(&m);
	CHECK(m.root == NULL);
	return 0;
}
