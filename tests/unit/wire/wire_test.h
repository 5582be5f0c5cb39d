/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef WIRE_TEST_H
#define WIRE_TEST_H

/* Tests of lib/wire in files of their own, run by test_wire.c's main. */

void test_wire_cont_layout_round_trip(void **state);
void test_wire_cont_rejects_each_bad_field(void **state);
void test_wire_cont_truncates_every_prefix(void **state);
void test_wire_cont_rows_round_trip_and_reject_bad_rows(void **state);
void test_wire_cont_reply_layout_and_bad_fields(void **state);
void test_wire_cont_copy_source_layout_and_bad_fields(void **state);
void test_wire_cont_memwin_layout_and_bad_fields(void **state);
void test_wire_cont_reply_rest_groups(void **state);

#endif
