/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef STORE_TEST_H
#define STORE_TEST_H

#include <stdint.h>

/* Test groups of unit.store kept in files of their own (test_store.c runs
 * them after its own group). */
extern const struct CMUnitTest store_layout_tests[]; /* test_store_layout.c */
extern const size_t store_layout_ntests;
extern const struct CMUnitTest store_burst_tests[]; /* test_store_burst.c */
extern const size_t store_burst_ntests;

struct scpp_store;

/* A shard on the libc provider, 64 map entries, 1 MiB of extents, values up
 * to 4 KiB, node 7, epoch 3, the given hash seed (test_store_layout.c). */
struct scpp_store *store_test_shard(uint32_t max_entries, uint64_t hash_seed);

#endif /* STORE_TEST_H */
