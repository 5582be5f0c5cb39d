/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.copy_dmadev: the dmadev engine on two dma_skeleton devices (EAL with
 * --iova-mode=va, which the skeleton needs; hugepages when free, else
 * --no-huge). Differential runs against the memmove reference over DPDK
 * memory and over ordinary (SVA) memory, overlapping copies done on the
 * CPU, registration rules, device back-pressure, copies racing unregister
 * and free (buffers are unmapped right after, so a late device access would
 * crash the test), the instance freed with copies in flight, and the store's
 * pinning rule around a copy in flight.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "copy_test.h"
#include "scpp_store.h"

#define MiB (UINT64_C(1) << 20)

static struct scpp_copy *
make(const char *device, uint32_t ring, uint64_t part_max)
{
	struct scpp_copy_config cfg;

	scpp_copy_config_init(&cfg);
	cfg.engine = "dmadev";
	cfg.dmadev.device = device;
	cfg.ring_size = ring;
	cfg.part_max = part_max;
	cfg.timeout_ns = CT_TIMEOUT_NS;
	return ct_own(scpp_copy_create(&cfg));
}

static void
test_dmadev_probe_claim_and_caps(void **state)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_caps caps;
	struct scpp_copy *a, *b, *c;
	char why[256];
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.engine = "dmadev";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), 0);
	cfg.dmadev.device = "dma_skeleton0";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), 0);
	cfg.dmadev.device = "nope";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "\"nope\""));
	assert_null(make("nope", 64, 0));
	assert_int_equal(errno, ENODEV);

	a = make("dma_skeleton0", 64, 0);
	assert_non_null(a);
	scpp_copy_caps_get(a, &caps);
	assert_string_equal(caps.engine, "dmadev");
	assert_string_equal(caps.provider, "dma_skeleton0");
	assert_int_equal(caps.flags, SCPP_COPY_CAP_LOCAL | SCPP_COPY_CAP_OFFLOAD |
				     SCPP_COPY_CAP_NEED_REG);
	/* One instance per device. */
	assert_null(make("dma_skeleton0", 64, 0));
	assert_int_equal(errno, EBUSY);
	/* No name: the first free device. */
	b = make(NULL, 64, 0);
	assert_non_null(b);
	scpp_copy_caps_get(b, &caps);
	assert_string_equal(caps.provider, "dma_skeleton1");
	c = make(NULL, 64, 0);
	assert_null(c);
	assert_int_equal(errno, ENODEV);
	ct_free(a);
	/* Freed devices are free again, and restart cleanly. */
	a = make("dma_skeleton0", 128, 0);
	assert_non_null(a);
	ct_free(a);
	ct_free(b);
}

static void
run_diff(uint8_t *mem, size_t len, bool big, uint64_t seed, unsigned int waves)
{
	struct scpp_copy *c = make("dma_skeleton0", 256, 0);
	struct scpp_copy_region *r;
	struct scpp_copy_stats st;
	struct ct_env e;
	struct ct_result res;

	assert_non_null(c);
	assert_int_equal(scpp_copy_mem_register(c, mem, len, SCPP_COPY_ACCESS_LOCAL, &r), 0);
	memset(&e, 0, sizeof(e));
	e.c = c;
	e.local = mem;
	e.local_len = len;
	e.max_len = 2 * MiB;
	e.big_len = big ? 64 * MiB : 0;
	e.big = big ? 2 : 0;
	e.batch_max = 32;
	e.overlap = true;
	e.wait_s = 60;
	ct_fill(mem, len, seed);
	ct_diff_run(&e, seed, waves, &res);
	scpp_copy_stats_get(c, &st);
	/* The device did the work, except the overlapping copies. */
	assert_true(st.parts >= res.ops - res.overlapping - res.ops / 4);
	assert_true(st.cpu_fallback <= res.overlapping && st.cpu_fallback > 0);
	print_message("# dmadev: %u copies (%u overlapping, %" PRIu64 " on the CPU), "
		      "%" PRIu64 " descriptors, %" PRIu64 " bytes\n", res.ops, res.overlapping,
		      st.cpu_fallback, st.parts, res.bytes);
	assert_int_equal(scpp_copy_mem_unregister(c, r), 0);
	ct_free(c);
}

