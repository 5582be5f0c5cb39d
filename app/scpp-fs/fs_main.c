/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-fs: mount a volume of an scpp node as a file system (docs/FS.md).
 *
 *   scpp-fs --server ADDR[:PORT] [--root @OID|NAME] [-f] [-d] [-o OPT,...] MOUNTPOINT
 *
 * Finds the volume (or makes it), mounts, runs the FUSE session until
 * SIGINT, SIGTERM, SIGHUP or `fusermount3 -u MOUNTPOINT`, and unmounts.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_fuse.h"
#include "scpp_status.h"

#define OPT(t, p, v) {t, offsetof(struct fsd_opts, p), v}

static const struct fuse_opt fsd_optspec[] = {
	OPT("--server=%s", server, 0),
	OPT("--server %s", server, 0),
	OPT("--root=%s", root, 0),
	OPT("--root %s", root, 0),
	OPT("volume=%s", volume, 0),
	OPT("attr_timeout=%lf", attr_timeout, 0),
	OPT("entry_timeout=%lf", entry_timeout, 0),
	OPT("chunk=%u", chunk, 0),
	OPT("scpp_timeout_ms=%u", timeout_ms, 0),
	OPT("scpp_retries=%u", retries, 0),
	OPT("scpp_dgram=%u", dgram, 0),
	OPT("key=%s", key, 0),
	OPT("chain=%s", chain, 0),
	OPT("node_key=%s", node_key, 0),
	OPT("no_auth", no_auth, 1),
	OPT("noatime", noatime, 1),
	OPT("writeback_cache", writeback, 1),
	OPT("max_threads=%u", max_threads, 0),
	OPT("readdir_span=%u", readdir_span, 0),
	OPT("readahead_kb=%u", readahead_kb, 0),
	OPT("-h", show_help, 1),
	OPT("--help", show_help, 1),
	FUSE_OPT_END,
};

