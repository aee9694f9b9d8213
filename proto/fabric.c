/*
 * libfabric endpoint setup and posting; see fabric.h.
 *
 * Progress is manual: nothing moves unless the completion queue is read, so
 * a post that returns -FI_EAGAIN reads the CQ (stashing what it finds for the
 * next sl_fabric_poll) before trying again. rxm connects lazily, so the first
 * posts to a new peer return -FI_EAGAIN many times.
 */
#include "fabric.h"

#include <errno.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_log.h"
#include "sl_time.h"

#define SL_FI_VERSION FI_VERSION(1, 17)

int sl_fabric_errno(ssize_t rc)
{
	if (rc >= 0)
		return 0;
	/* -FI_E* values below 256 are errno values already. */
	if (rc > -FI_ERRNO_OFFSET)
		return (int)rc;
	switch (-rc) {
	case FI_ETOOSMALL:
		return -ENOBUFS;
	case FI_EOPBADSTATE:
		return -EPROTO;
	case FI_EAVAIL:
		return -EAGAIN;
	case FI_EBADFLAGS:
		return -EINVAL;
	case FI_ENOEQ:
	case FI_ENOCQ:
	case FI_ENOAV:
		return -ENODEV;
	case FI_EDOMAIN:
		return -EXDEV;
	case FI_ECRC:
		return -EBADMSG;
	case FI_ETRUNC:
		return -EMSGSIZE;
	case FI_ENOKEY:
		return -ENOKEY;
	case FI_EOVERRUN:
		return -EOVERFLOW;
	case FI_ENORX:
		return -ENOBUFS;
	default:
		return -EIO;
	}
}

int sl_fabric_open(struct sl_fabric *f, const char *provider, const char *node,
		   const char *service)
{
	struct fi_info *hints = fi_allocinfo();
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_TAGGED, .size = 1024,
				      .wait_obj = FI_WAIT_UNSPEC };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	int rc;

	memset(f, 0, sizeof(*f));
	if (!hints)
		return -ENOMEM;
	/* Removing a peer from the address vector must close its connection:
	 * that is what ends the operations of a peer that stopped progressing
	 * (rxm keeps them otherwise). libfabric reads this once, at its first
	 * use in the process; the caller's own setting wins. */
	setenv("FI_AV_REMOVE_CLEANUP", "1", 0);
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG | FI_RMA | FI_TAGGED;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->domain_attr->mr_mode =
		FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->domain_attr->threading = FI_THREAD_DOMAIN;
	hints->domain_attr->control_progress = FI_PROGRESS_MANUAL;
	hints->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	hints->fabric_attr->prov_name = strdup(provider);
	if (!hints->fabric_attr->prov_name) {
		fi_freeinfo(hints);
		return -ENOMEM;
	}
	if (service && strcmp(service, "0") == 0)
		service = NULL;

	rc = fi_getinfo(SL_FI_VERSION, node, service, node ? FI_SOURCE : 0, hints, &f->info);
	fi_freeinfo(hints);
	if (rc) {
		SL_ERR("fabric: no %s provider for %s:%s: %s", provider, node ? node : "*",
		       service ? service : "*", fi_strerror(-rc));
		f->info = NULL;
		return -ENODEV;
	}
	f->mr_mode = f->info->domain_attr->mr_mode;
	f->next_key = 1;

	rc = fi_fabric(f->info->fabric_attr, &f->fabric, NULL);
	if (rc)
		goto err;
	rc = fi_domain(f->fabric, f->info, &f->domain, NULL);
	if (rc)
		goto err;
	rc = fi_cq_open(f->domain, &cq_attr, &f->cq, NULL);
	if (rc) {
		/* Some providers have no wait objects: fall back to polling. */
		cq_attr.wait_obj = FI_WAIT_NONE;
		rc = fi_cq_open(f->domain, &cq_attr, &f->cq, NULL);
		if (rc)
			goto err;
	} else {
		f->can_wait = 1;
	}
	rc = fi_av_open(f->domain, &av_attr, &f->av, NULL);
	if (rc)
		goto err;
	rc = fi_endpoint(f->domain, f->info, &f->ep, NULL);
	if (rc)
		goto err;
	rc = fi_ep_bind(f->ep, &f->av->fid, 0);
	if (rc)
		goto err;
	rc = fi_ep_bind(f->ep, &f->cq->fid, FI_TRANSMIT | FI_RECV);
	if (rc)
		goto err;
	rc = fi_enable(f->ep);
	if (rc)
		goto err;
	f->addr_len = sizeof(f->addr);
	rc = fi_getname(&f->ep->fid, f->addr, &f->addr_len);
	if (rc)
		goto err;
	return 0;
err:
	SL_ERR("fabric: opening %s endpoint: %s", provider, fi_strerror(-rc));
	sl_fabric_close(f);
	return sl_fabric_errno(rc) ? sl_fabric_errno(rc) : -EIO;
}

void sl_fabric_close_ep(struct sl_fabric *f)
{
	if (f->ep)
		fi_close(&f->ep->fid);
	f->ep = NULL;
}