static void
test_dmadev_matches_reference_on_dpdk_memory(void **state)
{
	size_t len = 2 * 64 * MiB + 2 * MiB;
	uint8_t *mem = rte_malloc("copy-test", len, 4096);
	(void)state;

	assert_non_null(mem);
	run_diff(mem, len, true, 31, 250);
	rte_free(mem);
}

static void
test_dmadev_matches_reference_on_ordinary_memory_with_sva(void **state)
{
	size_t len = 32 * MiB;
	uint8_t *mem = ct_map(len);
	(void)state;

	run_diff(mem, len, false, 32, 200);
	ct_unmap(mem, len);
}

static void
test_dmadev_copies_only_within_one_registered_region(void **state)
{
	struct scpp_copy *c = make("dma_skeleton0", 64, 0);
	struct scpp_copy_region *r1, *r2;
	struct scpp_copy_op ops[4];
	struct scpp_copy_cpl cpl[4];
	uint8_t *mem = ct_map(3 * MiB);
	static const int want[4] = {0, -EFAULT, -EFAULT, -EFAULT};
	(void)state;

	assert_non_null(c);
	assert_int_equal(scpp_copy_mem_register(c, mem, MiB, SCPP_COPY_ACCESS_LOCAL, &r1), 0);
	assert_int_equal(scpp_copy_mem_register(c, mem + MiB, MiB, SCPP_COPY_ACCESS_LOCAL, &r2), 0);
	memset(ops, 0, sizeof(ops));
	for (unsigned int i = 0; i < 4; i++) {
		ops[i].kind = SCPP_COPY_LOCAL;
		ops[i].len = 4096;
		ops[i].user = i;
		ops[i].src = mem + 4096 * i;
		ops[i].dst = mem + MiB + 4096 * i;
	}
	ops[1].src = mem + MiB - 100;            /* straddles r1 and r2 */
	ops[2].dst = mem + 2 * MiB + 8;          /* not registered */
	ops[3].src = &want;                      /* not registered either */
	ct_fill(mem, 3 * MiB, 4);
	assert_int_equal(scpp_copy_submit_burst(c, ops, 4), 4);
	assert_int_equal(ct_wait(c, NULL, NULL, cpl, 4, 20), 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(cpl[i].status, want[i]);
	assert_memory_equal(mem + MiB, mem, 4096);
	ct_free(c);
	ct_unmap(mem, 3 * MiB);
}

static void
test_dmadev_long_copies_wait_for_descriptors(void **state)
{
	struct scpp_copy *c = make("dma_skeleton0", 64, 4096);
	struct scpp_copy_region *r;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct scpp_copy_stats st;
	uint8_t *mem = ct_map(17 * MiB);
	(void)state;

	assert_non_null(c);
	ct_fill(mem, 17 * MiB, 5);
	assert_int_equal(scpp_copy_mem_register(c, mem, 17 * MiB, SCPP_COPY_ACCESS_LOCAL, &r), 0);
	/* 8 MiB in 4 KiB descriptors: 2048 of them through a 64-entry ring. */
	memset(&op, 0, sizeof(op));
	op.kind = SCPP_COPY_LOCAL;
	op.src = mem + 3;
	op.dst = mem + 9 * MiB;
	op.len = 8 * MiB;
	assert_int_equal(scpp_copy_submit_burst(c, &op, 1), 1);
	assert_int_equal(ct_wait(c, NULL, NULL, &cpl, 1, 60), 1);
	assert_int_equal(cpl.status, 0);
	assert_memory_equal(mem + 9 * MiB, mem + 3, 8 * MiB);
	scpp_copy_stats_get(c, &st);
	assert_int_equal(st.parts, 2048);
	assert_true(st.hw_busy > 0);
	ct_free(c);
	ct_unmap(mem, 17 * MiB);
}

static void
test_dmadev_unregister_racing_copies_is_refused_until_they_complete(void **state)
{
	struct scpp_copy *c = make("dma_skeleton0", 64, 0);
	struct scpp_copy_region *dr;
	uint8_t *dst = ct_map(8 * MiB);
	uint64_t seed = 99;
	unsigned int refused = 0;
	(void)state;

	assert_non_null(c);
	assert_int_equal(scpp_copy_mem_register(c, dst, 8 * MiB, SCPP_COPY_ACCESS_LOCAL, &dr), 0);
	for (unsigned int it = 0; it < 40; it++) {
		size_t len = 64 * 1024 + test_rand_below(&seed, 4 * MiB);
		uint8_t *src = ct_map(len);
		struct scpp_copy_region *sr;
		struct scpp_copy_op op;
		struct scpp_copy_cpl cpl;
		int rc;

		ct_fill(src, len, it);
		assert_int_equal(scpp_copy_mem_register(c, src, len, SCPP_COPY_ACCESS_LOCAL, &sr), 0);
		memset(&op, 0, sizeof(op));
		op.kind = SCPP_COPY_LOCAL;
		op.src = src;
		op.dst = dst;
		op.len = len;
		assert_int_equal(scpp_copy_submit_burst(c, &op, 1), 1);
		/* The owner wants the memory back: refused while in flight,
		 * however far the device got. */
		rc = scpp_copy_mem_unregister(c, sr);
		assert_int_equal(rc, -EBUSY);
		refused++;
		assert_int_equal(ct_wait(c, NULL, NULL, &cpl, 1, 20), 1);
		assert_int_equal(cpl.status, 0);
		assert_int_equal(scpp_copy_mem_unregister(c, sr), 0);
		assert_memory_equal(dst, src, len);
		/* Unmapped at once: a late device access would fault. */
		ct_unmap(src, len);
	}
	assert_int_equal(refused, 40);
	ct_free(c);
	ct_unmap(dst, 8 * MiB);
}

static void
test_dmadev_free_with_copies_in_flight_stops_the_device_first(void **state)
{
	struct scpp_copy_op ops[16];
	struct scpp_copy_region *r;
	struct scpp_copy *c;
	uint8_t *mem;
	(void)state;

	for (unsigned int it = 0; it < 8; it++) {
		c = make("dma_skeleton0", 64, 0);
		assert_non_null(c);
		mem = ct_map(32 * MiB);
		assert_int_equal(scpp_copy_mem_register(c, mem, 32 * MiB, SCPP_COPY_ACCESS_LOCAL, &r), 0);
		for (unsigned int i = 0; i < 16; i++) {
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].kind = SCPP_COPY_LOCAL;
			ops[i].src = mem + i * MiB;
			ops[i].dst = mem + 16 * MiB + i * MiB;
			ops[i].len = MiB;
		}
		assert_int_equal(scpp_copy_submit_burst(c, ops, 16), 16);
		ct_free(c); /* stops the skeleton's thread, then frees */
		ct_unmap(mem, 32 * MiB);
	}
	/* The device is free and works. */
	c = make("dma_skeleton0", 64, 0);
	assert_non_null(c);
	ct_free(c);
}

