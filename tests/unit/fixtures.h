/* SPDX-License-Identifier: ISC */
/* ses-feedback - test data shared by more than one unit test.
 * The string to sign of the SNS developer guide's example notification
 * (no Subject), as the signature and envelope tests both expect it. */
#ifndef SF_FIXTURES_H
#define SF_FIXTURES_H

/* A macro, not an object, so that a test that includes this file and does
 * not use it is not an unused-variable warning. */
#define FIXTURE_STS_NOTIFICATION                                                                   \
	"Message\n"                                                                                \
	"Hello world!\n"                                                                           \
	"MessageId\n"                                                                              \
	"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"                                                   \
	"Timestamp\n"                                                                              \
	"2012-05-02T00:54:06.655Z\n"                                                               \
	"TopicArn\n"                                                                               \
	"arn:aws:sns:us-west-2:123456789012:MyTopic\n"                                             \
	"Type\n"                                                                                   \
	"Notification\n"

#endif
