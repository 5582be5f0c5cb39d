/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_COPY_H
#define SCPP_COPY_H

/**
 * @file
 * Copy engines: byte ranges moved by the CPU, by a DMA engine, or by
 * one-sided RDMA, behind one interface (docs/COPY.md has the full story).
 *
 * Model
 * -----
 * - An **engine** is an implementation, selected by name:
 *   - `memcpy`: the CPU copies, at submit; the reference and the fallback;
 *   - `dmadev`: any DPDK dmadev (dma_skeleton, IOAT, DSA, ...);
 *   - `fabric`: libfabric RMA (fi_write / fi_read) over a provider such as
 *     `shm`, `tcp`, `verbs` or `efa`;
 *   - `verbs`: rdma-core RC queue pairs, through a replaceable ops table
 *     (struct scpp_copy_verbs_ops).
 *   scpp_copy_probe() says whether an engine is offered on this host.
 * - An **instance** (struct scpp_copy) is one engine opened for one worker:
 *   a fixed ring of `ring_size` copy slots, its own device queue or
 *   endpoint, its own registered regions, its own counters. Workers never
 *   share an instance.
 * - A **copy** (struct scpp_copy_op) moves `len` bytes, of one kind:
 *   - SCPP_COPY_LOCAL: local `dst` <- local `src`;
 *   - SCPP_COPY_WRITE: remote window at `remote_off` <- local `src`;
 *   - SCPP_COPY_READ: local `dst` <- remote window at `remote_off`.
 *   A copy is submitted in a burst (scpp_copy_submit_burst()), occupies one
 *   slot until its completion has been returned by scpp_copy_poll_burst(),
 *   and completes with a per-copy status (struct scpp_copy_cpl).
 * - A **region** is memory registered with an instance
 *   (scpp_copy_mem_register()). Engines with SCPP_COPY_CAP_NEED_REG
 *   (dmadev, fabric, verbs) only copy from and to registered regions: the
 *   region is where they find the IOVA, descriptor or key, and a region
 *   used by a copy in flight cannot be unregistered (-EBUSY), which is what
 *   keeps a copy from outliving its memory.
 * - A **window** (struct scpp_copy_window) describes a region so that
 *   a peer instance in another process or on another node can target it
 *   with one-sided operations: engine, provider, fabric address, base,
 *   length, key. Its 128-byte encoding (scpp_copy_window_encode()) is
 *   what travels between nodes (docs/COPY.md §Window descriptor).
 *   A peer attaches a window (scpp_copy_remote_attach()) and names the
 *   attachment in its copies.
 * - A **link** is the connection that connection-oriented engines (verbs:
 *   RC queue pairs; SCPP_COPY_CAP_LINKS) need before a peer's windows can
 *   be attached: a three-message exchange, offer -> accept -> finish,
 *   carried by the caller (scpp_copy_link_offer()).
 *
 * Completion semantics
 * --------------------
 * - Completions are returned **in submission order**, always, whatever
 *   order the hardware finishes in; a copy's completion is returned once.
 * - A copy that is accepted always completes. A copy that is invalid
 *   (bad kind, length, alignment, memory outside registered regions, an
 *   offset outside its window) is accepted, never touches memory, and
 *   completes with its error status at the next poll, in order: errors
 *   travel with the copy, and a burst stops short only when the ring is
 *   full.
 * - status 0 means every byte was copied; any other status means the copy
 *   failed and the destination range holds unspecified bytes (some, all or
 *   none of the new ones). Nothing partly written is reported as done.
 * - A copy not complete `timeout_ns` after its submission completes with
 *   -ETIMEDOUT. If the device still owns it (it was posted), its slot and
 *   its regions stay held until the device lets go (a "zombie"); an
 *   instance whose ring fills with zombies accepts nothing more. Nothing is
 *   ever freed while a device may still write into it.
 * - Copies in flight at the same time are not ordered with respect to each
 *   other: a copy must not read or write bytes another copy in flight
 *   writes. Callers that chain copies wait for the first completion.
 * - Overlapping source and destination of one SCPP_COPY_LOCAL copy behave
 *   as if the bytes went through a temporary buffer (docs/PROTOCOL.md §15).
 *
 * Progress
 * --------
 * Engines make progress only inside scpp_copy_submit_burst() and
 * scpp_copy_poll_burst() (no hidden threads, except what a device's own
 * driver runs, e.g. dma_skeleton's copy thread). Engines with
 * SCPP_COPY_CAP_TARGET_PROGRESS (fabric over shm, tcp) also move the bytes
 * of **peers'** one-sided operations on this instance's windows during
 * scpp_copy_poll_burst(): an instance that exposes windows must be polled
 * (n = 0 is fine) at least every few microseconds while peers may use
 * them, or the peers' copies stall and eventually time out.
 *
 * Threading
 * ---------
 * An instance belongs to one thread (its worker) from scpp_copy_create()
 * until scpp_copy_free(): every call on it comes from that thread, except
 * scpp_copy_stats_get() and scpp_copy_caps_get(), which any thread may
 * call (relaxed reads). Registration, attachment and links are control
 * path (they may allocate, make system calls and block briefly): the
 * worker does them at start or when told by the control thread. Submit
 * and poll are data path: they never block, allocate, lock or log.
 *
 * Errors
 * ------
 * Integer functions return 0 or a negative errno; constructors return NULL
 * with rte_errno and errno set; burst functions return counts. Each
 * function lists its errors. Per-copy statuses (struct scpp_copy_cpl) are
 * 0 or a negative errno:
 * - -EINVAL: a NULL pointer with a non-zero length, an unknown kind, an
 *   address or length that breaks the engine's alignment, a range that
 *   wraps the address space, a remote attachment of another instance;
 * - -EOPNOTSUPP: the engine does not do this kind of copy;
 * - -E2BIG: longer than the instance's max_len;
 * - -EFAULT: a local range not inside one registered region (engines with
 *   SCPP_COPY_CAP_NEED_REG), or a local address the device reported bad;
 * - -ERANGE: a remote range outside its window;
 * - -EACCES: the window or region does not grant the access, or the peer
 *   rejected the key or the range (verbs; fabric providers report a
 *   refusal their own way: tcp -ECANCELED, shm only by a timeout);
 * - -ETIMEDOUT: not complete within timeout_ns;
 * - -ENOTCONN, -ECONNRESET, -EHOSTUNREACH, -ECONNREFUSED: the peer is
 *   gone or the connection to it broke;
 * - -ECANCELED: the device flushed the copy (its queue pair failed), the
 *   provider cancelled it, or scpp_copy_recover() ended it;
 * - -ENODEV: the device was lost; every later copy fails the same way;
 * - -EIO: any other device or provider error.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "scpp_common.h"

/** Largest burst for submit and poll; stack arrays are sized to it. */
#define SCPP_COPY_BURST_MAX 64
/** Largest ring_size (slots of copies in flight per instance). */
#define SCPP_COPY_RING_MAX 65536
/** Default ring_size. */
#define SCPP_COPY_RING_DEFAULT 1024
/** Default and largest max_len: the longest single copy. */
#define SCPP_COPY_LEN_DEFAULT (UINT64_C(64) << 20)
#define SCPP_COPY_LEN_MAX (UINT64_C(1) << 40)
/** Default timeout_ns: 1 s. */
#define SCPP_COPY_TIMEOUT_DEFAULT UINT64_C(1000000000)
/** Largest max_regions and max_remotes. */
#define SCPP_COPY_REGIONS_MAX 256
#define SCPP_COPY_REMOTES_MAX 4096
/** Bytes of an encoded window descriptor (docs/COPY.md). */
#define SCPP_COPY_WINDOW_LEN 128
/** Bytes of an encoded link message (docs/COPY.md). */
#define SCPP_COPY_LINK_LEN 64
/** Longest fabric address in a window, in bytes. */
#define SCPP_COPY_ADDR_MAX 64
/** Size of a provider-name field, NUL included. */
#define SCPP_COPY_PROVIDER_MAX 24
/** Size of an engine-name field, NUL included. */
#define SCPP_COPY_NAME_MAX 16

