/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The dmadev engine: copies posted as descriptors to a DPDK dmadev
 * (dma_skeleton here; IOAT, DSA and others where the hardware exists), one
 * device and one virtual channel per instance, claimed exclusively.
 *
 * IOVA translation is done once, at registration, never per copy:
 * rte_malloc_virt2iova() only answers for the base pointer of an
 * allocation, and rte_mem_virt2iova() walks page tables, so neither belongs
 * on the data path. A region is translated into a sorted table of
 * IOVA-contiguous segments:
 * - IOVA as VA (what dma_skeleton needs; also vfio with an IOMMU): one
 *   segment, IOVA = VA. Non-DPDK memory (malloc, mmap) is accepted only if
 *   the device has RTE_DMA_CAPA_SVA (it addresses process virtual memory
 *   itself, like DSA with PASID or the software skeleton); otherwise the
 *   IOMMU would not have it mapped, and registration says -ENOTSUP.
 * - IOVA as PA: DPDK memory only, one lookup per page (rte_mem_virt2memseg),
 *   physically adjacent pages merged. A copy is split at segment edges.
 *   (Not exercised on this project's machines: dma_skeleton refuses PA.)
 *
 * Completions: a dmadev completes in submission order, so a FIFO of slot
 * pointers, one per descriptor posted, maps each completion to its copy.
 * The doorbell (rte_dma_submit) rings once per burst.
 *
 * One LOCAL copy whose ranges overlap is done on the CPU with memmove:
 * DMA engines do not promise the temporary-buffer semantics, and splitting
 * into non-overlapping fenced pieces costs more than it saves for what is
 * a rare case (a value copied onto itself). Counted in cpu_fallback.
 */

#include <pthread.h>
#include <string.h>

#include <rte_dmadev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memory.h>

#include "copy_priv.h"

/* Default largest descriptor: dmadev lengths are 32-bit. */
#define DMADEV_PART_MAX (UINT64_C(1) << 30)

struct dma_seg {
	uint64_t off;   /* offset in the region */
	uint64_t len;
	rte_iova_t iova;
};

struct dma_region {
	uint32_t nseg;
	struct dma_seg seg[];
};

struct dmadev_priv {
	struct copy_slot **fifo; /* one entry per descriptor in flight */
	uint32_t fifo_mask;
	uint32_t fifo_head;
	uint32_t fifo_tail;
	int16_t dev;
	uint16_t vchan;
	bool doorbell;
	bool sva;
	uint16_t nb_desc;
};

/* Devices claimed by instances (control path, any thread). */
static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t claimed;

static bool
eal_ready(void)
{
	/* rte_eal_iova_mode() is RTE_IOVA_DC until rte_eal_init() decides. */
	return rte_eal_iova_mode() != RTE_IOVA_DC;
}

static bool
copies_memory(int16_t id)
{
	struct rte_dma_info info;
	const uint64_t need = RTE_DMA_CAPA_MEM_TO_MEM | RTE_DMA_CAPA_OPS_COPY;

	return rte_dma_info_get(id, &info) == 0 && (info.dev_capa & need) == need &&
	       info.max_vchans >= 1;
}

/* The device to use, or -ENODEV with why filled. */
static int
find_device(const struct scpp_copy_config *cfg, bool skip_claimed, char *why, size_t why_len)
{
	int16_t id;

	if (!eal_ready()) {
		snprintf(why, why_len, "dmadev: EAL is not initialised");
		return -ENODEV;
	}
	if (cfg->dmadev.device != NULL) {
		int i = rte_dma_get_dev_id_by_name(cfg->dmadev.device);

		if (i < 0) {
			snprintf(why, why_len, "dmadev: no device named \"%s\" (EAL "
				 "--vdev=dma_skeleton, or an IOAT/DSA device bound to vfio)",
				 cfg->dmadev.device);
			return -ENODEV;
		}
		if (!copies_memory((int16_t)i)) {
			snprintf(why, why_len, "dmadev: \"%s\" does not copy memory to memory",
				 cfg->dmadev.device);
			return -ENODEV;
		}
		return i;
	}
	RTE_DMA_FOREACH_DEV(id) {
		if (id >= 64 || !copies_memory(id))
			continue;
		if (skip_claimed && (claimed & (UINT64_C(1) << id)))
			continue;
		return id;
	}
	snprintf(why, why_len, "dmadev: no free device copies memory to memory "
		 "(%u dmadevs; EAL --vdev=dma_skeleton adds one)", rte_dma_count_avail());
	return -ENODEV;
}

static int
dmadev_probe(const struct scpp_copy_config *cfg, char *why, size_t why_len)
{
	int rc;

	pthread_mutex_lock(&claim_lock);
	rc = find_device(cfg, false, why, why_len);
	pthread_mutex_unlock(&claim_lock);
	return rc < 0 ? rc : 0;
}

static uint32_t
pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static void
unclaim(int16_t id)
{
	pthread_mutex_lock(&claim_lock);
	claimed &= ~(UINT64_C(1) << id);
	pthread_mutex_unlock(&claim_lock);
}

static int
dmadev_init(struct scpp_copy *c, const struct scpp_copy_config *cfg)
{
	struct rte_dma_conf conf = {.nb_vchans = 1, .enable_silent = false};
	struct rte_dma_vchan_conf vc = {.direction = RTE_DMA_DIR_MEM_TO_MEM};
	struct rte_dma_info info;
	struct dmadev_priv *p;
	char why[160];
	int id, rc;

	pthread_mutex_lock(&claim_lock);
	id = find_device(cfg, true, why, sizeof(why));
	if (id >= 0 && id >= 64)
		id = -ENODEV;
	if (id >= 0 && (claimed & (UINT64_C(1) << id))) {
		pthread_mutex_unlock(&claim_lock);
		COPY_LOG(ERR, "%s: device %s is used by another instance", c->name,
			 cfg->dmadev.device);
		return -EBUSY;
	}
	if (id >= 0)
		claimed |= UINT64_C(1) << id;
	pthread_mutex_unlock(&claim_lock);
	if (id < 0) {
		COPY_LOG(ERR, "%s", why);
		return id;
	}
	rc = rte_dma_info_get((int16_t)id, &info);
	if (rc != 0)
		goto err_io;
	p = copy_zalloc(c, sizeof(*p));
	if (p == NULL) {
		unclaim((int16_t)id);
		return -ENOMEM;
	}
	p->dev = (int16_t)id;
	p->sva = (info.dev_capa & RTE_DMA_CAPA_SVA) != 0;
	/* A descriptor per slot is enough for copies of one part; longer
	 * ones wait in the ring for room (EAGAIN), which is correct, only
	 * slower. */
	p->nb_desc = (uint16_t)RTE_MIN(RTE_MAX(pow2_at_least(c->mask + 1), info.min_desc),
				       info.max_desc);
	p->fifo = copy_zalloc(c, (size_t)p->nb_desc * sizeof(*p->fifo));
	if (p->fifo == NULL) {
		copy_free_mem(c, p, sizeof(*p));
		unclaim((int16_t)id);
		return -ENOMEM;
	}
	p->fifo_mask = p->nb_desc - 1u;
	vc.nb_desc = p->nb_desc;
	rc = rte_dma_configure(p->dev, &conf);
	if (rc == 0)
		rc = rte_dma_vchan_setup(p->dev, 0, &vc);
	if (rc == 0)
		rc = rte_dma_start(p->dev);
	if (rc != 0) {
		COPY_LOG(ERR, "%s: device %s: configure/start failed: %s", c->name,
			 info.dev_name, rte_strerror(-rc));
		copy_free_mem(c, p->fifo, (size_t)p->nb_desc * sizeof(*p->fifo));
		copy_free_mem(c, p, sizeof(*p));
		unclaim((int16_t)id);
		return -EIO;
	}
	c->priv = p;
	c->caps.flags = SCPP_COPY_CAP_LOCAL | SCPP_COPY_CAP_OFFLOAD | SCPP_COPY_CAP_NEED_REG;
	copy_strlcpy(c->caps.provider, info.dev_name, sizeof(c->caps.provider));
	c->part_max = DMADEV_PART_MAX;
	return 0;
err_io:
	unclaim((int16_t)id);
	return -EIO;
}

static void
dmadev_quiesce(struct scpp_copy *c)
{
	struct dmadev_priv *p = c->priv;

	/* Stopping the device waits for its work to end (dma_skeleton joins
	 * its copy thread): after this, no descriptor touches memory. */
	rte_dma_stop(p->dev);
	p->fifo_head = p->fifo_tail;
	copy_abandon_parts(c, -ECANCELED);
}

static void
dmadev_fini(struct scpp_copy *c)
{
	struct dmadev_priv *p = c->priv;

	unclaim(p->dev);
	copy_free_mem(c, p->fifo, (size_t)p->nb_desc * sizeof(*p->fifo));
	copy_free_mem(c, p, sizeof(*p));
	c->priv = NULL;
}

static size_t
dma_region_size(uint32_t nseg)
{
	return sizeof(struct dma_region) + (size_t)nseg * sizeof(struct dma_seg);
}

/*
 * IOVA as PA: walk the range page by page and merge physically adjacent
 * pages. With @out NULL, only count the segments.
 */
static int
walk_pa(const struct scpp_copy_region *r, struct dma_region *out, uint32_t *nseg)
{
	uintptr_t a = (uintptr_t)r->base, end = a + r->len;
	uint32_t n = 0;
	rte_iova_t next = RTE_BAD_IOVA;

	while (a < end) {
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list((void *)a);
		const struct rte_memseg *ms =
			msl == NULL ? NULL : rte_mem_virt2memseg((void *)a, msl);
		uint64_t piece;
		rte_iova_t iova;

		if (ms == NULL || ms->iova == RTE_BAD_IOVA)
			return -ENOTSUP;
		iova = ms->iova + (a - (uintptr_t)ms->addr);
		piece = RTE_MIN((uint64_t)end, (uint64_t)(uintptr_t)ms->addr + ms->len) - a;
		if (n > 0 && iova == next) {
			if (out != NULL)
				out->seg[n - 1].len += piece;
		} else {
			if (out != NULL) {
				out->seg[n].off = a - (uintptr_t)r->base;
				out->seg[n].len = piece;
				out->seg[n].iova = iova;
			}
			n++;
		}
		next = iova + piece;
		a += piece;
	}
	*nseg = n;
	return 0;
}

static int
dmadev_reg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	struct dmadev_priv *p = c->priv;
	bool dpdk_mem = rte_mem_virt2memseg_list(r->base) != NULL &&
			rte_mem_virt2memseg_list(r->base + r->len - 1) != NULL;
	struct dma_region *d;
	uint32_t nseg = 1;
	int rc;

	if (rte_eal_iova_mode() == RTE_IOVA_VA) {
		if (!dpdk_mem && !p->sva)
			return -ENOTSUP;
	} else {
		if (!dpdk_mem)
			return -ENOTSUP;
		rc = walk_pa(r, NULL, &nseg);
		if (rc != 0)
			return rc;
	}
	d = copy_zalloc(c, dma_region_size(nseg));
	if (d == NULL)
		return -ENOMEM;
	d->nseg = nseg;
	if (rte_eal_iova_mode() == RTE_IOVA_VA) {
		d->seg[0].off = 0;
		d->seg[0].len = r->len;
		d->seg[0].iova = (rte_iova_t)(uintptr_t)r->base;
	} else {
		rc = walk_pa(r, d, &nseg);
		if (rc != 0 || nseg != d->nseg) {
			/* The mapping changed between the two walks. */
			copy_free_mem(c, d, dma_region_size(d->nseg));
			return rc != 0 ? rc : -EAGAIN;
		}
	}
	r->eng = d;
	return 0;
}

