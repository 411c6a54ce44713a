/* SPDX-License-Identifier: ISC */
/* ses-feedback - what every libFuzzer harness here shares: the entry
 * point's prototype, CHECK() for the API's promises, and the copy of the
 * input as a C string. Define FUZZ_NAME before including it. */
#ifndef SF_FUZZ_COMMON_H
#define SF_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "define FUZZ_NAME (the harness's name, for its messages) first"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of the API: abort so that libFuzzer keeps the input. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, FUZZ_NAME ": check failed: %s\n", #c);                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The input with one NUL after it, so that its last piece is a C string (a
 * NUL inside the input ends the text, as it would a parameter). The caller
 * frees it; NULL when out of memory. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
