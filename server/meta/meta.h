/*
 * sluice-meta's context: everything the metadata server holds, in one struct
 * owned by main() and passed to every handler. No other mutable globals.
 */
#ifndef SL_META_H
#define SL_META_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "catalog.h"
#include "crypto.h"
#include "replay.h"
#include "rpc.h"

struct ssl_ctx_st;
struct sl_pol_view;

#define SL_META_MAX_SERVERS 256
/* Authenticated connections served at once, a thread each (see server.c). */
#define SL_META_MAX_CONNS 1024
/* Connections still in their TLS handshake or first request, and how long
 * each may take for both; the oldest gives way to a newcomer when full. */
#define SL_META_MAX_UNAUTH 64
/* Unauthenticated connections one source (an IPv4 address, an IPv6 /64) may hold. */
#define SL_META_UNAUTH_PER_SOURCE 32
#define SL_META_AUTH_MS 5000u
/* Authenticated connections one principal, one tenant, all data servers may hold. */
#define SL_META_CONNS_PER_PRINCIPAL 64
#define SL_META_CONNS_PER_TENANT 256
#define SL_META_CONNS_SERVERS (2 * SL_META_MAX_SERVERS)
#define SL_SYSTEM_TENANT "system"

struct sl_meta_config {
	char listen[256];
	char data_dir[256];
	char cluster_key[256];
	char tls_cert[256]; /* PEM chain sluice-meta presents; made in data_dir when unset */
	char tls_key[256];
	char tls_ca[256];   /* the CA that chain ends in, handed to clients */
	char log_level[32];
	uint32_t heartbeat_ms;
	uint32_t down_after_ms;
	uint32_t cap_ttl_s;
	uint32_t shard_size;
	uint32_t replicas;
	uint32_t pending_expiry_s;
	uint32_t tenant_principals_max;
	uint32_t key_grace_s;     /* a rotated-out key generation works this long */
	uint32_t server_key_id;   /* --server-key: write that server's key file and exit */
	char server_key_out[256];
};

/*
 * Revocations and key generations on their way to the data servers
 * (revoke.c): a log the data servers' WATCH long polls read, and what each
 * server has acknowledged. Under lock; changed wakes the polls and the
 * changes waiting for acknowledgements.
 */
#define SL_REVOKE_LOG_MAX 65536u
/* Longer than any capability minted before a revocation can live
 * (SL_CAP_MAX_TTL_MS + SL_CAP_SKEW_MS, and the time to commit). */
#define SL_REVOKE_KEEP_MS (400u * 1000u)
/* How long a change waits for every live data server to acknowledge. */
#define SL_REVOKE_ACK_MS 750u
/* How long a WATCH waits for news before it answers anyway. */
#define SL_WATCH_POLL_MS 1000u
#define SL_WATCH_RECORDS_MAX 256u

struct sl_revoke_entry {
	uint64_t seq, tenant, object, epoch, time_ms;
};

struct sl_watcher {
	uint32_t id;
	uint64_t incarnation; /* sluice-meta's incarnation the server last saw */
	uint64_t applied;     /* the last revocation it applied */
	uint32_t key_gen;     /* the key generation it accepts */
	uint64_t fence_seq;   /* fenced until applied reaches it */
	uint32_t fence_gen;   /* fenced until key_gen reaches it */
};

struct sl_revoke {
	pthread_mutex_t lock;
	pthread_cond_t changed;  /* CLOCK_MONOTONIC */
	uint64_t incarnation;    /* random, per start: a server seeing a new one starts over */
	uint64_t seq;            /* the newest revocation */
	uint64_t lost_seq;       /* revocations up to it left the log for room */
	struct sl_revoke_entry *log; /* ring of SL_REVOKE_LOG_MAX */
	size_t head, n;
	uint32_t key_gen;        /* the generation data servers are told to accept */
	uint64_t key_prev_until_ms;
	uint32_t mint_gen;       /* the generation capabilities are minted with; atomic */
	struct sl_watcher w[SL_META_MAX_SERVERS];
	size_t n_w;
};

