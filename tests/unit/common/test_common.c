/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"

static void
test_common_every_project_code_has_name_and_text(void **state)
{
	(void)state;
	for (int c = SCPP_E_FIRST; c < SCPP_E_LAST; c++) {
		assert_non_null(scpp_error_name(-c));
		assert_non_null(scpp_strerror(-c));
		assert_int_equal(strncmp(scpp_error_name(c), "E_", 2), 0);
		for (int d = SCPP_E_FIRST; d < c; d++)
			assert_string_not_equal(scpp_error_name(c), scpp_error_name(d));
	}
}

static void
test_common_strerror_covers_errno_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(scpp_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(scpp_strerror(SCPP_E_LAST), "unknown error");
	assert_null(scpp_error_name(-ENOENT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_every_project_code_has_name_and_text),
		cmocka_unit_test(test_common_strerror_covers_errno_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
