/*
 * The data-plane transport: one libfabric FI_EP_RDM endpoint with one
 * completion queue and an address vector, shared by sluice-data and
 * libsluice. It hides what differs between providers (tcp;ofi_rxm, shm,
 * verbs;ofi_rxm): the memory-registration mode the provider returned, keys,
 * -FI_EAGAIN on posts, and progress.
 *
 * Threading: one sl_fabric is driven by one thread at a time.
 * Every operation's context must start with a struct fi_context2 and stay
 * alive until its completion is returned by sl_fabric_poll().
 */
#ifndef SL_FABRIC_H
#define SL_FABRIC_H

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <stddef.h>
#include <stdint.h>

#define SL_FABRIC_ADDR_MAX 64
/* Completions a post can stash while retrying: more than a server has in flight. */
#define SL_FABRIC_PENDING 1024
#define SL_FABRIC_PEERS 256
/* Tag of every request sent to a data server; replies carry the request id. */
#define SL_TAG_REQUEST (1ull << 62)

struct sl_fabric_event {
	void *ctx;   /* the op_context given when posting */
	int err;     /* 0 or a negative errno */
	size_t len;  /* bytes received, for receives */
	uint64_t tag;
};

struct sl_fabric {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_ep *ep;
	struct fid_av *av;
	struct fid_cq *cq;
	uint64_t mr_mode;      /* as returned by the provider */
	uint64_t next_key;     /* application-chosen MR keys, unique per domain */
	int can_wait;          /* the CQ has a wait object: fi_cq_sread works */
	uint8_t addr[SL_FABRIC_ADDR_MAX];
	size_t addr_len;
	/* Every peer in the address vector, so each is inserted once and the
	 * vector never holds more than SL_FABRIC_PEERS: a new peer past that
	 * evicts the least recently used one that no operation holds. */
	struct {
		uint8_t addr[SL_FABRIC_ADDR_MAX];
		size_t len;
		fi_addr_t fi;
		uint64_t used; /* tick of the last lookup */
		int refs;      /* operations in flight that name the peer */
	} peers[SL_FABRIC_PEERS];
	int n_peers;
	uint64_t tick;
	/* Completions read while retrying a post that returned -FI_EAGAIN. */
	struct sl_fabric_event pending[SL_FABRIC_PENDING];
	int pending_head, pending_count;
};

struct sl_fabric_mr {
	struct fid_mr *mr;
	void *desc;
	uint64_t key;
	uint8_t *base;
	size_t len;
};

/*
 * The negative errno (above -256, so it also fits an exit status) for a
 * libfabric return value or a negated completion error: -FI_E* values past
 * the errno range map to the nearest errno, -EIO when none is near. 0 for
 * rc >= 0. Every error this module returns has been through it.
 */
int sl_fabric_errno(ssize_t rc);

/*
 * Opens provider ("tcp;ofi_rxm", "shm", "verbs;ofi_rxm") bound to node:service
 * (node may be NULL for any, service NULL or "0" for an ephemeral port).
 * Returns 0 or a negative errno; on failure nothing is left open.
 */
int sl_fabric_open(struct sl_fabric *f, const char *provider, const char *node,
		   const char *service);
void sl_fabric_close(struct sl_fabric *f);
/*
 * Closes just the endpoint, which ends every operation posted on it, so that
 * memory regions and buffers can go before the domain does.
 */
void sl_fabric_close_ep(struct sl_fabric *f);

/* Registers [buf, buf+len) with access flags (FI_READ, FI_REMOTE_WRITE, ...). */
int sl_fabric_mr_reg(struct sl_fabric *f, void *buf, size_t len, uint64_t access,
		     struct sl_fabric_mr *mr);
void sl_fabric_mr_close(struct sl_fabric_mr *mr);
/* The address a peer names ptr by in RMA: a virtual address or an offset. */
uint64_t sl_fabric_mr_raddr(const struct sl_fabric *f, const struct sl_fabric_mr *mr,
			    const void *ptr);

/*
 * Resolves a peer's raw address (from sl_fabric.addr on its side), once per
 * peer. With SL_FABRIC_PEERS peers in the vector already, the least recently
 * used one without holds is removed first (its connection goes with it);
 * -EBUSY when every peer is held.
 */
int sl_fabric_av_insert(struct sl_fabric *f, const void *addr, size_t len, fi_addr_t *out);
/* Peers in the address vector now (never more than SL_FABRIC_PEERS). */
int sl_fabric_av_count(const struct sl_fabric *f);
/*
 * Holds a resolved peer while an operation names it, so that eviction passes
 * it by; every hold is dropped with sl_fabric_peer_put.
 */
void sl_fabric_peer_hold(struct sl_fabric *f, fi_addr_t fi);
void sl_fabric_peer_put(struct sl_fabric *f, fi_addr_t fi);
/* Removes a peer by its resolved address, held or not (see sl_fabric_forget). */
void sl_fabric_forget_fi(struct sl_fabric *f, fi_addr_t fi);

/*
 * Drops a peer from the address vector, and so its connection: the next
 * sl_fabric_av_insert of the address connects anew. For a peer that failed
 * and may have restarted on the same address. Callers must not keep the
 * peer's old fi_addr_t: resolve addresses through sl_fabric_av_insert.
 */
void sl_fabric_forget(struct sl_fabric *f, const void *addr, size_t len);

/* Posts; each retries -FI_EAGAIN while driving progress, until deadline_ms. */
int sl_fabric_tsend(struct sl_fabric *f, const void *buf, size_t len, void *desc,
		    fi_addr_t dest, uint64_t tag, void *ctx, uint64_t deadline_ms);
int sl_fabric_trecv(struct sl_fabric *f, void *buf, size_t len, void *desc, uint64_t tag,
		    uint64_t ignore, void *ctx, uint64_t deadline_ms);
int sl_fabric_write(struct sl_fabric *f, const void *buf, size_t len, void *desc,
		    fi_addr_t dest, uint64_t raddr, uint64_t rkey, void *ctx, uint64_t deadline_ms);
int sl_fabric_read(struct sl_fabric *f, void *buf, size_t len, void *desc, fi_addr_t src,
		   uint64_t raddr, uint64_t rkey, void *ctx, uint64_t deadline_ms);
/* Cancels a posted receive; its completion still arrives (with -ECANCELED). */
void sl_fabric_cancel(struct sl_fabric *f, void *ctx);

/*
 * Returns up to max completions, waiting at most timeout_ms for the first.
 * Returns the count (0 on timeout) or a negative errno for a CQ failure.
 */
int sl_fabric_poll(struct sl_fabric *f, struct sl_fabric_event *ev, int max, int timeout_ms);

#endif
