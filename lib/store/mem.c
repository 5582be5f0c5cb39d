/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Memory providers. The rte one is what appliances use (hugepages, NUMA);
 * the libc one lets tests and tools run without EAL. MAP_NORESERVE keeps
 * large test configurations cheap: pages are only committed when touched.
 */

#include <sys/mman.h>

#include <rte_malloc.h>

#include "store_priv.h"

static void *
rte_alloc(void *ctx, const char *name, size_t size, size_t align, int socket)
{
	(void)ctx;
	return rte_malloc_socket(name, size, (unsigned int)align, socket);
}

static void
rte_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	rte_free(p);
}

const struct scpp_store_mem_ops scpp_store_mem_rte = {
	.alloc = rte_alloc,
	.free = rte_release,
	.ctx = NULL,
};

static void *
libc_alloc(void *ctx, const char *name, size_t size, size_t align, int socket)
{
	void *p;

	(void)ctx;
	(void)name;
	(void)socket;
	if (align > 4096)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void
libc_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	munmap(p, size);
}

const struct scpp_store_mem_ops scpp_store_mem_libc = {
	.alloc = libc_alloc,
	.free = libc_release,
	.ctx = NULL,
};