static void
dmadev_dereg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	struct dma_region *d = r->eng;

	if (d != NULL)
		copy_free_mem(c, d, dma_region_size(d->nseg));
	r->eng = NULL;
}

/* IOVA of @ptr in region @r and the bytes left in its segment. */
static inline rte_iova_t
region_iova(const struct scpp_copy_region *r, const uint8_t *ptr, uint64_t *left)
{
	const struct dma_region *d = r->eng;
	uint64_t off = (uint64_t)(ptr - r->base);
	uint32_t lo = 0, hi = d->nseg;

	/* Binary search for the segment holding off (one segment: done). */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (d->seg[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	*left = d->seg[lo].off + d->seg[lo].len - off;
	return d->seg[lo].iova + (off - d->seg[lo].off);
}

static int
dmadev_post(struct scpp_copy *c, struct copy_slot *s)
{
	struct dmadev_priv *p = c->priv;

	if (SCPP_UNLIKELY(s->flags & SLOT_OVERLAP)) {
		memmove(s->dst, s->src, s->len);
		s->posted = s->len;
		scpp_counter_add(&c->st.cpu_fallback, 1);
		return 0;
	}
	while (s->posted < s->len) {
		uint64_t sleft, dleft, part;
		rte_iova_t src, dst;
		int rc;

		if (p->fifo_tail - p->fifo_head > p->fifo_mask)
			return -EAGAIN;
		src = region_iova(s->sreg, s->src + s->posted, &sleft);
		dst = region_iova(s->dreg, s->dst + s->posted, &dleft);
		part = RTE_MIN(s->len - s->posted, c->part_max);
		part = RTE_MIN(part, RTE_MIN(sleft, dleft));
		rc = rte_dma_copy(p->dev, p->vchan, src, dst, (uint32_t)part, 0);
		if (SCPP_UNLIKELY(rc < 0))
			return rc == -ENOSPC ? -EAGAIN : -EIO;
		p->fifo[p->fifo_tail++ & p->fifo_mask] = s;
		s->posted += part;
		s->parts_out++;
		p->doorbell = true;
		scpp_counter_add(&c->st.parts, 1);
	}
	return 0;
}

static void
dmadev_flush(struct scpp_copy *c)
{
	struct dmadev_priv *p = c->priv;

	if (p->doorbell) {
		rte_dma_submit(p->dev, p->vchan);
		p->doorbell = false;
	}
}

static int
status_errno(enum rte_dma_status_code st)
{
	switch (st) {
	case RTE_DMA_STATUS_SUCCESSFUL:
		return 0;
	case RTE_DMA_STATUS_USER_ABORT:
	case RTE_DMA_STATUS_NOT_ATTEMPTED:
		return -ECANCELED;
	case RTE_DMA_STATUS_INVALID_SRC_ADDR:
	case RTE_DMA_STATUS_INVALID_DST_ADDR:
	case RTE_DMA_STATUS_INVALID_ADDR:
	case RTE_DMA_STATUS_BUS_READ_ERROR:
	case RTE_DMA_STATUS_BUS_WRITE_ERROR:
	case RTE_DMA_STATUS_BUS_ERROR:
	case RTE_DMA_STATUS_PAGE_FAULT:
		return -EFAULT;
	case RTE_DMA_STATUS_INVALID_LENGTH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

#define REAP_BURST 64

static void
dmadev_reap(struct scpp_copy *c)
{
	struct dmadev_priv *p = c->priv;
	enum rte_dma_status_code st[REAP_BURST];
	uint16_t last, n;

	/* Bounded: at most the descriptors in flight (<= nb_desc). */
	while (p->fifo_head != p->fifo_tail) {
		n = rte_dma_completed_status(p->dev, p->vchan, REAP_BURST, &last, st);
		for (uint16_t i = 0; i < n; i++) {
			struct copy_slot *s = p->fifo[p->fifo_head++ & p->fifo_mask];

			copy_part_done(c, s, status_errno(st[i]));
		}
		if (n < REAP_BURST)
			break;
	}
}

const struct copy_engine copy_engine_dmadev = {
	.name = "dmadev",
	.probe = dmadev_probe,
	.init = dmadev_init,
	.quiesce = dmadev_quiesce,
	.fini = dmadev_fini,
	.reg = dmadev_reg,
	.dereg = dmadev_dereg,
	.post = dmadev_post,
	.flush = dmadev_flush,
	.reap = dmadev_reap,
};
