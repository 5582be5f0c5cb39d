/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-thread contexts of scpp-fs. lib/client is single-threaded (one
 * socket, one block in flight), so each FUSE thread gets a context of its
 * own: a client with its own session, a block, a reply and buffers. The
 * pool holds -o max_threads of them, made before the mount (so that a node
 * refusing a session fails the mount, not a request); a thread takes one at
 * its first request and gives it back when libfuse ends the thread. A
 * thread that finds the pool empty (libfuse runs more threads than
 * contexts) waits for one, so max_threads bounds the blocks in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_fuse.h"

static void
ctx_free(struct fsd *d)
{
	fs_reply_free(&d->rep);
	scpp_client_reply_free(&d->cr);
	scpp_client_free(d->cl);
	free(d->blk);
	free(d->io);
	fsd_batch_free(d);
	free(d);
}

static struct fsd *
ctx_new(const struct fsd *main)
{
	struct fsd *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->o = main->o;
	d->sh = main->sh;
	d->cc = main->cc;
	d->vol = main->vol;
	d->write_max = main->write_max;
	d->list_span[0] = main->o.readdir_span;
	d->list_span[1] = fsd_plus_span(main->o.readdir_span);
	fs_reply_init(&d->rep);
	d->cl = scpp_client_create(&d->cc);
	d->blk = malloc(sizeof(*d->blk));
	d->io = malloc(FSD_REQ_MAX);
	if (d->cl == NULL || d->blk == NULL || d->io == NULL ||
	    (main->session && fsd_session(d) != 0)) {
		ctx_free(d);
		return NULL;
	}
	return d;
}

/* A thread ends: its context goes back to the pool. */
static void
ctx_release(void *p)
{
	struct fsd *d = p;
	struct fsd_shared *sh = d->sh;

	pthread_mutex_lock(&sh->lock);
	sh->free[sh->nfree++] = d;
	pthread_cond_signal(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

int
fsd_pool_init(struct fsd *main, struct fsd_shared *sh, unsigned int n)
{
	if (n == 0)
		n = 1;
	main->sh = sh;
	sh->all = calloc(n, sizeof(*sh->all));
	sh->free = calloc(n, sizeof(*sh->free));
	if (sh->all == NULL || sh->free == NULL)
		return -ENOMEM;
	if (pthread_key_create(&sh->key, ctx_release) != 0)
		return -EAGAIN;
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cond, NULL);
	sh->all[sh->nall++] = main;
	for (unsigned int i = 1; i < n; i++) {
		struct fsd *d = ctx_new(main);

		if (d == NULL)
			return -EIO;
		sh->all[sh->nall++] = d;
	}
	/* Handed out last first: the main context goes to the first thread. */
	for (size_t i = sh->nall; i-- > 0;)
		sh->free[sh->nfree++] = sh->all[i];
	return 0;
}

void
fsd_pool_free(struct fsd *main)
{
	struct fsd_shared *sh = main->sh;

	if (sh == NULL || sh->all == NULL)
		return;
	for (size_t i = 1; i < sh->nall; i++)
		ctx_free(sh->all[i]);
	free(sh->all);
	free(sh->free);
	sh->all = sh->free = NULL;
	sh->nall = sh->nfree = 0;
	pthread_key_delete(sh->key);
	pthread_mutex_destroy(&sh->lock);
	pthread_cond_destroy(&sh->cond);
}

struct fsd *
fsd_self(struct fsd *main)
{
	struct fsd_shared *sh = main->sh;
	struct fsd *d = pthread_getspecific(sh->key);

	if (d != NULL)
		return d;
	pthread_mutex_lock(&sh->lock);
	while (sh->nfree == 0)
		pthread_cond_wait(&sh->cond, &sh->lock);
	d = sh->free[--sh->nfree];
	if (sh->nall - sh->nfree > sh->used_max)
		sh->used_max = sh->nall - sh->nfree;
	pthread_mutex_unlock(&sh->lock);
	pthread_setspecific(sh->key, d);
	return d;
}
