/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Extent allocator: a binary buddy system over the shard's arena.
 *
 * Size classes are powers of two, 32 B << c. Free blocks are kept on one
 * doubly-linked list per class, the links stored in the free blocks
 * themselves (so the only side memory is the free bitmap, 1 bit per block
 * per class = arena/128 bytes). A block's class is recorded by its owner
 * (the value cell), so freeing needs no header in front of the data and an
 * extent is exactly its class size, aligned to it.
 *
 * Best fit by class: allocation takes the smallest non-empty class >= the
 * request and splits it, pushing the unused halves. The outcome of a
 * sequence of allocations therefore depends only on the free counts per
 * class, which is what makes ext_fits() exact.
 */

#include <string.h>

#include "store_priv.h"

#define NO_OFF UINT64_MAX

struct fblk {
	uint64_t next;
	uint64_t prev;
};

static inline uint64_t
csize(unsigned int c)
{
	return (uint64_t)SCPP_STORE_EXTENT_MIN << c;
}

static inline struct fblk *
fb(const struct extents *x, uint64_t off)
{
	return (struct fblk *)(void *)(x->base + off);
}

static inline uint64_t
bitno(const struct extents *x, uint64_t off, unsigned int c)
{
	return x->bit_base[c] + (off >> (5 + c));
}

static inline bool
bit_get(const struct extents *x, uint64_t b)
{
	return (x->bits[b >> 6] >> (b & 63)) & 1;
}

static inline void
bit_put(struct extents *x, uint64_t b, bool v)
{
	if (v)
		x->bits[b >> 6] |= UINT64_C(1) << (b & 63);
	else
		x->bits[b >> 6] &= ~(UINT64_C(1) << (b & 63));
}

uint64_t
ext_bits_size(uint64_t arena, unsigned int top)
{
	uint64_t bits = 0;

	for (unsigned int c = 0; c <= top; c++)
		bits += (arena >> (5 + c)) + 1;
	return ((bits + 63) / 64) * 8;
}

static void
push(struct extents *x, uint64_t off, unsigned int c)
{
	struct fblk *f = fb(x, off);

	f->next = x->head[c];
	f->prev = NO_OFF;
	if (x->head[c] != NO_OFF)
		fb(x, x->head[c])->prev = off;
	x->head[c] = off;
	bit_put(x, bitno(x, off, c), true);
	x->nfree[c]++;
}

static void
unlink_blk(struct extents *x, uint64_t off, unsigned int c)
{
	struct fblk *f = fb(x, off);

	if (f->prev != NO_OFF)
		fb(x, f->prev)->next = f->next;
	else
		x->head[c] = f->next;
	if (f->next != NO_OFF)
		fb(x, f->next)->prev = f->prev;
	bit_put(x, bitno(x, off, c), false);
	x->nfree[c]--;
}

void
ext_init(struct extents *x, uint8_t *base, uint64_t size, unsigned int top,
	 uint64_t *bits)
{
	uint64_t b = 0;

	memset(x, 0, sizeof(*x));
	x->base = base;
	x->size = size;
	x->top = top;
	x->bits = bits;
	for (unsigned int c = 0; c < SCPP_STORE_CLASSES; c++) {
		x->head[c] = NO_OFF;
		if (c <= top) {
			x->bit_base[c] = b;
			b += (size >> (5 + c)) + 1;
		}
	}
	if (bits != NULL)
		memset(bits, 0, ext_bits_size(size, top));
	/* Push in reverse so the lowest offsets are handed out first. */
	for (uint64_t off = size; off >= csize(top) && size > 0;) {
		off -= csize(top);
		push(x, off, top);
	}
}

unsigned int
ext_class(uint64_t len)
{
	if (len <= SCPP_STORE_EXTENT_MIN)
		return 0;
	return (unsigned int)(64 - __builtin_clzll(len - 1)) - 5;
}

int
ext_alloc(struct extents *x, unsigned int cls, uint64_t *off)
{
	unsigned int c = cls;
	uint64_t o;

	if (x->size == 0 || cls > x->top)
		return -ENOSPC;
	while (c <= x->top && x->head[c] == NO_OFF)
		c++;
	if (c > x->top)
		return -ENOSPC;
	o = x->head[c];
	unlink_blk(x, o, c);
	/* Split down: keep the low half, free the high half at each level. */
	while (c > cls) {
		c--;
		push(x, o + csize(c), c);
	}
	x->nused[cls]++;
	x->used_bytes += csize(cls);
	*off = o;
	return 0;
}

void
ext_free(struct extents *x, uint64_t off, unsigned int cls)
{
	unsigned int c = cls;

	x->nused[cls]--;
	x->used_bytes -= csize(cls);
	while (c < x->top) {
		uint64_t buddy = off ^ csize(c);

		if (!bit_get(x, bitno(x, buddy, c)))
			break;
		unlink_blk(x, buddy, c);
		off &= ~csize(c);
		c++;
	}
	push(x, off, c);
}

uint64_t
ext_largest_free(const struct extents *x)
{
	for (int c = (int)x->top; c >= 0 && x->size > 0; c--)
		if (x->nfree[c] != 0)
			return csize((unsigned int)c);
	return 0;
}

int
ext_fits(const struct extents *x, const uint64_t *len, uint32_t n)
{
	uint64_t nfree[SCPP_STORE_CLASSES];

	memcpy(nfree, x->nfree, sizeof(nfree));
	for (uint32_t i = 0; i < n; i++) {
		unsigned int cls, c;

		if (len[i] <= SCPP_STORE_INLINE_MAX)
			continue;
		cls = ext_class(len[i]);
		if (x->size == 0 || cls > x->top)
			return -ENOSPC;
		for (c = cls; c <= x->top && nfree[c] == 0; c++)
			;
		if (c > x->top)
			return -ENOSPC;
		/* Mirror ext_alloc(): take one of class c, leave one free
		 * block in each class from cls to c - 1. */
		nfree[c]--;
		while (c > cls)
			nfree[--c]++;
	}
	return 0;
}