struct scpp_copy;        /**< an engine instance (opaque) */
struct scpp_copy_region; /**< a registered region (opaque) */
struct scpp_copy_remote; /**< an attached peer window (opaque) */

/** What a copy moves. */
enum scpp_copy_kind {
	SCPP_COPY_LOCAL = 0, /**< local dst <- local src */
	SCPP_COPY_WRITE = 1, /**< remote (window, remote_off) <- local src */
	SCPP_COPY_READ = 2,  /**< local dst <- remote (window, remote_off) */
};

/** Capability flags (struct scpp_copy_caps.flags). */
enum {
	SCPP_COPY_CAP_LOCAL = 1u << 0,   /**< does SCPP_COPY_LOCAL */
	SCPP_COPY_CAP_WRITE = 1u << 1,   /**< does SCPP_COPY_WRITE */
	SCPP_COPY_CAP_READ = 1u << 2,    /**< does SCPP_COPY_READ */
	SCPP_COPY_CAP_OFFLOAD = 1u << 3, /**< the calling core does not move the bytes */
	SCPP_COPY_CAP_NEED_REG = 1u << 4, /**< local ranges must be in registered regions */
	SCPP_COPY_CAP_WINDOWS = 1u << 5, /**< regions can be exported as windows */
	SCPP_COPY_CAP_LINKS = 1u << 6,   /**< peers must be linked before attaching */
	SCPP_COPY_CAP_TARGET_PROGRESS = 1u << 7, /**< peers' copies into our windows
						   *   move only while we poll */
};

