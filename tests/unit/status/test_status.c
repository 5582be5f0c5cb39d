/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_status.h"

static void
test_status_local_errno_maps_to_canonical_number(void **state)
{
	(void)state;
	/* The canonical numbers are fixed by the protocol, whatever this
	 * platform's <errno.h> says. */
	assert_int_equal(scpp_errno_to_canonical(ENOENT), 2);
	assert_int_equal(scpp_errno_to_canonical(-ENOSPC), 28);
	assert_int_equal(scpp_errno_to_canonical(ETIMEDOUT), 110);
	assert_int_equal(scpp_errno_to_canonical(0), 0);
	assert_int_equal(scpp_errno_to_canonical(99999), SCPP_ERRNO_IO);
}

static void
test_status_project_codes_map_to_closest_posix_errno(void **state)
{
	(void)state;
	assert_int_equal(scpp_errno_to_canonical(-SCPP_E_TRUNCATED), SCPP_ERRNO_BADMSG);
	assert_int_equal(scpp_errno_to_canonical(-SCPP_E_BAD_UTF8), SCPP_ERRNO_ILSEQ);
	assert_int_equal(scpp_errno_to_canonical(-SCPP_E_TOO_MANY), SCPP_ERRNO_2BIG);
	assert_int_equal(scpp_errno_to_canonical(-SCPP_E_BAD_VERSION), SCPP_ERRNO_PROTO);
}

static void
test_status_table_round_trips_every_row(void **state)
{
	(void)state;
	assert_true(scpp_errno_count() > 60);
	for (size_t i = 0; i < scpp_errno_count(); i++) {
		uint32_t c = scpp_errno_at(i);
		const char *name = scpp_errno_name(c);

		assert_non_null(name);
		assert_non_null(scpp_errno_text(c));
		assert_int_equal(scpp_errno_by_name(name, strlen(name)), c);
		assert_int_equal(scpp_errno_to_canonical(scpp_errno_from_canonical(c)), c);
		for (size_t j = 0; j < i; j++)
			assert_true(scpp_errno_at(j) != c);
	}
	assert_null(scpp_errno_name(15));
	assert_int_equal(scpp_errno_by_name("ENOPE", 5), 0);
	assert_int_equal(scpp_errno_from_canonical(424242), EIO);
}

static void
test_status_set_formats_and_names_code(void **state)
{
	struct scpp_status st;
	(void)state;

	memset(&st, 0, sizeof(st));
	scpp_status_set(&st, -ENOENT, "eval", "no attribute %s on %d", "size", 7);
	assert_int_equal(st.err, SCPP_ERRNO_NOENT);
	assert_string_equal(st.message, "no attribute size on 7");
	assert_string_equal(scpp_status_code_name(&st), "ENOENT");
	scpp_status_set(&st, -SCPP_E_BAD_TERM, "wire", "x");
	assert_string_equal(scpp_status_code_name(&st), "E_BAD_TERM");
}

static void
test_status_set_never_leaves_cut_utf8(void **state)
{
	struct scpp_status st;
	char big[400];
	(void)state;

	/* 3-byte characters: 159 bytes of room cuts one in the middle. */
	big[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(big, "€");
	scpp_status_set(&st, -EINVAL, "eval", "%s", big);
	assert_true(scpp_utf8_valid((const uint8_t *)st.message, strlen(st.message)));
	assert_int_equal(strlen(st.message) % 3, 0);
}

static void
test_status_encodes_as_reply_record_with_schema_fields(void **state)
{
	uint8_t buf[1024];
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader r;
	static struct scpp_wire_record rec;
	struct scpp_status st;
	struct scpp_oid oid = scpp_oid_make(0, 1, 0, 1, 9);
	(void)state;

	memset(&st, 0, sizeof(st));
	scpp_status_set(&st, -EEXIST, "store", "exists");
	st.node = scpp_oid_make(0, 1, 0, 0, 0);
	st.core = 3;
	st.block_id = 77;
	st.command = 2;
	st.elapsed_ns = 1234;
	scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(scpp_wire_reply_columns(&w, NULL, 0), 0);
	assert_int_equal(scpp_status_encode(&w, oid, &st), 0);
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_ERRORS, 0, 3, 1234), 0);

	scpp_wire_reply_reader_init(&r, buf, w.len);
	assert_int_equal(scpp_wire_reply_next(&r, &rec), 1);
	assert_int_equal(rec.type, SCPP_REC_COLUMNS);
	assert_int_equal(scpp_wire_reply_next(&r, &rec), 1);
	assert_int_equal(rec.type, SCPP_REC_STATUS);
	assert_true(scpp_oid_eq(rec.status.oid, oid));
	assert_int_equal(rec.status.n, SCPP_STATUS_FIELDS);
	assert_int_equal(rec.status.key[0].len, 5);
	assert_memory_equal(rec.status.key[0].p, "errno", 5);
	assert_true(rec.status.v[0].u == SCPP_ERRNO_EXIST);
	assert_memory_equal(rec.status.v[1].p, "EEXIST", 6);
	assert_memory_equal(rec.status.v[3].p, "exists", 6);
	assert_memory_equal(rec.status.v[4].p, "store", 5);
	assert_true(scpp_oid_eq(rec.status.v[5].oid, st.node));
	assert_true(rec.status.v[7].u == 77);
	assert_true(rec.status.v[8].u == 2);
	assert_true(rec.status.v[9].u == 1234);
}

static void
test_status_encode_reports_full_buffer(void **state)
{
	uint8_t buf[40];
	struct scpp_wire_reply_writer w;
	struct scpp_status st;
	(void)state;

	memset(&st, 0, sizeof(st));
	scpp_status_set(&st, -EIO, "x", "y");
	scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(scpp_wire_reply_columns(&w, NULL, 0), 0);
	assert_int_equal(scpp_status_encode(&w, SCPP_OID_NIL, &st), -ENOSPC);
	assert_int_equal(w.len, 2); /* the COLUMNS record only */
}

/* docs/ERRNO.md is the published table: it must list exactly the rows the
 * code uses, with the same numbers. */
static void
test_status_errno_doc_matches_table(void **state)
{
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char path[4096], line[256];
	size_t rows = 0;
	FILE *f;
	(void)state;

	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/docs/ERRNO.md", root);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned int num;
		char name[32];

		if (sscanf(line, "| %u | %31[A-Z0-9] |", &num, name) != 2)
			continue;
		assert_int_equal(scpp_errno_by_name(name, strlen(name)), num);
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, scpp_errno_count());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_local_errno_maps_to_canonical_number),
		cmocka_unit_test(test_status_project_codes_map_to_closest_posix_errno),
		cmocka_unit_test(test_status_table_round_trips_every_row),
		cmocka_unit_test(test_status_set_formats_and_names_code),
		cmocka_unit_test(test_status_set_never_leaves_cut_utf8),
		cmocka_unit_test(test_status_encodes_as_reply_record_with_schema_fields),
		cmocka_unit_test(test_status_encode_reports_full_buffer),
		cmocka_unit_test(test_status_errno_doc_matches_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