void sl_fabric_close(struct sl_fabric *f)
{
	if (f->ep)
		fi_close(&f->ep->fid);
	if (f->av)
		fi_close(&f->av->fid);
	if (f->cq)
		fi_close(&f->cq->fid);
	if (f->domain)
		fi_close(&f->domain->fid);
	if (f->fabric)
		fi_close(&f->fabric->fid);
	if (f->info)
		fi_freeinfo(f->info);
	memset(f, 0, sizeof(*f));
}

int sl_fabric_mr_reg(struct sl_fabric *f, void *buf, size_t len, uint64_t access,
		     struct sl_fabric_mr *mr)
{
	/* Keys are ours to pick unless the provider chooses (FI_MR_PROV_KEY);
	 * either way the key on the wire is the one fi_mr_key() reports. */
	uint64_t requested = f->next_key++;
	int rc;

	memset(mr, 0, sizeof(*mr));
	rc = fi_mr_reg(f->domain, buf, len, access, 0, requested, 0, &mr->mr, NULL);
	if (rc)
		return sl_fabric_errno(rc) ? sl_fabric_errno(rc) : -EIO;
	mr->desc = fi_mr_desc(mr->mr);
	mr->key = fi_mr_key(mr->mr);
	mr->base = buf;
	mr->len = len;
	return 0;
}

void sl_fabric_mr_close(struct sl_fabric_mr *mr)
{
	if (mr->mr)
		fi_close(&mr->mr->fid);
	memset(mr, 0, sizeof(*mr));
}

uint64_t sl_fabric_mr_raddr(const struct sl_fabric *f, const struct sl_fabric_mr *mr,
			    const void *ptr)
{
	if (f->mr_mode & FI_MR_VIRT_ADDR)
		return (uint64_t)(uintptr_t)ptr;
	return (uint64_t)((const uint8_t *)ptr - mr->base);
}

static int peer_find(const struct sl_fabric *f, const void *addr, size_t len)
{
	for (int i = 0; i < f->n_peers; i++)
		if (f->peers[i].len == len && memcmp(f->peers[i].addr, addr, len) == 0)
			return i;
	return -1;
}

static int peer_find_fi(const struct sl_fabric *f, fi_addr_t fi)
{
	for (int i = 0; i < f->n_peers; i++)
		if (f->peers[i].fi == fi)
			return i;
	return -1;
}

/* Takes peer i out of the table and the address vector. */
static void peer_remove(struct sl_fabric *f, int i)
{
	fi_addr_t fi = f->peers[i].fi;

	f->peers[i] = f->peers[--f->n_peers];
	fi_av_remove(f->av, &fi, 1, 0);
}

int sl_fabric_av_insert(struct sl_fabric *f, const void *addr, size_t len, fi_addr_t *out)
{
	int i;

	if (len == 0 || len > SL_FABRIC_ADDR_MAX)
		return -EINVAL;
	i = peer_find(f, addr, len);
	if (i >= 0) {
		f->peers[i].used = ++f->tick;
		*out = f->peers[i].fi;
		return 0;
	}
	if (f->n_peers == SL_FABRIC_PEERS) {
		int lru = -1;

		for (int k = 0; k < f->n_peers; k++)
			if (!f->peers[k].refs && (lru < 0 || f->peers[k].used < f->peers[lru].used))
				lru = k;
		if (lru < 0)
			return -EBUSY;
		peer_remove(f, lru);
	}
	if (fi_av_insert(f->av, addr, 1, out, 0, NULL) != 1)
		return -EHOSTUNREACH;
	i = f->n_peers++;
	memcpy(f->peers[i].addr, addr, len);
	f->peers[i].len = len;
	f->peers[i].fi = *out;
	f->peers[i].used = ++f->tick;
	f->peers[i].refs = 0;
	return 0;
}

int sl_fabric_av_count(const struct sl_fabric *f)
{
	return f->n_peers;
}

void sl_fabric_peer_hold(struct sl_fabric *f, fi_addr_t fi)
{
	int i = peer_find_fi(f, fi);

	if (i >= 0)
		f->peers[i].refs++;
}

void sl_fabric_peer_put(struct sl_fabric *f, fi_addr_t fi)
{
	int i = peer_find_fi(f, fi);

	if (i >= 0 && f->peers[i].refs > 0)
		f->peers[i].refs--;
}

void sl_fabric_forget(struct sl_fabric *f, const void *addr, size_t len)
{
	int i = peer_find(f, addr, len);

	if (i >= 0)
		peer_remove(f, i);
}

void sl_fabric_forget_fi(struct sl_fabric *f, fi_addr_t fi)
{
	int i = peer_find_fi(f, fi);

	if (i >= 0)
		peer_remove(f, i);
}

static void stash(struct sl_fabric *f, const struct sl_fabric_event *ev)
{
	int slot = (f->pending_head + f->pending_count) % SL_FABRIC_PENDING;

	f->pending[slot] = *ev;
	f->pending_count++;
}