/** Region access flags (scpp_copy_mem_register()). */
enum {
	SCPP_COPY_ACCESS_LOCAL = 1u << 0,  /**< this instance copies from/to it */
	SCPP_COPY_ACCESS_REMOTE_READ = 1u << 1,  /**< peers may read it (windows) */
	SCPP_COPY_ACCESS_REMOTE_WRITE = 1u << 2, /**< peers may write it (windows) */
};

/** Window descriptor engine codes (struct scpp_copy_window.engine). */
enum {
	SCPP_COPY_WINDOW_FABRIC = 1,
	SCPP_COPY_WINDOW_VERBS = 2,
};

/** One copy to submit. Fields a kind does not use are ignored. */
struct scpp_copy_op {
	uint64_t user;        /**< returned unchanged in the completion */
	void *dst;            /**< LOCAL, READ: local destination */
	const void *src;      /**< LOCAL, WRITE: local source */
	struct scpp_copy_remote *remote; /**< WRITE, READ: the attached window */
	uint64_t remote_off;  /**< WRITE, READ: byte offset in the window */
	uint64_t len;         /**< bytes; 0 is a valid copy that moves nothing */
	uint8_t kind;         /**< enum scpp_copy_kind */
	uint8_t rsv[7];       /**< ignored */
};

/** One completion. */
struct scpp_copy_cpl {
	uint64_t user;  /**< the op's user value */
	uint64_t len;   /**< bytes copied: the op's len on success, else 0 */
	int32_t status; /**< 0, or a negative errno (file comment) */
	uint8_t kind;   /**< the op's kind */
	uint8_t rsv[3];
};

/** What an instance can do; constant for its life. */
struct scpp_copy_caps {
	char engine[SCPP_COPY_NAME_MAX];     /**< "memcpy", "dmadev", "fabric", "verbs" */
	char provider[SCPP_COPY_PROVIDER_MAX]; /**< dmadev name, fabric provider,
						 *   verbs device; "" for memcpy */
	uint32_t flags;       /**< SCPP_COPY_CAP_* */
	uint32_t align;       /**< addresses, offsets and lengths must be multiples */
	uint64_t max_len;     /**< longest single copy */
	uint32_t ring_size;   /**< copies in flight (slots), incl. zombies */
	uint32_t max_burst;   /**< SCPP_COPY_BURST_MAX */
	uint32_t max_regions; /**< registered regions at once */
	uint32_t max_remotes; /**< attached windows at once */
};

/** Counters. Cumulative except inflight and zombies. */
struct scpp_copy_stats {
	uint64_t submitted;   /**< copies accepted by submit (valid or not) */
	uint64_t completed;   /**< completions returned with status 0 */
	uint64_t failed;      /**< completions returned with an error (incl. below) */
	uint64_t bytes;       /**< bytes of the completed copies */
	uint64_t ring_full;   /**< copies refused by submit: ring full */
	uint64_t invalid;     /**< copies failed at submit by validation */
	uint64_t timeouts;    /**< completions returned with -ETIMEDOUT */
	uint64_t late;        /**< device completions of copies already timed out */
	uint64_t hw_busy;     /**< posts the device refused for now (retried) */
	uint64_t cpu_fallback; /**< copies an offload engine did on the CPU */
	uint64_t parts;       /**< device operations posted (a copy may need several) */
	uint32_t inflight;    /**< slots in use now (submitted, not yet reclaimed) */
	uint32_t zombies;     /**< reported timed out, still owned by the device */
};

