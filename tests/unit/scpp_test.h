/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_TEST_H
#define SCPP_TEST_H

/*
 * Shared helpers for cmocka unit tests: a deterministic PRNG (tests use
 * fixed seeds so every failure reproduces) and domain asserts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* xorshift64*: fast, deterministic, good enough for test inputs. */
static inline uint64_t
test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static inline uint64_t
test_rand_below(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : test_rand(s) % n;
}

#endif /* SCPP_TEST_H */
