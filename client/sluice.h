/*
 * libsluice: the Sluice client SDK.
 *
 * A session holds the principal's credentials, the purpose it declares for
 * its reads, a control connection to sluice-meta and a libfabric endpoint
 * for the data servers. Every read is granted by sluice-meta (tenant,
 * purpose and tag rules are checked and audited) and every data server checks
 * the capability before it moves a byte.
 *
 * Conventions: functions return 0 or a negative errno (-ENOENT for a missing
 * object, a namespace or an object of another tenant; -EACCES when refused;
 * -EEXIST; -EINVAL for bad input; -ETIMEDOUT, -EHOSTUNREACH, -ECONNREFUSED
 * when a server cannot be reached). sluice_last_error() gives a one-line
 * message for the last failure. A session is used by one thread at a time;
 * open one per thread for parallelism.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sluice_session sluice_session;
typedef struct sluice_reader sluice_reader;

struct sluice_opts {
	const char *meta;       /* "host:port" of sluice-meta */
	const char *key_id;     /* the principal's key id */
	const char *secret;     /* its secret, 64 hex digits */
	const char *purpose;    /* declared for every read, e.g. "inference" */
	const char *provider;   /* libfabric provider; NULL: "tcp;ofi_rxm" */
	uint32_t timeout_ms;    /* per request; 0: 5000 */
	/* The CA sluice-meta's TLS certificate must chain to (the control plane
	 * is TLS only): base64 of its DER, or a PEM/DER file. Without either,
	 * every call fails with -ENOKEY. */
	const char *ca;
	const char *ca_file;
};

struct sluice_tag {
	const char *key;
	const char *value;
};

struct sluice_shard_info {
	uint32_t index;
	uint32_t length;
	uint32_t crc32c;
	size_t n_servers;
	uint32_t *servers; /* replicas, in placement order */
};

struct sluice_server_info {
	uint32_t id;
	char *label;
	char *provider;
	int up;
	uint64_t last_heartbeat_ms;
};

/* Who ingested an object, from where, when and with which tags (set at put, never changed). */
struct sluice_provenance {
	uint64_t principal_id;
	char *principal;        /* its name */
	char *source;           /* what the client named (sluice_set_source); "" when none */
	uint64_t time_ms;       /* when the put committed */
	size_t n_tags;
	struct sluice_tag *tags; /* as ingested, namespace defaults included */
};

struct sluice_object {
	uint64_t id;
	char *ns;
	char *name;
	uint64_t size;
	uint32_t shard_size;
	uint32_t shard_count;
	char sha256[65];        /* hex */
	uint64_t created_ms;
	size_t n_tags;
	struct sluice_tag *tags;
	/* Filled by sluice_stat only: */
	struct sluice_shard_info *shards;
	size_t n_servers;
	struct sluice_server_info *servers;
	/* Listings only: 1 when the caller may not read the object, which then
	 * comes by name only (no size, digest, tags or id). */
	int withheld;
	/* Retention (sluice_retain): until retain_until_ms, mode "governance" or
	 * "compliance"; "" and 0 when none was set. It may have ended already. */
	uint64_t retain_until_ms;
	char retain_mode[16];
	int legal_hold;         /* sluice_hold_set */
	struct sluice_provenance provenance;
};