/**
 * A window: what a peer needs to target a region with one-sided copies.
 * The peer's target address for window offset `off` is `base + off`.
 */
struct scpp_copy_window {
	uint8_t engine;     /**< SCPP_COPY_WINDOW_FABRIC or _VERBS */
	uint8_t access;     /**< SCPP_COPY_ACCESS_REMOTE_READ | _REMOTE_WRITE */
	uint8_t addr_len;   /**< bytes of addr used, 1..SCPP_COPY_ADDR_MAX */
	uint8_t rsv;
	uint32_t tag;       /**< random id of the owning instance */
	uint64_t base;      /**< target address of offset 0 */
	uint64_t len;       /**< bytes, >= 1 */
	uint64_t key;       /**< fabric MR key or verbs rkey */
	char provider[SCPP_COPY_PROVIDER_MAX]; /**< NUL-terminated */
	uint8_t addr[SCPP_COPY_ADDR_MAX]; /**< fabric address (fi_getname) or
					   *   verbs GID (16) + LID (2) + port (1) */
};

/**
 * Memory provider for the instance's own state (ring, tables). Called at
 * create and registration, never on the data path.
 */
struct scpp_copy_mem_ops {
	/** @p size bytes aligned to @p align (power of two <= 4096), zeroed, on
	 *  NUMA @p socket (-1 any). NULL on failure. */
	void *(*alloc)(void *ctx, size_t size, size_t align, int socket);
	/** Return memory from alloc(); @p p is never NULL. */
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx; /**< passed to both */
};

/** libc (the default): works without EAL. Not NUMA-aware. */
extern const struct scpp_copy_mem_ops scpp_copy_mem_libc;
/** rte_zmalloc_socket()/rte_free(): hugepages, NUMA. Needs EAL. */
extern const struct scpp_copy_mem_ops scpp_copy_mem_rte;

/**
 * rdma-core calls used by the verbs engine, one pointer each, so that tests
 * can replace the device (ibv_post_send and ibv_poll_cq are static inline
 * in <infiniband/verbs.h> and cannot be wrapped at link time). Every
 * member must be set. scpp_copy_verbs_ops_rdma_core calls the library.
 * get_async_event must not block (the real table sets the async fd to
 * O_NONBLOCK in open_device) and returns -1 with errno EAGAIN when there
 * is no event.
 */
struct scpp_copy_verbs_ops {
	struct ibv_device **(*get_device_list)(int *num);
	void (*free_device_list)(struct ibv_device **list);
	const char *(*get_device_name)(struct ibv_device *dev);
	struct ibv_context *(*open_device)(struct ibv_device *dev);
	int (*close_device)(struct ibv_context *ctx);
	int (*query_device)(struct ibv_context *ctx, struct ibv_device_attr *attr);
	int (*query_port)(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr);
	int (*query_gid)(struct ibv_context *ctx, uint8_t port, int index, union ibv_gid *gid);
	struct ibv_pd *(*alloc_pd)(struct ibv_context *ctx);
	int (*dealloc_pd)(struct ibv_pd *pd);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t len, int access);
	int (*dereg_mr)(struct ibv_mr *mr);
	struct ibv_cq *(*create_cq)(struct ibv_context *ctx, int cqe);
	int (*destroy_cq)(struct ibv_cq *cq);
	struct ibv_qp *(*create_qp)(struct ibv_pd *pd, struct ibv_qp_init_attr *attr);
	int (*destroy_qp)(struct ibv_qp *qp);
	int (*modify_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask);
	int (*post_send)(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad);
	int (*poll_cq)(struct ibv_cq *cq, int n, struct ibv_wc *wc);
	int (*get_async_event)(struct ibv_context *ctx, struct ibv_async_event *ev);
	void (*ack_async_event)(struct ibv_async_event *ev);
};

/** The ops table that calls libibverbs. */
extern const struct scpp_copy_verbs_ops scpp_copy_verbs_ops_rdma_core;