static void
usage(const char *prog)
{
	printf("usage: %s --server ADDR[:PORT] [--root @OID|NAME] [options] MOUNTPOINT\n\n"
	       "Mount a volume of an scpp node (docs/FS.md, docs/OPERATIONS.md).\n\n"
	       "    --server ADDR[:PORT]   node to talk to (default $SCPP_SERVER, else %s)\n"
	       "    --root NAME            volume name (made if missing; default: -o volume)\n"
	       "    --root @OID            mount the Directory entity OID as the root\n"
	       "    -f                     stay in the foreground\n"
	       "    -d                     debug (FUSE requests on stderr; implies -f)\n"
	       "    -o volume=NAME         volume name (default \"default\")\n"
	       "    -o attr_timeout=S      kernel attribute cache, seconds (default 1)\n"
	       "    -o entry_timeout=S     kernel name cache, seconds (default 1)\n"
	       "    -o chunk=BYTES         chunk size of a new volume (default %u)\n"
	       "    -o noatime             do not update access times\n"
	       "    -o writeback_cache     the kernel's write-back cache: writes coalesced,\n"
	       "                           seen by other mounts after close/fsync (FS.md §3)\n"
	       "    -o max_threads=N       FUSE threads serving requests, each with its own\n"
	       "                           client and session (default 4; -s: one)\n"
	       "    -o clone_fd            a /dev/fuse descriptor per thread\n"
	       "    -o readdir_span=N      a listing block reads 2^N to 2^(N+1) directory\n"
	       "                           pages (0 .. %u, default %u; 0: one page)\n"
	       "    -o readahead_kb=N      the mount's read-ahead, KiB (default %u; 0: the\n"
	       "                           kernel's): sequential reads in requests of 1 MiB\n"
	       "    -o scpp_timeout_ms=MS  first try's reply timeout (default 200)\n"
	       "    -o scpp_retries=N      retransmissions before EIO (default 5)\n"
	       "    -o scpp_dgram=BYTES    largest datagram (default 1472; up to the path MTU - 28)\n"
	       "    -o key=FILE            session key (default $SCPP_KEY, ~/.config/scpp/key,\n"
	       "                           else /var/lib/scpp/node.key)\n"
	       "    -o chain=FILE[:FILE]   grant chains to present (default $SCPP_CHAIN)\n"
	       "    -o node_key=HEX|FILE   refuse another node (default $SCPP_NODE_KEY)\n"
	       "    -o no_auth             unauthenticated blocks (auth.mode optional/off)\n"
	       "    -o allow_other, ...    the usual FUSE mount options\n\n",
	       prog, SCPP_CLIENT_SERVER_DEFAULT, FS_CHUNK_DEFAULT, FS_LIST_SPAN_MAX, FSD_READDIR_SPAN,
	       FSD_READAHEAD_KB);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Find the volume by name, making it when missing. */
static int
volume_open(struct fsd *d, const char *name)
{
	for (int tries = 0; tries < 3; tries++) {
		struct fsb f;
		int e;

		fsb_init(&f, d->blk);
		fsb_volume_find(&f, name, strlen(name));
		if ((e = fsd_exec(d, &f, FS_OP_OTHER)) != 0)
			return e;
		if (d->rep.nrows == 0) {
			fsb_init(&f, d->blk);
			fsb_volume_create(&f, name, strlen(name), d->o.chunk, 0755,
					  (uint32_t)getuid(), (uint32_t)getgid());
			if ((e = fsd_exec(d, &f, FS_OP_OTHER)) != 0)
				return e;
			if (d->rep.nrows == 0)
				continue; /* another mount made it: find it */
		}
		d->vol.volume = fs_reply_at(&d->rep, 0, 0)->oid;
		d->vol.root = fs_reply_at(&d->rep, 0, 1)->oid;
		d->vol.dev = fs_reply_u64(&d->rep, 0, 2);
		d->vol.chunk = fs_reply_u64(&d->rep, 0, 3);
		return d->vol.chunk == 0 ? EINVAL : 0;
	}
	return EAGAIN;
}

/* --root @OID: a Directory entity as the root; the chunk size is -o chunk. */
static int
root_open(struct fsd *d, const char *text)
{
	struct fs_attr a;
	struct fsb f;
	int e;

	if (scpp_oid_parse(text, strlen(text), &d->vol.root) != 0) {
		fprintf(stderr, "scpp-fs: --root %s: not an OID\n", text);
		return EINVAL;
	}
	fsb_init(&f, d->blk);
	fsb_getattr(&f, d->vol.root);
	if ((e = fsd_exec(d, &f, FS_OP_GETATTR)) != 0)
		return e;
	fs_reply_attr(&d->rep, 0, 0, &a);
	if ((a.mode & FS_S_IFMT) != FS_S_IFDIR) {
		fprintf(stderr, "scpp-fs: --root %s: not a Directory\n", text);
		return ENOTDIR;
	}
	d->vol.dev = a.ino & UINT32_MAX;
	d->vol.chunk = d->o.chunk;
	return 0;
}

/*
 * Bytes of data a write block may carry with datagrams of @p dgram bytes:
 * SCPP_WIRE_FRAGS_MAX datagrams, each less its header, a cookie and a
 * session tag, less 4 KiB for the block's commands, in whole 4 KiB pages,
 * at most FSD_WRITE_MAX (80 KiB at the default 1 472 bytes, 128 KiB at
 * 2 600, 512 KiB from 8 336 up: 8 972 on a 9 000-byte MTU).
 */
static uint32_t
write_max(unsigned int dgram)
{
	uint64_t room = (uint64_t)SCPP_WIRE_FRAGS_MAX *
			(dgram - SCPP_WIRE_HDR_LEN - SCPP_WIRE_COOKIE_LEN - 32);

	room = room > 8192 ? (room - 4096) / 4096 * 4096 : 4096;
	return (uint32_t)(room < FSD_WRITE_MAX ? room : FSD_WRITE_MAX);
}

/*
 * The kernel reads ahead at most its bdi's read_ahead_kb (128 by default)
 * and offers that as max_readahead at INIT: set it, between mount(2) and the
 * INIT the session loop answers, so that a sequential read comes in
 * requests of up to FSD_REQ_MAX bytes, which the daemon reads as blocks in
 * flight together. The bdi of a FUSE mount is named by its device
 * (major:minor, /proc/self/mountinfo). Best effort (root only): a failure
 * leaves the kernel's read-ahead, and says so.
 */
static void
set_readahead(const char *mountpoint, unsigned int kb)
{
	char real[PATH_MAX], line[4096], dev[64] = "", path[128];
	FILE *f;

	if (kb == 0 || realpath(mountpoint, real) == NULL)
		return;
	f = fopen("/proc/self/mountinfo", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char mdev[64], mpt[PATH_MAX];

		/* id parent major:minor root mount-point ... (the last is the top) */
		if (sscanf(line, "%*u %*u %63s %*s %4095s", mdev, mpt) == 2 &&
		    strcmp(mpt, real) == 0)
			snprintf(dev, sizeof(dev), "%s", mdev);
	}
	fclose(f);
	if (dev[0] == '\0') {
		fprintf(stderr, "scpp-fs: %s not in /proc/self/mountinfo: the kernel's read-ahead "
			"stays\n", real);
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%u\n", kb) < 0 || fclose(f) != 0) {
		if (f == NULL)
			fprintf(stderr, "scpp-fs: %s: %s: the kernel's read-ahead stays\n", path,
				strerror(errno));
		else
			fprintf(stderr, "scpp-fs: %s: cannot write: the kernel's read-ahead stays\n",
				path);
		return;
	}
	fprintf(stderr, "scpp-fs: read-ahead %u KiB (%s)\n", kb, path);
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct fuse_session *se;
	struct fsd_shared sh;
	struct fsd d;
	int rc = 2, e;

	memset(&d, 0, sizeof(d));
	memset(&sh, 0, sizeof(sh));
	fsd_neg_init(&sh.neg);
	d.main = true;
	d.o.max_threads = 4;
	d.o.readdir_span = FSD_READDIR_SPAN;
	d.o.readahead_kb = FSD_READAHEAD_KB;
	memset(&co, 0, sizeof(co));
	d.o.attr_timeout = 1.0;
	d.o.entry_timeout = 1.0;
	d.o.chunk = FS_CHUNK_DEFAULT;
	d.o.timeout_ms = 200;
	d.o.retries = 5;
	d.o.dgram = SCPP_WIRE_DGRAM_DEFAULT;
	if (fuse_opt_parse(&args, &d.o, fsd_optspec, NULL) != 0)
		goto out;
	if (d.o.show_help) {
		usage(argv[0]);
		rc = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &co) != 0)
		goto out;
	if (co.show_version) {
		printf("scpp-fs 0.1.0, libfuse %s\n", fuse_pkgversion());
		rc = 0;
		goto out;
	}
	if (co.mountpoint == NULL) {
		fprintf(stderr, "usage: %s --server ADDR[:PORT] [--root @OID|NAME] [options] "
				"MOUNTPOINT (--help for more)\n",
			argv[0]);
		goto out;
	}
	if (d.o.dgram < FSD_DGRAM_MIN || d.o.dgram > SCPP_WIRE_DGRAM_MAX) {
		fprintf(stderr, "scpp-fs: -o scpp_dgram=%u: must be %u .. %u\n", d.o.dgram,
			FSD_DGRAM_MIN, SCPP_WIRE_DGRAM_MAX);
		goto out;
	}
	if (d.o.readdir_span > FS_LIST_SPAN_MAX) {
		fprintf(stderr, "scpp-fs: -o readdir_span=%u: must be 0 .. %u\n", d.o.readdir_span,
			FS_LIST_SPAN_MAX);
		goto out;
	}
	d.list_span[0] = d.o.readdir_span;
	d.list_span[1] = fsd_plus_span(d.o.readdir_span);
	if (d.o.chunk < 4096 || d.o.chunk > (64u << 20) || (d.o.chunk & (d.o.chunk - 1)) != 0) {
		fprintf(stderr, "scpp-fs: -o chunk=%u: must be a power of two, 4 KiB .. 64 MiB\n",
			d.o.chunk);
		goto out;
	}
	rc = 1;
	if (d.o.server == NULL && getenv(SCPP_CLIENT_ENV_SERVER) != NULL)
		d.o.server = strdup(getenv(SCPP_CLIENT_ENV_SERVER));
	scpp_client_config_init(&d.cc);
	d.cc.server = d.o.server != NULL ? d.o.server : SCPP_CLIENT_SERVER_DEFAULT;
	d.cc.timeout_ms = d.o.timeout_ms;
	d.cc.retries = d.o.retries;
	d.cc.backoff_max_ms = d.cc.timeout_ms > 1000 ? d.cc.timeout_ms : 1000;
	d.cc.max_dgram = d.o.dgram;
	d.write_max = write_max(d.o.dgram);
	d.cl = scpp_client_create(&d.cc);
	d.blk = malloc(sizeof(*d.blk));
	d.io = malloc(FSD_REQ_MAX);
	if (d.cl == NULL || d.blk == NULL || d.io == NULL) {
		fprintf(stderr, "scpp-fs: client for %s: %s\n", d.cc.server, strerror(errno));
		goto out;
	}
	if (fsd_session(&d) != 0)
		goto out;
	fs_reply_init(&d.rep);
	d.vol.noatime = d.o.noatime;
	if (d.o.root != NULL && d.o.root[0] == '@')
		e = root_open(&d, d.o.root);
	else
		e = volume_open(&d, d.o.root ? d.o.root : d.o.volume ? d.o.volume : "default");
	if (e != 0) {
		fprintf(stderr, "scpp-fs: cannot open the volume on %s: %s\n",
			scpp_client_server(d.cl), strerror(e));
		goto out;
	}
	if (d.o.max_threads < 1 || d.o.max_threads > FSD_THREADS_MAX) {
		fprintf(stderr, "scpp-fs: -o max_threads=%u: must be 1 .. %u\n", d.o.max_threads,
			FSD_THREADS_MAX);
		goto out;
	}
	if (fsd_nodes_init(&sh.nodes, d.vol.root) != 0)
		goto out;
	e = fsd_pool_init(&d, &sh, co.singlethread ? 1 : d.o.max_threads);
	if (e != 0) {
		fprintf(stderr, "scpp-fs: %u clients for %s: %s\n", d.o.max_threads,
			scpp_client_server(d.cl), strerror(-e));
		goto out;
	}
	/* The kernel checks the mode bits of its cached attributes at each step
	 * of a path walk, which does not reach the node for a name it has
	 * cached; every block checks again on the store, atomically with its
	 * change (docs/FS.md "Permissions"). */
	if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0)
		goto out;
	se = fuse_session_new(&args, &fsd_ops, sizeof(fsd_ops), &d);
	if (se == NULL)
		goto out;
	sh.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto destroy;
	if (fuse_session_mount(se, co.mountpoint) != 0)
		goto signals;
	set_readahead(co.mountpoint, d.o.readahead_kb);
	if (fuse_daemonize(co.foreground) != 0)
		goto unmount;
	/* Each FUSE thread has its own context (lib/client is single-threaded;
	 * fs_ctx.c): libfuse runs at most as many threads as there are
	 * contexts, and keeps them (no idle thread ends). -s: one thread, the
	 * main one. */
	if (co.singlethread) {
		e = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();

		if (lc == NULL) {
			e = -ENOMEM;
		} else {
			fuse_loop_cfg_set_max_threads(lc, d.o.max_threads);
			fuse_loop_cfg_set_idle_threads(lc, d.o.max_threads);
			fuse_loop_cfg_set_clone_fd(lc, (unsigned int)co.clone_fd);
			e = fuse_session_loop_mt(se, lc);
			fuse_loop_cfg_destroy(lc);
		}
	}
	/* libfuse 3.14 reports the signal that ended the loop as its number
	 * (a negative errno for a failure): SIGINT, SIGTERM and SIGHUP are the
	 * documented ways to stop, not failures. */
	rc = e != 0 && e != SIGINT && e != SIGTERM && e != SIGHUP;
	if (rc)
		fprintf(stderr, "scpp-fs: session ended: %s\n", e < 0 ? strerror(-e) : "signal");
	fsd_stats_print(&d, stderr);
unmount:
	fuse_session_unmount(se);
signals:
	fuse_remove_signal_handlers(se);
destroy:
	fuse_session_destroy(se);
out:
	fsd_pool_free(&d);
	if (sh.nodes.v != NULL)
		fsd_nodes_free(&sh.nodes);
	fsd_neg_free(&sh.neg);
	fs_reply_free(&d.rep);
	scpp_client_reply_free(&d.cr);
	scpp_client_free(d.cl);
	free(d.blk);
	free(d.io);
	fsd_batch_free(&d);
	free(co.mountpoint);
	free(d.o.server);
	free(d.o.root);
	free(d.o.volume);
	free(d.o.key);
	free(d.o.chain);
	free(d.o.node_key);
	fuse_opt_free_args(&args);
	return rc;
}
