/* SPDX-License-Identifier: ISC */
/* ses-feedback - what an email address is: the one definition.
 * An RFC 5321 mailbox (RFC 6531 for UTF-8): a dot-atom or quoted local
 * part, "@", a domain of two or more labels or an address literal; a
 * display name around <...> is dropped. The normal form, the key of every
 * table, is the mailbox with ASCII letters lowered: nothing that depends
 * on a locale. sql/ holds the same rules in ses_feedback.normalize_email()
 * and tests/fixtures/addresses.tsv holds the cases both must agree on. */
#ifndef SF_ADDR_H
#define SF_ADDR_H

#include <stddef.h>

#include "bounds.h"

#define ADDR_MAX LIM_SES_EMAIL /* bytes of a normal form */

/* "Jane Doe" <Jane@Example.COM>  ->  jane@example.com. Returns 0 with the
 * normal form in out, or -1 when in is not one mailbox or out is too
 * small. */
int addr_normalize(const char *in, char *out, size_t outlen);

#endif