/** Instance configuration; fill with scpp_copy_config_init(), then adjust. */
struct scpp_copy_config {
	const char *engine;   /**< "memcpy", "dmadev", "fabric" or "verbs" */
	const char *name;     /**< diagnostic name (may be NULL) */
	uint32_t ring_size;   /**< slots: a power of two, 1..SCPP_COPY_RING_MAX */
	uint32_t max_regions; /**< 1..SCPP_COPY_REGIONS_MAX (default 16) */
	uint32_t max_remotes; /**< 0..SCPP_COPY_REMOTES_MAX (default 64) */
	uint32_t align;       /**< 0: the engine's; else a power of two that
			       *   the instance enforces on top of it */
	uint64_t max_len;     /**< 1..SCPP_COPY_LEN_MAX (default 64 MiB) */
	uint64_t part_max;    /**< largest device operation; a longer copy is
			       *   split (0: the engine's default) */
	uint64_t timeout_ns;  /**< per copy, from submit; 0 = never */
	int socket_id;        /**< NUMA socket of the instance state, -1 any */
	struct {
		const char *device; /**< dmadev name; NULL: the first free one
				     *   that copies memory to memory */
	} dmadev;
	struct {
		const char *provider; /**< "shm", "tcp", "verbs", "efa", ... */
		const char *node;     /**< local address to bind (tcp: an IP);
				       *   NULL: the provider's choice (which
				       *   may be any interface); ignored by
				       *   host-local shm */
		const char *service;  /**< local port; NULL: any; ignored by shm */
	} fabric;
	struct {
		const char *device;   /**< rdma device name; NULL: the first */
		uint8_t port;         /**< 1-based port (default 1) */
		int gid_index;        /**< GID index (RoCE); -1: none (IB LID) */
		const struct scpp_copy_verbs_ops *ops; /**< NULL: rdma-core */
	} verbs;
	/** Clock for timeouts, in ns. NULL: CLOCK_MONOTONIC_COARSE when
	 *  timeout_ns is at least 16 of its ticks (then timeouts fire up to
	 *  one tick, a few ms, late), else CLOCK_MONOTONIC. Tests inject. */
	uint64_t (*clock)(void *ctx);
	void *clock_ctx;      /**< passed to clock */
	const struct scpp_copy_mem_ops *mem; /**< NULL: scpp_copy_mem_libc */
	/**
	 * Fault injection for tests, in builds with -Dtest_faults=true only
	 * (elsewhere a non-zero value is EINVAL): the instance behaves as a
	 * device that hangs at its first copy of exactly this many bytes — it
	 * takes that copy and every later one and completes none of them, so
	 * they time out (-ETIMEDOUT after timeout_ns) and stay zombies until
	 * scpp_copy_free() or scpp_copy_recover() (docs/COPY.md "Stuck
	 * copies"). 0: off.
	 */
	uint64_t test_stall_len;
};

/* ---------------------------------------------------------------- control */

/**
 * Fill @p cfg with defaults: engine "memcpy", ring 1024, 16 regions, 64
 * remotes, max_len 64 MiB, timeout 1 s, fabric provider "tcp" on node
 * 127.0.0.1, verbs port 1 without GID, libc memory, the default clock.
 */
void scpp_copy_config_init(struct scpp_copy_config *cfg);

/** Number of engines built in (offered or not). */
unsigned int scpp_copy_engine_count(void);

/** Name of built-in engine @p i (0-based), or NULL past the end. */
const char *scpp_copy_engine_name(unsigned int i);

/**
 * Is the engine @p cfg->engine offered on this host with this
 * configuration? Opens what it must to find out (a dmadev's info, a
 * fabric provider's fi_getinfo, a verbs device list) and closes it again.
 * The verbs engine logs one line the first time it finds no device.
 * Control thread; may block briefly. EAL must be initialised for dmadev.
 *
 * @param why     receives a one-line reason when not offered (may be NULL)
 * @param why_len size of @p why
 * @return 0 if offered; -EINVAL (NULL @p cfg or engine); -ENOENT (no
 *   engine of that name); -ENODEV (not offered here: @p why says why).
 */
int scpp_copy_probe(const struct scpp_copy_config *cfg, char *why, size_t why_len);

/**
 * Create an instance. Control thread (or the worker before its loop);
 * allocates everything the data path will use; may block.
 *
 * @param cfg  configuration (copied; strings are copied too)
 * @return the instance, or NULL with rte_errno (and errno) set:
 *   - EINVAL: NULL @p cfg, ring_size not a power of two or out of range,
 *     max_regions, max_remotes, max_len or align out of range;
 *   - ENOENT: no engine of that name;
 *   - ENODEV: the engine is not offered here (no such dmadev, no fabric
 *     provider matching, no verbs device);
 *   - EBUSY: the dmadev is used by another instance;
 *   - ENOMEM: the memory provider failed;
 *   - EIO: the device or provider failed to open.
 */