struct sl_server_entry {
	Sluice__DataServer *rec; /* as registered; up/last_heartbeat kept below */
	uint64_t last_heartbeat_ms;
};

struct sl_audit_chain {
	uint64_t tenant;
	uint64_t seq;        /* the tenant's last record, 0 when none */
	uint8_t hash[32];    /* its SHA-256 */
	int used;
};

/* Authentication refusals counted since the last audit write (authlog.c). */
#define SL_AUTHLOG_MAX 256
#define SL_AUTHLOG_INTERVAL_MS 10000u
struct sl_authlog_row {
	uint64_t tenant;     /* 0: the system tenant */
	uint64_t principal;  /* the key id's principal, 0 when unknown */
	char key_id[65];
	char why[48];
	uint32_t count;
};
struct sl_authlog {
	pthread_mutex_t lock;
	uint64_t since_ms;   /* first refusal counted; 0: none */
	uint64_t unlisted;   /* refusals past SL_AUTHLOG_MAX rows */
	size_t n;
	size_t n_unknown;    /* rows of key ids that name no principal */
	struct sl_authlog_row rows[SL_AUTHLOG_MAX];
};

enum sl_meta_conn_state {
	SL_CONN_FREE,   /* slot unused */
	SL_CONN_UNAUTH, /* TLS handshake or first request under way */
	SL_CONN_AUTHED, /* a request authenticated it; bound to that principal */
	SL_CONN_DONE,   /* thread ending or ended, or evicted: the accept loop reaps it */
};

/* One connection's slot; fd stays open until the slot is reaped. */
struct sl_meta_conn {
	int fd;
	enum sl_meta_conn_state state;
	pthread_t thread;
	uint64_t since_ms;
	uint8_t source[8]; /* the peer's IPv4 address or IPv6 /64 (see server.c) */
	int is_server;
	uint64_t principal, tenant;
};

/* Who sent a request, once its signature checked out. */
struct sl_caller {
	int is_server;
	uint32_t server_id;   /* the data server whose own key signed (is_server) */
	struct sl_keyring server_keys; /* that server's ring (is_server) */
	Sluice__Principal *p; /* NULL for data servers */
};

struct sl_meta {
	struct sl_meta_config cfg;
	struct sl_catalog *cat;
	struct sl_keyring keys;
	uint16_t port;
	uint64_t system_tenant; /* id of the tenant cluster admins live in */
	int listen_fd;
	volatile sig_atomic_t stopping;

	/* Serializes catalog mutations that read before they write. */
	pthread_mutex_t mutate_lock;

	struct sl_replay *replay; /* nonces seen, per principal (replay.h) */

	pthread_mutex_t servers_lock;
	struct sl_server_entry servers[SL_META_MAX_SERVERS];
	int n_servers;

	/* The end of each tenant's audit chain (audit.c), under audit_lock. */
	pthread_mutex_t audit_lock;
	struct sl_audit_chain *audit_chains; /* open addressing by tenant id */
	size_t audit_chains_cap, audit_chains_n;
	/* Group commit of audit records (audit.c), under audit_lock. */
	pthread_cond_t audit_cond;            /* a group was committed */
	struct sl_audit_pending *audit_queue, *audit_queue_tail;
	int audit_leading;                    /* a group is being committed */
	uint64_t audit_groups;                /* groups committed (tests, metrics) */
	struct sl_authlog authlog;

	struct sl_revoke revoke;

	pthread_t sweeper;
	int sweeper_started;

	/* Each tenant's parsed policy set and dictionary (policy_store.c),
	 * under pol_lock: SL_POL_CACHE_MAX slots, allocated on first use. */
	pthread_mutex_t pol_lock;
	struct sl_pol_view **pol_cache;
	uint64_t pol_clock;

	struct ssl_ctx_st *tls; /* the server's TLS 1.3 context */
	uint8_t *ca_der;        /* the CA clients are told to trust */
	size_t ca_der_len;

	pthread_mutex_t conns_lock;
	struct sl_meta_conn conns[SL_META_MAX_CONNS + SL_META_MAX_UNAUTH];
	int n_unauth, n_authed;
};