/*
 * The store's rule (docs/STORE.md): a value being copied is pinned, and a
 * pinned value cannot move or be freed. The arena is registered once; a copy
 * from one value into another is in flight while the source's entity is
 * deleted: refused, then done after the completion.
 */
static void
test_dmadev_pinned_store_value_cannot_be_deleted_while_copied(void **state)
{
	const struct scpp_oid a = scpp_oid_make(0, 1, 0, 1, 1), b = scpp_oid_make(0, 1, 0, 1, 2);
	const uint32_t data = 7;
	struct scpp_store_config sc;
	struct scpp_store *s;
	struct scpp_copy *c = make("dma_skeleton0", 64, 0);
	struct scpp_copy_region *r;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	uint8_t *pat = malloc(MiB), *back = malloc(MiB);
	void *arena, *src, *dst;
	size_t arena_len;
	(void)state;

	assert_non_null(c);
	scpp_store_config_init(&sc);
	sc.max_entries = 1024;
	sc.max_map_entries = 16;
	sc.extent_bytes = 8 * MiB;
	sc.max_value_len = 2 * MiB;
	s = scpp_store_create(&sc);
	assert_non_null(s);
	scpp_store_mem_region(s, &arena, &arena_len);
	assert_int_equal(scpp_copy_mem_register(c, arena, arena_len, SCPP_COPY_ACCESS_LOCAL, &r), 0);
	ct_fill(pat, MiB, 6);
	assert_int_equal(scpp_store_entity_create(s, a), 0);
	assert_int_equal(scpp_store_entity_create(s, b), 0);
	assert_int_equal(scpp_store_bytes_alloc(s, a, data, SCPP_VT_BYTES, MiB), 0);
	assert_int_equal(scpp_store_bytes_alloc(s, b, data, SCPP_VT_BYTES, MiB), 0);
	assert_int_equal(scpp_store_bytes_write(s, a, data, 0, MiB, pat), 0);
	assert_int_equal(scpp_store_bytes_pin(s, a, data), 0);
	assert_int_equal(scpp_store_bytes_pin(s, b, data), 0);
	assert_int_equal(scpp_store_bytes_ptr(s, a, data, 0, MiB, &src), 0);
	assert_int_equal(scpp_store_bytes_ptr(s, b, data, 0, MiB, &dst), 0);
	memset(&op, 0, sizeof(op));
	op.kind = SCPP_COPY_LOCAL;
	op.src = src;
	op.dst = dst;
	op.len = MiB;
	assert_int_equal(scpp_copy_submit_burst(c, &op, 1), 1);
	/* In flight: the source can be neither deleted nor replaced. */
	assert_int_equal(scpp_store_entity_delete(s, a), -EBUSY);
	assert_int_equal(scpp_store_bytes_resize(s, a, data, 2 * MiB), -EBUSY);
	assert_int_equal(scpp_copy_mem_unregister(c, r), -EBUSY);
	assert_int_equal(ct_wait(c, NULL, NULL, &cpl, 1, 20), 1);
	assert_int_equal(cpl.status, 0);
	assert_int_equal(scpp_store_bytes_unpin(s, a, data), 0);
	assert_int_equal(scpp_store_bytes_unpin(s, b, data), 0);
	assert_int_equal(scpp_store_entity_delete(s, a), 0);
	assert_int_equal(scpp_store_bytes_read(s, b, data, 0, MiB, back), 0);
	assert_memory_equal(back, pat, MiB);
	assert_int_equal(scpp_copy_mem_unregister(c, r), 0);
	ct_free(c);
	scpp_store_free(s);
	free(pat);
	free(back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_dmadev_probe_claim_and_caps, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_matches_reference_on_dpdk_memory, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_matches_reference_on_ordinary_memory_with_sva, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_copies_only_within_one_registered_region, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_long_copies_wait_for_descriptors, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_unregister_racing_copies_is_refused_until_they_complete, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_free_with_copies_in_flight_stops_the_device_first, ct_teardown),
		cmocka_unit_test_teardown(test_dmadev_pinned_store_value_cannot_be_deleted_while_copied, ct_teardown),
	};
	int rc;

	if (ct_eal_dmadev_init("test_copy_dmadev") != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ct_eal_fini();
	return rc;
}