struct scpp_copy *scpp_copy_create(const struct scpp_copy_config *cfg);

/**
 * Free an instance. @p c may be NULL (no-op). Copies still in flight are
 * abandoned after the device has been stopped (dmadev stopped, endpoint or
 * queue pairs destroyed), so once this returns nothing touches any region's
 * memory; their completions are never returned. Regions and attachments
 * still registered are released. Owning thread.
 */
void scpp_copy_free(struct scpp_copy *c);

/**
 * Restart the engine's initiating side after a stall. A copy that timed out
 * while the device still owned it (stats.zombies > 0) means the device or
 * provider did not answer: with libfabric 1.17's shm, a refused operation
 * blocks every later completion of the endpoint (docs/COPY.md). This ends
 * everything in flight -- copies not yet returned complete with
 * -ECANCELED, zombies are released -- and opens the initiating side again.
 * What peers know this instance by (window addresses and keys) stays
 * valid. Owning thread; control path (may block briefly): a worker calls
 * it from its housekeeping when zombies appear.
 *
 * @return 0; -EINVAL (NULL); -EOPNOTSUPP (memcpy and dmadev have nothing
 *   to restart; verbs: link the peer again, which retires the stuck queue
 *   pair); -EIO (the provider refused: the instance is dead, copies fail
 *   -ENODEV, scpp_copy_free() is all that is left).
 */
int scpp_copy_recover(struct scpp_copy *c);

/** Fill @p caps. Any thread. */
void scpp_copy_caps_get(const struct scpp_copy *c, struct scpp_copy_caps *caps);

/** Fill @p st (relaxed reads; each figure whole, perhaps a little stale). Any thread. */
void scpp_copy_stats_get(const struct scpp_copy *c, struct scpp_copy_stats *st);

/**
 * Register [@p addr, @p addr + @p len) with the instance. dmadev: the IOVA
 * translation is computed now (docs/COPY.md §dmadev); fabric and verbs:
 * the memory is registered with the provider or device (keys are random
 * where the provider lets us choose them). Owning thread; control path.
 *
 * @param access  SCPP_COPY_ACCESS_* (at least one)
 * @param out     receives the region
 * @return 0; -EINVAL (NULL @p addr or @p out, @p len 0, range wraps,
 *   unknown access bits, none); -EOPNOTSUPP (remote access on an engine
 *   without windows); -EEXIST (overlaps a registered region); -ENOSPC
 *   (max_regions reached); -ENOTSUP (dmadev: memory the device cannot
 *   address, e.g. non-DPDK memory on a device without SVA); -ENOMEM;
 *   -EIO (the provider or device refused).
 */
int scpp_copy_mem_register(struct scpp_copy *c, void *addr, size_t len, uint32_t access,
			   struct scpp_copy_region **out);

/**
 * Unregister a region. Peers' operations on its window that arrive later
 * fail with an access error on their side. Owning thread; control path.
 *
 * @return 0; -EINVAL (NULL or not a region of @p c); -EBUSY (a copy in
 *   flight, zombies included, uses it: poll, then retry).
 */
int scpp_copy_mem_unregister(struct scpp_copy *c, struct scpp_copy_region *r);

/** Base and length of a region. */
void scpp_copy_region_info(const struct scpp_copy_region *r, void **base, size_t *len);

/**
 * Describe region @p r as a window for peers.
 *
 * @return 0; -EINVAL (NULL); -EOPNOTSUPP (the engine has no windows);
 *   -EACCES (the region was registered without remote access).
 */
int scpp_copy_window_get(struct scpp_copy *c, const struct scpp_copy_region *r,
			 struct scpp_copy_window *w);

/**
 * Encode @p w into its 128-byte wire form (docs/COPY.md). Pure function.
 *
 * @return 0; -EINVAL (NULL, or a field out of range: unknown engine,
 *   access, addr_len 0 or too long, provider not NUL-terminated or empty,
 *   len 0, base + len wraps).
 */
int scpp_copy_window_encode(const struct scpp_copy_window *w, uint8_t out[SCPP_COPY_WINDOW_LEN]);

/**
 * Decode a window from untrusted bytes. Pure function; never reads past
 * @p len.
 *
 * @return 0; -EINVAL (NULL); -EMSGSIZE (@p len is not SCPP_COPY_WINDOW_LEN);
 *   -EPROTO (bad magic, version, engine, access, lengths, a reserved byte
 *   or padding that is not zero, provider not terminated, base + len wraps).
 */
