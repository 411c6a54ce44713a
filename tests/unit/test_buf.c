/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the bounded buffers (src/buf.c).
 * The cap is a security limit: an append that would cross it must fail
 * and leave nothing behind, and ownership must move exactly once. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"

static void
assert_freed(const struct buf *b)
{
	assert_null(b->data);
	assert_int_equal(b->len, 0);
	assert_int_equal(b->cap, 0);
}

static void
test_init(void **state)
{
	struct buf b;

	memset(&b, 0xa5, sizeof(b));
	buf_init(&b, 100);
	assert_freed(&b);
	assert_int_equal(b.max, 100);
}

static void
test_add_within_cap(void **state)
{
	struct buf b;

	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, "hello", 5), 0);
	assert_int_equal(buf_adds(&b, ", world"), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(b.data, "hello, world");
	assert_true(b.cap >= b.len + 1);
	assert_true(b.cap <= b.max + 1);
	buf_free(&b);
	assert_freed(&b);
}

static void
test_add_exactly_max(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "01234", 5), 0);
	assert_int_equal(buf_add(&b, "56789", 5), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(b.cap, 11);
	buf_free(&b);
}

static void
test_add_crossing_max_frees(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "0123456789", 10), 0);
	assert_non_null(b.data);
	/* One byte over: fails, and the callee has freed the buffer. */
	assert_int_equal(buf_add(&b, "x", 1), -1);
	assert_freed(&b);
	assert_int_equal(b.max, 10);

	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "0123", 4), 0);
	assert_int_equal(buf_adds(&b, "4567890"), -1);
	assert_freed(&b);
}

static void
test_add_single_over_max(void **state)
{
	struct buf b;

	buf_init(&b, 4);
	assert_int_equal(buf_add(&b, "12345", 5), -1);
	assert_freed(&b);
	/* A length that would wrap len + n must not be trusted or read. */
	buf_init(&b, 4);
	assert_int_equal(buf_add(&b, "ab", 2), 0);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), -1);
	assert_freed(&b);
	buf_init(&b, SIZE_MAX - 1);
	assert_int_equal(buf_add(&b, "ab", 2), 0);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX - 2), -1);
	assert_freed(&b);
}

static void
test_max_zero(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_add(&b, "a", 1), -1);
	assert_freed(&b);
}

static void
test_zero_length_adds(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(buf_adds(&b, ""), 0);
	assert_int_equal(buf_addf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 0);
	/* data is NUL-terminated whenever it is not NULL */
	assert_true(b.data == NULL || b.data[0] == '\0');

	assert_int_equal(buf_adds(&b, "12345678"), 0);
	/* Full to the cap: adding nothing still succeeds and changes nothing. */
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(buf_adds(&b, ""), 0);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_free(&b);
}

static void
test_growth_keeps_content(void **state)
{
	struct buf b;
	char       chunk[37], *expect;
	size_t     i, total = 0;

	expect = malloc(100000);
	assert_non_null(expect);
	buf_init(&b, 100000);
	for (i = 0; total + sizeof(chunk) <= 100000; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		assert_int_equal(buf_add(&b, chunk, sizeof(chunk)), 0);
		memcpy(expect + total, chunk, sizeof(chunk));
		total += sizeof(chunk);
		assert_int_equal(b.len, total);
		assert_true(b.cap >= b.len + 1);
		assert_true(b.cap <= b.max + 1);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_memory_equal(b.data, expect, total);
	free(expect);
	buf_free(&b);
}

static void
test_cap_never_above_max(void **state)
{
	struct buf b;
	char       big[300];

	memset(big, 'z', sizeof(big));
	buf_init(&b, 300);
	assert_int_equal(buf_add(&b, big, 300), 0);
	assert_int_equal(b.cap, 301);
	buf_free(&b);
}

static void
test_addf_small(void **state)
{
	struct buf b;

	buf_init(&b, 64);
	assert_int_equal(buf_addf(&b, "%s=%d", "n", 42), 0);
	assert_int_equal(buf_addf(&b, ";%05.1f;%x", 3.14159, 255u), 0);
	assert_string_equal(b.data, "n=42;003.1;ff");
	assert_int_equal(b.len, 13);
	buf_free(&b);
}

/* The formatter uses a 512-byte stack buffer and allocates beyond it. */
static void
test_addf_boundaries(void **state)
{
	static const size_t sizes[] = { 510, 511, 512, 513, 600, 5000 };
	struct buf          b;
	char               *s;
	size_t              i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		s = malloc(sizes[i] + 1);
		assert_non_null(s);
		memset(s, 'q', sizes[i]);
		s[sizes[i]] = '\0';
		s[0] = 'A';
		s[sizes[i] - 1] = 'Z';
		buf_init(&b, 10000);
		assert_int_equal(buf_adds(&b, "<"), 0);
		assert_int_equal(buf_addf(&b, "%s>", s), 0);
		assert_int_equal(b.len, sizes[i] + 2);
		assert_int_equal(b.data[0], '<');
		assert_memory_equal(b.data + 1, s, sizes[i]);
		assert_int_equal(b.data[sizes[i] + 1], '>');
		assert_int_equal(b.data[sizes[i] + 2], '\0');
		buf_free(&b);
		free(s);
	}
}

