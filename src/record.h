/* SPDX-License-Identifier: ISC */
/* ses-feedback - the record: the JSON document handed to SQL.
 * One document per verified SNS message, taken apart by
 * ses_feedback.ingest() (sql/functions.sql) in one transaction. This
 * header is the contract between the two languages: a key added, renamed
 * or dropped here is changed in ingest() too.
 *
 * Every key. A string key is absent (never null) when there is no value.
 *
 * Every document (the SNS envelope):
 *   sns_message_id    string   SNS MessageId; ingest() stores a MessageId once
 *                              and answers 'duplicate' for it after that
 *   topic_arn         string   SNS TopicArn
 *   sns_type          string   Notification, SubscriptionConfirmation or
 *                              UnsubscribeConfirmation
 *   sns_timestamp     string   SNS Timestamp (ISO 8601, UTC)
 *   subject           string   SNS Subject (Notifications may have one)
 *   message_text      string   the SNS Message as it came: always for a
 *                              subscription message; for a Notification only
 *                              when it is no JSON object, or one jsonb would
 *                              refuse (a NUL, a NaN), instead of message
 *
 * A Notification (the SES event):
 *   message           object   the SES event (Message parsed), instead of
 *                              message_text
 *   event_type        string   eventType or notificationType: Bounce,
 *                              Complaint, ... (ses.h, enum ses_kind)
 *   ses_message_id    string   mail.messageId
 *   source            string   mail.source
 *   occurred_at       string   the event's time, ISO 8601 UTC; absent:
 *                              ingest() uses sns_timestamp
 *   recipients        array    of recipient objects (below), one per
 *                              affected recipient; present, maybe empty
 *
 * A recipient (an element of recipients):
 *   original          string   the address as SES spelled it, or the JSON
 *                              text of a recipient that is no string; SQL
 *                              derives the address with normalize_email()
 *                              (the addr.h rules), and one that is none is
 *                              recorded as not_an_address. (ingest() also
 *                              reads an "email" key when original is absent;
 *                              this program never sends one.)
 *   status            string   DSN status, such as 5.1.1
 *   action            string   DSN action: failed, delayed, ...
 *   diagnostic_code   string   the remote MTA's words
 *   bounce_type       string   Bounce: Permanent, Transient, Undetermined
 *   bounce_subtype    string   Bounce: General, MailboxFull, ...
 *   complaint_feedback_type
 *                     string   Complaint: abuse, not-spam, ...
 *   complaint_subtype string   Complaint: OnAccountSuppressionList, ...
 *   feedback_id       string   bounce or complaint feedbackId: with
 *                              event_type and the address, the key that
 *                              counts one feedback once across topics
 *   unsubscribe_all   boolean  Subscription event: true when the contact
 *                              unsubscribed from all topics; absent otherwise
 *
 * A SubscriptionConfirmation or UnsubscribeConfirmation:
 *   subscription      object   what was done:
 *     status          string   confirmed (SubscribeURL visited), pending
 *                              (left for the operator) or unsubscribed
 *     subscription_arn
 *                     string   from SNS's answer to the visit, or the
 *                              x-amz-sns-subscription-arn header
 *     subscribe_url   string   pending only: for confirming by hand
 */
#ifndef SF_RECORD_H
#define SF_RECORD_H

#include "ses.h"
#include "sns.h"

struct json_object;

/* subscription.status */
enum record_sub_status { RECORD_SUB_CONFIRMED, RECORD_SUB_PENDING, RECORD_SUB_UNSUBSCRIBED };

/* The document for a verified Notification m whose Message parsed as ev.
 * A new reference the caller puts (json_object_put); it holds its own
 * reference to ev->root, and copies of the strings. NULL when out of
 * memory. */
struct json_object *record_notification(const struct sns_msg *m, const struct ses_event *ev);

/* The document for a verified subscription message m. subscription_arn
 * may be NULL (unknown). Ownership as record_notification(). */
struct json_object *record_subscription(
    const struct sns_msg *m, enum record_sub_status status, const char *subscription_arn);

/* The document as JSON text for ingest(): borrowed from doc, valid until
 * it is put. NULL when out of memory. */
const char *record_text(struct json_object *doc);

/* The word for status: "confirmed", "pending" or "unsubscribed". */
const char *record_sub_status_name(enum record_sub_status status);

#endif