int scpp_copy_window_decode(const uint8_t *buf, size_t len, struct scpp_copy_window *w);

/**
 * Attach a peer's window so copies can target it. fabric: the address is
 * inserted into the endpoint's address vector (shared by windows of the
 * same peer); verbs: the window must belong to a linked peer. Owning
 * thread; control path.
 *
 * @return 0; -EINVAL (NULL, or a window that would not encode);
 *   -EOPNOTSUPP (the engine does no remote copies); -EPROTOTYPE (the
 *   window is of another engine or provider); -ENOTCONN (verbs: no link
 *   to the window's owner); -ENOSPC (max_remotes reached); -EIO (the
 *   provider refused the address).
 */
int scpp_copy_remote_attach(struct scpp_copy *c, const struct scpp_copy_window *w,
			    struct scpp_copy_remote **out);

/**
 * Detach a window. Owning thread; control path.
 *
 * @return 0; -EINVAL (NULL or not of @p c); -EBUSY (a copy in flight uses it).
 */
int scpp_copy_remote_detach(struct scpp_copy *c, struct scpp_copy_remote *rw);

/**
 * Links (engines with SCPP_COPY_CAP_LINKS). Instance A calls
 * scpp_copy_link_offer() and sends the offer to B; B calls
 * scpp_copy_link_accept() and sends the answer back; A calls
 * scpp_copy_link_finish(). Then each side may attach the other's windows.
 * The caller carries the 64-byte messages (docs/COPY.md §Link messages).
 * Owning thread; control path.
 *
 * @return 0; -EINVAL (NULL); -EOPNOTSUPP (the engine needs no links);
 *   -EPROTO (a malformed message, or an answer to another instance);
 *   -EALREADY (already linked to that peer); -ENOENT (finish: no offer
 *   pending for that answer); -ENOSPC (max_remotes links); -ENODEV (the
 *   device was lost); -EIO (the device refused a queue-pair step).
 */
int scpp_copy_link_offer(struct scpp_copy *c, uint8_t offer[SCPP_COPY_LINK_LEN]);
/** See scpp_copy_link_offer(). */
int scpp_copy_link_accept(struct scpp_copy *c, const uint8_t offer[SCPP_COPY_LINK_LEN],
			  uint8_t answer[SCPP_COPY_LINK_LEN]);
/** See scpp_copy_link_offer(). */
int scpp_copy_link_finish(struct scpp_copy *c, const uint8_t answer[SCPP_COPY_LINK_LEN]);

/* -------------------------------------------------------------- data path */

/**
 * Submit up to @p n copies. Each accepted copy takes a slot and will be
 * returned, with its status, by scpp_copy_poll_burst(); invalid copies are
 * accepted and fail there (file comment). Copies are posted to the device
 * in order; what the device cannot take yet waits in the ring and is
 * posted by later calls. memcpy copies the bytes here. Owning thread;
 * never blocks or allocates.
 *
 * @param ops  @p n copies (copied; the array may be reused at once)
 * @param n    0..SCPP_COPY_BURST_MAX
 * @return the number accepted, from the front of @p ops: fewer than @p n
 *   when the ring is full (counted in ring_full), 0 if @p n is above
 *   SCPP_COPY_BURST_MAX (nothing is done).
 */
uint16_t scpp_copy_submit_burst(struct scpp_copy *c, const struct scpp_copy_op *ops, uint16_t n);

/**
 * Make progress and return up to @p n completions, in submission order.
 * Also drives peers' operations on this instance's windows (engines with
 * SCPP_COPY_CAP_TARGET_PROGRESS), so call it regularly even with @p n 0.
 * Owning thread; never blocks or allocates.
 *
 * @param n    0..SCPP_COPY_BURST_MAX
 * @param cpl  room for @p n completions (may be NULL when @p n is 0)
 * @return completions written (0..@p n); 0 if @p n is above
 *   SCPP_COPY_BURST_MAX (nothing is done).
 */
uint16_t scpp_copy_poll_burst(struct scpp_copy *c, struct scpp_copy_cpl *cpl, uint16_t n);

/** Slots free now: how many copies submit would accept. Owning thread. */
uint32_t scpp_copy_space(const struct scpp_copy *c);

/** Copies submitted whose completion has not been returned yet. Owning thread. */
uint32_t scpp_copy_pending(const struct scpp_copy *c);

#endif /* SCPP_COPY_H */
