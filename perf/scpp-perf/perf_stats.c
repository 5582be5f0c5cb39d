/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency histogram of scpp-perf.
 *
 * Log-linear buckets over TSC cycles, like HdrHistogram with 7 significant
 * bits: values below 128 get a bucket each, and every power of two above
 * that is cut into 128 equal buckets, so a bucket's width is at most 1/128
 * (0.78 %) of its lower bound: a quantile, reported as its bucket's upper
 * bound, is at most 0.78 % above the true value (at 2.6 GHz, 0.5 us at
 * 60 us). With 32 sub-buckets (3 %) two runs' p99s often printed as the
 * same bucket edge (61.44 us). 8192 buckets cover all of uint64_t; the add
 * is a clz, a shift and an increment.
 */
#include <string.h>

#include "perf_priv.h"

void
perf_hist_reset(struct perf_hist *h)
{
	memset(h, 0, sizeof(*h));
}

uint64_t
perf_hist_upper(unsigned int i)
{
	unsigned int shift;

	if (i < PERF_HIST_SUB)
		return i;
	shift = i / PERF_HIST_SUB - 1;
	/* bucket i covers [(sub + SUB) << shift, (sub + SUB + 1) << shift) */
	return (((uint64_t)(i % PERF_HIST_SUB + PERF_HIST_SUB + 1)) << shift) - 1;
}

uint64_t
perf_hist_quantile(const struct perf_hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned int i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (i = 0; i < PERF_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > want) {
			uint64_t u = perf_hist_upper(i);

			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}

void
perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src)
{
	unsigned int i;

	for (i = 0; i < PERF_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}