static void
test_addf_past_512_numbers(void **state)
{
	struct buf b;
	char       expect[700];
	size_t     i, n = 0;

	buf_init(&b, 4096);
	/* 120 numbers of at least 4 bytes: well past 512 in one call. */
	assert_int_equal(
	    buf_addf(&b,
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d "
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d "
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d "
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d "
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d "
	        "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d ",
	        1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
	        1014, 1015, 1016, 1017, 1018, 1019, 1020, 1021, 1022, 1023, 1024, 1025, 1026, 1027,
	        1028, 1029, 1030, 1031, 1032, 1033, 1034, 1035, 1036, 1037, 1038, 1039, 1040, 1041,
	        1042, 1043, 1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051, 1052, 1053, 1054, 1055,
	        1056, 1057, 1058, 1059, 1060, 1061, 1062, 1063, 1064, 1065, 1066, 1067, 1068, 1069,
	        1070, 1071, 1072, 1073, 1074, 1075, 1076, 1077, 1078, 1079, 1080, 1081, 1082, 1083,
	        1084, 1085, 1086, 1087, 1088, 1089, 1090, 1091, 1092, 1093, 1094, 1095, 1096, 1097,
	        1098, 1099, 1100, 1101, 1102, 1103, 1104, 1105, 1106, 1107, 1108, 1109, 1110, 1111,
	        1112, 1113, 1114, 1115, 1116, 1117, 1118, 1119),
	    0);
	for (i = 0; i < 120; i++)
		n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%zu ", 1000 + i);
	assert_int_equal(n, 600);
	assert_int_equal(b.len, 600);
	assert_string_equal(b.data, expect);
	buf_free(&b);
}

static void
test_addf_over_cap_frees(void **state)
{
	struct buf b;
	char       s[700];

	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	/* Large (heap) path. */
	buf_init(&b, 600);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "%s", s), -1);
	assert_freed(&b);
	/* Small (stack) path. */
	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "abcdef"), 0);
	assert_int_equal(buf_addf(&b, "%d", 12345), -1);
	assert_freed(&b);
}

static void
test_take(void **state)
{
	struct buf b;
	char      *p;
	size_t     len = 0;

	buf_init(&b, 32);
	assert_int_equal(buf_adds(&b, "owned by the caller"), 0);
	p = buf_take(&b, &len);
	assert_non_null(p);
	/* The length comes with the data: the buffer's own is reset. */
	assert_int_equal(len, strlen("owned by the caller"));
	assert_string_equal(p, "owned by the caller");
	/* The buffer no longer refers to the data and is reusable. */
	assert_freed(&b);
	assert_int_equal(b.max, 32);
	assert_int_equal(buf_adds(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	assert_ptr_not_equal(b.data, p);
	assert_string_equal(p, "owned by the caller");
	buf_free(&b);
	/* Still the caller's: freeing the buffer did not free p. */
	assert_string_equal(p, "owned by the caller");
	free(p);
}

static void
test_take_empty(void **state)
{
	struct buf b;
	char      *p;
	size_t     len = 99;

	buf_init(&b, 32);
	p = buf_take(&b, &len);
	assert_null(p);
	assert_int_equal(len, 0);
	assert_freed(&b);
	/* After a zero-length add the data may exist: then it is "". */
	assert_int_equal(buf_add(&b, "", 0), 0);
	p = buf_take(&b, NULL);
	if (p != NULL)
		assert_string_equal(p, "");
	free(p);
	assert_freed(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_add_within_cap),
		cmocka_unit_test(test_add_exactly_max),
		cmocka_unit_test(test_add_crossing_max_frees),
		cmocka_unit_test(test_add_single_over_max),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_zero_length_adds),
		cmocka_unit_test(test_growth_keeps_content),
		cmocka_unit_test(test_cap_never_above_max),
		cmocka_unit_test(test_addf_small),
		cmocka_unit_test(test_addf_boundaries),
		cmocka_unit_test(test_addf_past_512_numbers),
		cmocka_unit_test(test_addf_over_cap_frees),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_empty),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