/* Called during long transfers with the bytes done so far. */
typedef void (*sluice_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* ---- sessions ------------------------------------------------------------ */

int sluice_open(const struct sluice_opts *opts, sluice_session **out);
/*
 * Opens a session from a credentials file (INI: [sluice] meta, key_id,
 * secret, ca or ca_file, and optionally provider). ca is the base64 DER of
 * the cluster CA, which may go on over indented continuation lines; ca_file
 * a CA certificate file, relative to the credentials file's folder. meta,
 * when non-NULL, overrides the file's address; the environment variable
 * SLUICE_PROVIDER overrides the libfabric provider (default tcp;ofi_rxm).
 */
int sluice_open_file(const char *path, const char *meta, const char *purpose,
		     sluice_session **out);
/*
 * Writes the `ca = ...` entry of a credentials file naming the CA this
 * session trusts, so that a credentials file made with it verifies the same
 * server. 0, -ENOKEY (the session has no CA) or -EIO.
 */
int sluice_write_ca(const sluice_session *s, FILE *f);
void sluice_close(sluice_session *s);
/* The last failure's message; valid until the next call on the session. */
const char *sluice_last_error(const sluice_session *s);

/* ---- objects -------------------------------------------------------------- */

/* Stores len bytes of buf as ns/name with tags (namespace defaults apply). */
int sluice_put(sluice_session *s, const char *ns, const char *name, const void *buf,
	       size_t len, const struct sluice_tag *tags, size_t n_tags);
/* Stores size bytes read from fd (from its current offset). */
int sluice_put_fd(sluice_session *s, const char *ns, const char *name, int fd, uint64_t size,
		  const struct sluice_tag *tags, size_t n_tags, sluice_progress_fn progress,
		  void *arg);

int sluice_stat(sluice_session *s, const char *ns, const char *name, struct sluice_object **out);
void sluice_object_free(struct sluice_object *o);

/*
 * Lists up to limit (0: 1000) objects of ns whose names start with prefix,
 * after start_after (NULL: from the first). *truncated says more remain.
 */
int sluice_list(sluice_session *s, const char *ns, const char *prefix, const char *start_after,
		uint32_t limit, struct sluice_object ***out, size_t *n, int *truncated);
void sluice_list_free(struct sluice_object **list, size_t n);

/* Reads [off, off+len) of ns/name into buf; *got is what the object held. */
int sluice_read(sluice_session *s, const char *ns, const char *name, uint64_t off, void *buf,
		size_t len, size_t *got);
/* Writes the whole object to fd. */
int sluice_get_fd(sluice_session *s, const char *ns, const char *name, int fd,
		  sluice_progress_fn progress, void *arg);

/* A granted, open object for repeated reads (the grant renews itself). */
int sluice_reader_open(sluice_session *s, const char *ns, const char *name, sluice_reader **out);
int sluice_reader_pread(sluice_reader *r, void *buf, size_t len, uint64_t off, size_t *got);
uint64_t sluice_reader_size(const sluice_reader *r);
/*
 * The object as its latest grant describes it (size, digest, tags; no
 * shards), so that a caller decides how to serve it (a mount keeps
 * confidential objects out of the page cache) from what was just checked.
 * NULL when out of memory; free with sluice_object_free.
 */
struct sluice_object *sluice_reader_object(const sluice_reader *r);

/* One range of a batched read. */
struct sluice_iov {
	void *buf;
	size_t len;
	uint64_t off;
	size_t got;  /* out: bytes the object held in the range */
};
/*
 * Reads every range of iov with all of them in flight at once (up to 32
 * shard pieces at a time): the way to keep the data servers busy from one
 * thread, for batches of samples or random reads at depth. 0 only when every
 * range was read; on failure no range counts as read.
 */
int sluice_reader_preadv(sluice_reader *r, struct sluice_iov *iov, size_t n);
void sluice_reader_close(sluice_reader *r);

/* Sets tags (replacing values of the same keys) and removes the keys listed. */
int sluice_set_tags(sluice_session *s, const char *ns, const char *name,
		    const struct sluice_tag *set, size_t n_set, const char *const *remove,
		    size_t n_remove);

/*
 * Deletes ns/name. Once this returns 0 the object is gone from stat, list and
 * reads, and the name may be put again; the data servers delete its shard
 * files within a few heartbeats (a read already granted may finish until
 * then). Recorded in the audit log as object.delete. Needs the writer or
 * admin role (-EPERM otherwise, whether or not the object exists); -ENOENT
 * for a missing object, an object of another tenant and one whose put has
 * not committed. -EPERM while a legal hold is set or retention runs
 * (governance mode: unless the caller holds the bypass right), the message
 * naming the hold or the retention's end. Every refusal is audited.
 */
int sluice_delete(sluice_session *s, const char *ns, const char *name);

/* ---- retention, legal holds, provenance --------------------------------------- */

/*
 * The source the session's next puts record in their objects' provenance (a
 * file path, a pipeline's name): up to 1024 bytes of UTF-8 without control
 * characters (sluice-meta checks; a put with a bad source fails -EINVAL).
 * NULL or "" records none. Provenance's principal and time are what
 * sluice-meta knows, never what a client says. 0 or -EINVAL (too long).
 */
int sluice_set_source(sluice_session *s, const char *source);

/*
 * Sets (on 1) or clears (on 0) a legal hold on ns/name: while it is set
 * nobody may delete the object. Needs the admin role (-EPERM). Audited as
 * object.hold, "hold off -> on". -ENOENT for a missing object and one of
 * another tenant.
 */
int sluice_hold_set(sluice_session *s, const char *ns, const char *name, int on);

/*
 * Retains ns/name until until_ms (ms since the epoch, UTC) in mode
 * "governance" or "compliance"; mode "none" with until_ms 0 removes
 * retention. Needs the writer or admin role. Keeping or extending is always
 * allowed; shortening or removing governance-mode retention needs the bypass
 * right; compliance-mode retention cannot be shortened, removed or switched
 * to governance before it ends (-EPERM). The date must lie in the future,
 * at most 100 years ahead (-EINVAL). While retention runs, deleting is
 * refused (-EPERM), under governance mode unless the caller holds the bypass
 * right. Audited as object.retain with old -> new.
 */
int sluice_retain(sluice_session *s, const char *ns, const char *name, uint64_t until_ms,
		  const char *mode);

/* ---- administration --------------------------------------------------------- */

int sluice_tenant_create(sluice_session *s, const char *name, uint64_t *id);
/* Names of every tenant; free with sluice_strings_free. */
int sluice_tenant_list(sluice_session *s, char ***names, size_t *n);
void sluice_strings_free(char **list, size_t n);

struct sluice_principal_spec {
	const char *tenant;      /* NULL: the caller's own */
	const char *name;
	const char *const *roles; /* admin, writer, reader */
	size_t n_roles;
	const char *const *purposes;
	size_t n_purposes;
	const char *clearance;   /* public .. restricted; NULL: internal */
	/* Governance rights beyond the roles' own (admin: assign, declassify;
	 * writer: assign): assign, declassify, bypass (delete under
	 * governance-mode retention). Only rights the creator holds. */
	const char *const *rights;
	size_t n_rights;
};
/* Creates a principal; key_id (>= 24 bytes) and secret (>= 65 bytes) get its key. */
int sluice_principal_create(sluice_session *s, const struct sluice_principal_spec *spec,
			    char *key_id, char *secret);

struct sluice_ns_spec {
	const char *tenant;      /* NULL: the caller's own */
	const char *name;
	uint32_t shard_size;     /* 0: server default */
	uint32_t replicas;       /* 0: server default */
	const struct sluice_tag *tags;
	size_t n_tags;
};
int sluice_ns_create(sluice_session *s, const struct sluice_ns_spec *spec);
int sluice_ns_list(sluice_session *s, const char *tenant, char ***names, size_t *n);

int sluice_servers(sluice_session *s, struct sluice_server_info **out, size_t *n);
void sluice_servers_free(struct sluice_server_info *list, size_t n);

struct sluice_audit_record {
	uint64_t seq;
	uint64_t time_ms;
	uint64_t tenant_id;
	uint64_t principal_id;
	uint64_t object_id;
	uint64_t cap_id;
	char *event;     /* read.grant, object.put, object.tags, object.delete, object.abandon, ... */
	char *purpose;
	char *object;    /* ns/name, or the tenant/principal/namespace created */
	char *decision;  /* allow, deny, done */
	char *reason;
	/* Who decided, on what, under which rules: empty or 0 when the server
	 * that wrote the record did not know. */
	char *node;      /* the server that wrote it: "meta" or "data/<id>" */
	char *enforcer;  /* where the decision is enforced: "meta" | "data" */
	char **roles;    /* the principal's roles at the time */
	size_t n_roles;
	char *action;    /* read, stat, list, put, tag, delete, create, ... */
	char *policy;    /* the deciding policy */
	uint64_t object_version; /* the object's version (its commit time, ms) */
	uint64_t offset, length; /* the byte range asked for (length 0: to the end) */
	uint64_t bytes, count;   /* a summary of allowed reads: bytes moved, reads */
	uint64_t policy_version;
	uint64_t tag_epoch, policy_epoch;
};
/*
 * Reads the caller's tenant's audit log after sequence number after_seq, at
 * most limit records (0: 100). Needs the admin role.
 * *chain_ok says whether every record read links to the one before it (a
 * deleted, edited or reordered record breaks the chain); *truncated that
 * more follow. Free with sluice_audit_free.
 */
int sluice_audit_list(sluice_session *s, uint64_t after_seq, uint32_t limit,
		      struct sluice_audit_record **out, size_t *n, int *chain_ok, int *truncated);
void sluice_audit_free(struct sluice_audit_record *list, size_t n);

/* One reply of the audit log, with what sluice-meta checked. */
struct sluice_audit_page {
	struct sluice_audit_record *records;
	size_t n;
	int chain_ok;      /* every record read links to the one before it */
	int head_ok;       /* the log's last record is the one its signed head names */
	uint64_t head_seq; /* the sequence number the signed head names (0: none) */
	int truncated;     /* more records follow the last one here */
	uint64_t last_seq; /* the last record the server walked: the next page follows it */
};
/*
 * Like sluice_audit_list, and says whether the log's tail is intact: a log
 * whose last records were removed no longer ends where its signed head says
 * (head_ok 0; sluice_audit_list then reports chain_ok 0). Each tenant has its
 * own log, numbered 1, 2, 3...; tenant names the log to read (cluster admins
 * only; NULL: the caller's tenant's). Free with sluice_audit_page_free.
 */
int sluice_audit_page_read(sluice_session *s, const char *tenant, uint64_t after_seq,
			   uint32_t limit, struct sluice_audit_page *page);
void sluice_audit_page_free(struct sluice_audit_page *page);

/* What the records of a page must match; NULL and 0 match anything. */
struct sluice_audit_filter {
	const char *tenant;    /* whose log (cluster admins only); NULL: the caller's tenant's */
	const char *principal; /* a principal's name in that tenant */
	const char *object;    /* "ns/name" */
	const char *decision;  /* allow, deny, done, partial */
	uint64_t since_ms;     /* records written at or after (ms since the epoch) */
	uint64_t until_ms;     /* records written before */
};
/*
 * Like sluice_audit_page_read, with the records filtered by sluice-meta. It
 * still checks the hash chain over every record it walks, and walks a
 * bounded number of records per call, so a page may hold fewer than limit
 * records, or none, with truncated set: call again with after_seq =
 * page->last_seq until truncated is 0. An unknown principal is -ENOENT, a
 * bad filter -EINVAL. Free with sluice_audit_page_free.
 */
int sluice_audit_page_query(sluice_session *s, const struct sluice_audit_filter *f,
			    uint64_t after_seq, uint32_t limit, struct sluice_audit_page *page);

/* The verdict on a whole audit log. */
struct sluice_audit_verdict {
	int intact;        /* every record links to the one before and the signed head to the last */
	uint64_t checked;  /* records checked */
	uint64_t last_seq; /* the last record checked */
	uint64_t head_seq; /* the record the signed head names (0: none, or not reached) */
	uint64_t bad_seq;  /* the first broken record (0 when intact) */
	char problem[16];  /* missing, reordered, changed, unreadable, cut, head */
	char detail[256];  /* "record 17: its predecessor was changed (...)", printable */
};
/*
 * Walks a tenant's whole audit log from record 1 (tenant: cluster admins
 * only; NULL: the caller's tenant's) in bounded steps, one request each,
 * and stops at the first broken record: a deleted record (a gap), records
 * out of order, a record edited (the next one's prev_hash no longer matches
 * it), a cut tail or a bad signed head. Needs the admin role. 0 when the
 * walk finished, intact or not (see v->intact); -errno when it could not.
 */
int sluice_audit_verify(sluice_session *s, const char *tenant, struct sluice_audit_verdict *v);

/* What `sluice key rotate` did. */
struct sluice_key_rotation {
	uint32_t key_gen;       /* capabilities are minted with this generation now */
	uint64_t prev_until_ms; /* the previous one is accepted until then (UTC ms) */
	size_t n_fenced;        /* data servers that did not acknowledge in time */
	uint32_t fenced[256];   /* (sluice-meta grants no reads from them until they catch up) */
};
/*
 * Starts a new capability key generation (cluster admins only): every data
 * server accepts it before anything is minted with it; the previous one
 * keeps working until prev_until_ms (sluice-meta's key-grace-s), then
 * capabilities minted with it are refused. Audited as key.rotate.
 */
int sluice_key_rotate(sluice_session *s, struct sluice_key_rotation *out);

/* Who the session is: tenant and principal names (free both). */
int sluice_whoami(sluice_session *s, char **tenant, char **principal);

/* ---- governance: policies and the tag dictionary -------------------------- */
/*
 * A tenant's reads, stats and listings are decided by its policies (the
 * language: docs/security.md). A tenant that never changed them has one,
 * "clearance": `allow to role:* actions read,stat when classification <=
 * clearance`. Every change bumps the tenant's policy epoch and revokes the
 * capabilities minted before it. All policy calls need the admin role
 * (-EPERM otherwise) and act on the caller's own tenant.
 */
struct sluice_policy {
	char *name;
	char *text;
	uint64_t version;    /* 1, 2, ... per name, never reused */
	uint64_t updated_ms; /* 0 for the default policy never stored */
	char *updated_by;    /* principal name, "" for the default */
};
/*
 * Stores text (at most 16 KiB) as policy name, replacing the one of that
 * name; *version (may be NULL) gets its new version. -EINVAL when it does
 * not parse or names keys or values the tenant's dictionary lacks; the
 * message says where ("line L, column C: ..."); -EDQUOT past 64 policies.
 */
int sluice_policy_set(sluice_session *s, const char *name, const char *text, uint64_t *version);
/* One stored policy; free with sluice_policy_free. -ENOENT when there is none. */
int sluice_policy_get(sluice_session *s, const char *name, struct sluice_policy **out);
void sluice_policy_free(struct sluice_policy *p);
/* Every policy of the tenant by name, and its policy epoch (may be NULL). */
int sluice_policy_list(sluice_session *s, struct sluice_policy **out, size_t *n, uint64_t *epoch);
void sluice_policy_list_free(struct sluice_policy *list, size_t n);
/* Removes a policy; with none left every read is denied. -ENOENT when there is none. */
int sluice_policy_rm(sluice_session *s, const char *name);

struct sluice_policy_decision {
	int allow;
	char policy[64];   /* the deciding policy; "" for a fail-closed check or default deny */
	uint64_t version;
	char rule[64];
	char reason[256];
	char principal[64];
	char purpose[64];
	char action[8];    /* read or stat */
	uint64_t epoch;    /* the policy epoch it was decided under */
};
/*
 * What the tenant's policies decide for principal (NULL: the caller)
 * reading (action "read", or NULL) or stat'ing ("stat") ns/name for purpose,
 * without reading anything. 0 with out filled whether allowed or not.
 */
int sluice_policy_explain(sluice_session *s, const char *ns, const char *name,
			  const char *principal, const char *purpose, const char *action,
			  struct sluice_policy_decision *out);

struct sluice_policy_change {
	char *object;      /* ns/name */
	char *principal;
	char *purpose;
	char *action;      /* read or stat */
	int before, after; /* 1 allowed, 0 denied */
	char *rule_before; /* "policy vN/rule", or the reason when no rule decided */
	char *rule_after;
};
struct sluice_policy_test {
	struct sluice_policy_change *changes;
	size_t n;
	uint32_t objects;    /* objects sampled (the tenant's first 1,000) */
	uint32_t principals; /* principals sampled */
	int truncated;       /* the sample or the changes were cut short */
	int replaces;        /* a stored policy of that name was replaced */
	char name[64];       /* the name it was tested under */
};
/*
 * Decides the tenant's objects for its principals, each of their purposes
 * and both actions, with the stored set and with text added as policy name
 * (NULL: its first rule's name; it replaces a stored one of that name), and
 * returns the decisions that would change. Stores nothing. Free with
 * sluice_policy_test_free.
 */
int sluice_policy_test(sluice_session *s, const char *name, const char *text,
		       struct sluice_policy_test *out);
void sluice_policy_test_free(struct sluice_policy_test *t);

/* A governed tag key of the tenant's dictionary. */
struct sluice_tagdef {
	char *key;
	char **values;     /* allowed values, least sensitive first when ordered; none: any */
	size_t n_values;
	int ordered;
	int mandatory;     /* every object must carry it (reads of one without it are denied) */
};
/*
 * Defines (or redefines) key in the tenant's dictionary: tags of that key
 * must then take one of values (any value when there are none). Needs the
 * admin role. Removing a value objects still carry is allowed: reads of
 * them, and policies naming it, then fail closed.
 */
int sluice_tagdef_set(sluice_session *s, const char *key, const char *const *values,
		      size_t n_values, int ordered, int mandatory);
/* Removes key from the dictionary (its tags are then ungoverned). Admin role. */
int sluice_tagdef_rm(sluice_session *s, const char *key);
/* The tenant's dictionary; *builtin (may be NULL) says it is the built-in one. */
int sluice_tagdef_list(sluice_session *s, struct sluice_tagdef **out, size_t *n, int *builtin);
void sluice_tagdef_list_free(struct sluice_tagdef *list, size_t n);

#ifdef __cplusplus
}
#endif
#endif
