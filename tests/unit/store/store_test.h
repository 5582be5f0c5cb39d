/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef STORE_TEST_H
#define STORE_TEST_H

/* Test groups of unit.store kept in files of their own (test_store.c runs
 * them after its own group). */
extern const struct CMUnitTest store_layout_tests[]; /* test_store_layout.c */
extern const size_t store_layout_ntests;
extern const struct CMUnitTest store_burst_tests[]; /* test_store_burst.c */
extern const size_t store_burst_ntests;

#endif /* STORE_TEST_H */