/* Reads what the CQ holds (at most what the stash can take), non-blocking. */
static int drain(struct sl_fabric *f, struct sl_fabric_event *ev, int max)
{
	struct fi_cq_tagged_entry ent[16];
	ssize_t n;
	int got = 0;

	if (max > 16)
		max = 16;
	if (max <= 0)
		return 0;
	n = fi_cq_read(f->cq, ent, (size_t)max);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			ev[got++] = (struct sl_fabric_event){ ent[i].op_context, 0, ent[i].len,
							      ent[i].tag };
		return got;
	}
	if (n == -FI_EAVAIL) {
		struct fi_cq_err_entry err = { 0 };

		if (fi_cq_readerr(f->cq, &err, 0) == 1) {
			int e = err.err ? sl_fabric_errno(-(ssize_t)err.err) : -EIO;

			SL_DEBUG("fabric: completion error: %s",
				 fi_cq_strerror(f->cq, err.prov_errno, err.err_data, NULL, 0));
			ev[0] = (struct sl_fabric_event){ err.op_context, e, 0, err.tag };
			return 1;
		}
		return 0;
	}
	if (n == -FI_EAGAIN)
		return 0;
	return sl_fabric_errno(n);
}

/* Called when a post returned -FI_EAGAIN: drive progress, then let it retry. */
static int progress_for_retry(struct sl_fabric *f, uint64_t deadline_ms)
{
	struct sl_fabric_event ev[16];
	int room = SL_FABRIC_PENDING - f->pending_count, n;

	if (sl_mono_ms() >= deadline_ms)
		return -ETIMEDOUT;
	n = drain(f, ev, room < 16 ? room : 16);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		stash(f, &ev[i]);
	if (n == 0) {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

#define SL_FABRIC_POST(f, deadline, call)                                                          \
	do {                                                                                       \
		for (;;) {                                                                         \
			ssize_t _rc = (call);                                                      \
			if (_rc != -FI_EAGAIN)                                                     \
				return sl_fabric_errno(_rc);                                       \
			int _prc = progress_for_retry((f), (deadline));                            \
			if (_prc)                                                                  \
				return _prc;                                                       \
		}                                                                                  \
	} while (0)

int sl_fabric_tsend(struct sl_fabric *f, const void *buf, size_t len, void *desc,
		    fi_addr_t dest, uint64_t tag, void *ctx, uint64_t deadline_ms)
{
	SL_FABRIC_POST(f, deadline_ms, fi_tsend(f->ep, buf, len, desc, dest, tag, ctx));
}

int sl_fabric_trecv(struct sl_fabric *f, void *buf, size_t len, void *desc, uint64_t tag,
		    uint64_t ignore, void *ctx, uint64_t deadline_ms)
{
	SL_FABRIC_POST(f, deadline_ms,
		       fi_trecv(f->ep, buf, len, desc, FI_ADDR_UNSPEC, tag, ignore, ctx));
}

int sl_fabric_write(struct sl_fabric *f, const void *buf, size_t len, void *desc,
		    fi_addr_t dest, uint64_t raddr, uint64_t rkey, void *ctx, uint64_t deadline_ms)
{
	SL_FABRIC_POST(f, deadline_ms, fi_write(f->ep, buf, len, desc, dest, raddr, rkey, ctx));
}

int sl_fabric_read(struct sl_fabric *f, void *buf, size_t len, void *desc, fi_addr_t src,
		   uint64_t raddr, uint64_t rkey, void *ctx, uint64_t deadline_ms)
{
	SL_FABRIC_POST(f, deadline_ms, fi_read(f->ep, buf, len, desc, src, raddr, rkey, ctx));
}

void sl_fabric_cancel(struct sl_fabric *f, void *ctx)
{
	fi_cancel(&f->ep->fid, ctx);
}

int sl_fabric_poll(struct sl_fabric *f, struct sl_fabric_event *ev, int max, int timeout_ms)
{
	uint64_t deadline = sl_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int got = 0;

	while (got < max && f->pending_count) {
		ev[got++] = f->pending[f->pending_head];
		f->pending_head = (f->pending_head + 1) % SL_FABRIC_PENDING;
		f->pending_count--;
	}
	if (got)
		return got;
	for (;;) {
		int n = drain(f, ev, max);
		uint64_t now;

		if (n != 0)
			return n;
		now = sl_mono_ms();
		if (now >= deadline)
			return 0;
		if (f->can_wait) {
			struct fi_cq_tagged_entry ent;
			int wait = (int)(deadline - now);
			ssize_t s = fi_cq_sread(f->cq, &ent, 1, NULL, wait > 50 ? 50 : wait);

			if (s == 1) {
				ev[0] = (struct sl_fabric_event){ ent.op_context, 0, ent.len,
								  ent.tag };
				return 1;
			}
			if (s == -FI_EAVAIL)
				continue;
			if (s != -FI_EAGAIN && s != -FI_ETIMEDOUT && s != -FI_EINTR) {
				/* The wait object is not usable here: poll from now on. */
				f->can_wait = 0;
			}
		} else {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
}