/* A reply under construction: a handler fills either err+msg or body. */
struct sl_reply {
	int err;
	char msg[256];
	uint8_t *body;
	size_t body_len;
};

/* Sets an error reply and returns err, for `return sl_fail(r, -ENOENT, "...")`. */
int sl_fail(struct sl_reply *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Packs msg into the reply body; returns 0 or -ENOMEM. */
int sl_reply_pack(struct sl_reply *r, const ProtobufCMessage *msg);

/* lookup.c: catalog reads shared by handlers */
int sl_is_cluster_admin(const struct sl_meta *m, const struct sl_caller *c);
/* The tenant a request acts on: `name` if given and allowed, else the caller's. */
int sl_target_tenant(struct sl_meta *m, const struct sl_caller *c, const char *name,
		     uint64_t *tenant_id, struct sl_reply *r);
int sl_tenant_id(struct sl_meta *m, const char *name, uint64_t *id);
int sl_ns_get(struct sl_meta *m, uint64_t tenant, const char *name, Sluice__Namespace **ns);
int sl_object_get(struct sl_meta *m, uint64_t tenant, const char *ns, const char *name,
		  Sluice__Object **obj);
int sl_shards_get(struct sl_meta *m, uint64_t object_id, uint32_t count, Sluice__Shard ***shards);
void sl_shards_free(Sluice__Shard **shards, uint32_t count);

/* Gathers scanned records (an sl_catalog_scan_fn), up to limit when set. */
struct sl_collect {
	void **items;
	size_t n, cap;
	const ProtobufCMessageDescriptor *desc;
	size_t limit;
	int truncated;
};
int sl_collect_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
void sl_collect_free(struct sl_collect *c);

/*
 * sweeper.c: a thread that abandons ingests left pending longer than
 * cfg.pending_expiry_s: their catalog records go and their shard replicas
 * are queued (drops column family) for the data servers to delete, handed
 * out in heartbeat replies.
 */
int sl_sweeper_start(struct sl_meta *m);
void sl_sweeper_stop(struct sl_meta *m);
/* One sweep: abandons what expired before now_ms; returns how many, or -errno. */
int sl_sweep_pending(struct sl_meta *m, uint64_t now_ms);
/*
 * Adds to batch b the deletion of o's shard records (o pending or committed)
 * and one drop per replica they place, queued for the replica's data server;
 * shard records already gone are skipped. Only reads the catalog: call it
 * under m->mutate_lock and commit b in the same hold, so that no other
 * change to o lands in between. 0 or -errno (b then must not be committed).
 */
int sl_drops_queue(struct sl_meta *m, struct sl_batch *b, const Sluice__Object *o);
/*
 * Clears the drops server reports done and puts its next ones (at most 256)
 * in resp->drop, pointing into *store; the caller frees resp->drop and *store.
 */
int sl_drops_exchange(struct sl_meta *m, uint32_t server, Sluice__ShardRef **done, size_t n_done,
		      Sluice__HeartbeatResp *resp, Sluice__ShardRef **store);

/* server.c: accepts and serves connections until m->stopping. */
int sl_meta_serve(struct sl_meta *m);

/* One row of SL_META_RPCS for dispatch: call is a typed wrapper around sl_h_<lc>. */
struct sl_meta_rpc {
	const char *name;
	const ProtobufCMessageDescriptor *req;
	int (*call)(struct sl_meta *m, const struct sl_caller *c, const ProtobufCMessage *req,
		    struct sl_reply *r);
};
/* The RPC of frame type `type`, or NULL. */
const struct sl_meta_rpc *sl_meta_rpc_find(uint16_t type);

/*
 * pki.c: the server's TLS identity. Unless cfg names tls-cert/tls-key/tls-ca,
 * makes a cluster CA in data_dir on first start (ca.key 0600, ca.pem) and
 * issues meta.pem/meta.key from it at every start, naming the listen host,
 * 127.0.0.1, ::1, localhost and this host's name. Fills m->tls and m->ca_der.
 */
int sl_meta_pki_init(struct sl_meta *m);
void sl_meta_pki_free(struct sl_meta *m);

/* auth.c */
int sl_auth_verify(struct sl_meta *m, uint16_t type, uint64_t req_id, const uint8_t *buf,
		   size_t len, struct sl_caller *caller, Sluice__Signed **env);
int sl_meta_bootstrap(struct sl_meta *m);

/* audit.c */
/* Loads every tenant's chain end; a missing or bad head is logged and recorded. */
int sl_audit_open(struct sl_meta *m);
void sl_audit_close(struct sl_meta *m);
/*
 * Adds rec (seq, time and prev_hash are filled in) to the batch `with` and
 * commits it, synced: a change and its audit record are one atomic write.
 * `with` NULL commits the record alone. The caller still frees `with`.
 * Concurrent callers share one synced write (group commit); blocks until
 * the caller's record is written or failed.
 */
int sl_audit_commit(struct sl_meta *m, Sluice__AuditRecord *rec, struct sl_batch *with);
/*
 * Setters of what a record says about a decision; each only points rec's
 * fields at its arguments (no copies: they must outlive the commit).
 * Who decided: enforcer "meta" or "data", the principal's roles (p may be
 * NULL), the action (read, stat, list, put, tag, delete, ...). The node
 * that wrote the record is "meta" unless set before the commit.
 */
void sl_audit_set_decider(Sluice__AuditRecord *rec, const char *enforcer,
			  const Sluice__Principal *p, const char *action);
/* The object decided on: its id, version, tag epoch and tags snapshot. */
void sl_audit_set_object(Sluice__AuditRecord *rec, const Sluice__Object *o);
/* The byte range asked for (length 0: to the end). */
void sl_audit_set_range(Sluice__AuditRecord *rec, uint64_t offset, uint64_t length);
/* A summary of allowed reads: how many and how many bytes they moved. */
void sl_audit_set_summary(Sluice__AuditRecord *rec, uint64_t count, uint64_t bytes);
/* The deciding policy, its version, and the tenant's policy epoch. */
void sl_audit_set_policy(Sluice__AuditRecord *rec, const char *policy, uint64_t version,
			 uint64_t policy_epoch);

/* authlog.c: counts a refusal (tenant 0: the system tenant); may write the counts. */
void sl_authlog_note(struct sl_meta *m, uint64_t tenant, uint64_t principal, const char *key_id,
		     const char *why, uint64_t now_ms);
/* Writes every count to the audit log (one record per row) and clears them. */
int sl_authlog_flush(struct sl_meta *m);

/* registry.c */
int sl_registry_load(struct sl_meta *m);
void sl_registry_free(struct sl_meta *m);
/* Ids of servers that heartbeat recently; returns the count. */
size_t sl_registry_live(struct sl_meta *m, uint32_t *ids, size_t max);
/* Copies of the named servers' records, with up and last_heartbeat filled in. */
int sl_registry_describe(struct sl_meta *m, const uint32_t *ids, size_t n,
			 Sluice__DataServer ***out, size_t *n_out);
void sl_registry_free_list(Sluice__DataServer **list, size_t n);
/*
 * Packs a reply to data server c, with its mac over the reply packed with
 * mac empty and the request's challenge (sl_server_reply_mac), so the server
 * can trust it before acting on it.
 */
int sl_reply_signed(const struct sl_caller *c, const ProtobufCBinaryData *challenge,
		    ProtobufCMessage *resp, ProtobufCBinaryData *mac_field, struct sl_reply *r);

/* handlers: one per row of SL_META_RPCS, named sl_h_<lc>. */
#define SL_META_HANDLER_DECL(name, lc, num, req_t, resp_t, req_lc, resp_lc)                        \
	int sl_h_##lc(struct sl_meta *m, const struct sl_caller *c, const req_t *req,             \
		       struct sl_reply *r);
SL_META_RPCS(SL_META_HANDLER_DECL)
#undef SL_META_HANDLER_DECL

#endif
