/*
 * The audit logs: one per tenant, an append-only chain of AuditRecords keyed
 * by tenant and a sequence number of that tenant's own (1, 2, 3... whatever
 * other tenants do), each carrying the SHA-256 of the record before it, so a
 * deleted, edited or reordered record breaks the chain.
 *
 * The chain's end is anchored too: a signed head (AuditHead: seq and hash of
 * the last record, HMAC under a key derived from the cluster key) is written
 * in the same batch as every record, in the default column family. A log
 * whose last record is not the one its head names lost its tail. On start,
 * sluice-meta continues the chain from a valid head, not from the last
 * record found, so records cut from the tail stay a visible gap for good; a
 * head that is missing, forged or behind the records is itself recorded.
 */
#include <endian.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog_keys.h"
#include "governance.h"
#include "meta.h"
#include "sl_log.h"
#include "sl_time.h"
#include "validate.h"

void sl_audit_hash(const uint8_t *buf, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL);
}

/* The catalog key of tenant's chain head. */
static void head_key(struct sl_key *k, uint64_t tenant)
{
	sl_key_u64(sl_key_str(sl_key_reset(k), "audit_head"), tenant);
}

static int head_mac(const struct sl_meta *m, uint64_t tenant, uint64_t seq, const uint8_t hash[32],
		    uint8_t mac[SL_MAC_LEN])
{
	uint8_t fixed[5 + 8 + 8];
	uint64_t t = htobe64(tenant), s = htobe64(seq);
	struct iovec iov[2] = { { fixed, sizeof(fixed) }, { (void *)hash, 32 } };

	memcpy(fixed, "SLAH1", 5);
	memcpy(fixed + 5, &t, 8);
	memcpy(fixed + 13, &s, 8);
	return sl_hmac_sha256(m->keys.audit_key, SL_KEY_LEN, iov, 2, mac);
}

/* Adds chain tenant's head naming (seq, hash) to b. */
static int head_put(struct sl_meta *m, struct sl_batch *b, uint64_t tenant, uint64_t seq,
		    const uint8_t hash[32])
{
	Sluice__AuditHead h = SLUICE__AUDIT_HEAD__INIT;
	uint8_t mac[SL_MAC_LEN];
	struct sl_key k;
	int rc = head_mac(m, tenant, seq, hash, mac);

	if (rc)
		return rc;
	h.tenant_id = tenant;
	h.seq = seq;
	h.hash = (ProtobufCBinaryData){ 32, (uint8_t *)hash };
	h.mac = (ProtobufCBinaryData){ SL_MAC_LEN, mac };
	head_key(&k, tenant);
	return sl_batch_put_msg(b, m->cat, SL_CF_DEFAULT, k.b, k.len, &h.base);
}

/* Reads and verifies chain tenant's head: 0, -ENOENT when absent, -EBADMSG when forged. */
static int head_get(struct sl_meta *m, uint64_t tenant, uint64_t *seq, uint8_t hash[32])
{
	Sluice__AuditHead *h = NULL;
	uint8_t mac[SL_MAC_LEN];
	struct sl_key k;
	int rc;

	head_key(&k, tenant);
	rc = sl_catalog_get(m->cat, SL_CF_DEFAULT, k.b, k.len, &sluice__audit_head__descriptor,
			    (ProtobufCMessage **)&h);
	if (rc)
		return rc == -EIO ? -EBADMSG : rc;
	rc = -EBADMSG;
	if (h->tenant_id == tenant && h->hash.len == 32 && h->mac.len == SL_MAC_LEN &&
	    head_mac(m, tenant, h->seq, h->hash.data, mac) == 0 &&
	    sl_mac_equal(mac, h->mac.data, SL_MAC_LEN)) {
		*seq = h->seq;
		memcpy(hash, h->hash.data, 32);
		rc = 0;
	}
	sluice__audit_head__free_unpacked(h, NULL);
	return rc;
}

void sl_audit_record_key(struct sl_key *k, uint64_t tenant, uint64_t seq)
{
	sl_key_u64(sl_key_reset(k), tenant);
	if (seq)
		sl_key_u64(k, seq);
}

uint64_t sl_audit_key_seq(const uint8_t *key)
{
	uint64_t seq;

	memcpy(&seq, key + 8, 8);
	return be64toh(seq);
}

/* The last record of chain tenant: its seq and hash; -ENOENT when none. */
static int chain_last(struct sl_meta *m, uint64_t tenant, uint64_t *seq, uint8_t hash[32])
{
	uint8_t *key = NULL, *val = NULL;
	size_t klen, vlen;
	struct sl_key k;
	int rc;

	sl_audit_record_key(&k, tenant, 0);
	rc = sl_catalog_last_prefix(m->cat, SL_CF_AUDIT, k.b, k.len, &key, &klen, &val, &vlen);
	if (rc)
		return rc;
	if (klen == SL_AUDIT_KEY_LEN) {
		*seq = sl_audit_key_seq(key);
		sl_audit_hash(val, vlen, hash);
	} else {
		rc = -ENOENT; /* a key of another layout, not a record of this chain */
	}
	free(key);
	free(val);
	return rc;
}

/*
 * The in-memory end of tenant's chain, loaded from the catalog the first
 * time: from a valid head, not from the last record found, so records cut
 * from the tail stay a gap. *finding says what was wrong with the head
 * (NULL when nothing). Called with audit_lock held; NULL on failure.
 */
static struct sl_audit_chain *chain_get(struct sl_meta *m, uint64_t tenant, const char **finding)
{
	struct sl_audit_chain *c;
	uint64_t last_seq = 0, head_seq = 0;
	uint8_t last_hash[32] = { 0 }, head_hash[32] = { 0 };
	size_t i;
	int rc, hrc;

	*finding = NULL;
	for (i = tenant; m->audit_chains_cap; i++) {
		c = &m->audit_chains[i & (m->audit_chains_cap - 1)];
		if (c->used && c->tenant == tenant)
			return c;
		if (!c->used)
			break;
	}
	if (2 * (m->audit_chains_n + 1) > m->audit_chains_cap) {
		size_t cap = m->audit_chains_cap ? 2 * m->audit_chains_cap : 64;
		struct sl_audit_chain *t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t j = 0; j < m->audit_chains_cap; j++) {
			struct sl_audit_chain *o = &m->audit_chains[j];

			for (i = o->tenant; o->used && t[i & (cap - 1)].used; i++)
				;
			if (o->used)
				t[i & (cap - 1)] = *o;
		}
		free(m->audit_chains);
		m->audit_chains = t;
		m->audit_chains_cap = cap;
	}
	rc = chain_last(m, tenant, &last_seq, last_hash);
	if (rc && rc != -ENOENT)
		return NULL;
	hrc = head_get(m, tenant, &head_seq, head_hash);
	if (hrc && hrc != -ENOENT && hrc != -EBADMSG)
		return NULL;
	for (i = tenant; m->audit_chains[i & (m->audit_chains_cap - 1)].used; i++)
		;
	c = &m->audit_chains[i & (m->audit_chains_cap - 1)];
	c->used = 1;
	c->tenant = tenant;
	m->audit_chains_n++;
	if (hrc == 0 && head_seq >= last_seq) {
		c->seq = head_seq;
		memcpy(c->hash, head_hash, 32);
		if (head_seq != last_seq || memcmp(head_hash, last_hash, 32))
			SL_ERR("audit: tenant %llx's log ends at record %llu but its signed head "
			       "names %llu: records were removed or edited",
			       (unsigned long long)tenant, (unsigned long long)last_seq,
			       (unsigned long long)head_seq);
		return c;
	}
	c->seq = last_seq;
	memcpy(c->hash, last_hash, 32);
	if (rc == -ENOENT && hrc == -ENOENT)
		return c; /* a new log */
	*finding = hrc == -ENOENT    ? "the signed chain head is missing"
		   : hrc == -EBADMSG ? "the signed chain head is forged"
				     : "the signed chain head is behind the records";
	SL_ERR("audit: tenant %llx: %s", (unsigned long long)tenant, *finding);
	return c;
}

/* Loads one tenant's chain; a bad head is recorded in that tenant's log. */
static int audit_open_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
			  size_t vlen)
{
	struct sl_meta *m = arg;
	Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT;
	struct sl_audit_chain *c;
	const char *finding;
	uint64_t tenant;
	char why[160];

	(void)val;
	(void)vlen;
	if (klen != 9)
		return 0;
	memcpy(&tenant, key + 1, 8);
	tenant = be64toh(tenant);
	pthread_mutex_lock(&m->audit_lock);
	c = chain_get(m, tenant, &finding);
	pthread_mutex_unlock(&m->audit_lock);
	if (!c)
		return -EIO;
	if (!finding)
		return 0;
	snprintf(why, sizeof(why), "%s; chain anchored again at record %llu", finding,
		 (unsigned long long)c->seq);
	/* Leave the finding in the log itself, under the new head. */
	a.event = (char *)"audit.head";
	a.tenant_id = tenant;
	a.decision = (char *)"deny";
	a.reason = why;
	return sl_audit_commit(m, &a, NULL);
}

int sl_audit_open(struct sl_meta *m)
{
	free(m->audit_chains);
	m->audit_chains = NULL;
	m->audit_chains_cap = m->audit_chains_n = 0;
	/* Every tenant's chain is checked now, not when it is next written. */
	return sl_catalog_scan(m->cat, SL_CF_TENANTS, "i", 1, NULL, 0, audit_open_one, m);
}

void sl_audit_close(struct sl_meta *m)
{
	free(m->audit_chains);
	m->audit_chains = NULL;
	m->audit_chains_cap = m->audit_chains_n = 0;
}

/*
 * Whether chain tenant's last record is the one its signed head names; the
 * head's seq in *head_seq (0 when it has none). Called with audit_lock held,
 * so that no commit lands between the two reads.
 */
static int head_check(struct sl_meta *m, uint64_t tenant, uint64_t *head_seq)
{
	uint64_t last_seq = 0;
	uint8_t last_hash[32] = { 0 }, head_hash[32] = { 0 };
	int rc = chain_last(m, tenant, &last_seq, last_hash);
	int hrc = head_get(m, tenant, head_seq, head_hash);

	if (hrc)
		*head_seq = 0;
	if (rc == -ENOENT && hrc == -ENOENT)
		return 1;
	return rc == 0 && hrc == 0 && *head_seq == last_seq && memcmp(head_hash, last_hash, 32) == 0;
}

void sl_audit_set_decider(Sluice__AuditRecord *rec, const char *enforcer,
			  const Sluice__Principal *p, const char *action)
{
	rec->enforcer = (char *)enforcer;
	rec->action = (char *)action;
	if (p) {
		rec->roles = p->roles;
		rec->n_roles = p->n_roles;
	}
}

void sl_audit_set_object(Sluice__AuditRecord *rec, const Sluice__Object *o)
{
	rec->object_id = o->id;
	/* An object is never changed in place: a new put of its name is a new
	 * object, so its commit time names the version decided on. */
	rec->object_version = o->created_ms;
	rec->tag_epoch = o->tag_epoch;
	rec->tags = o->tags;
	rec->n_tags = o->n_tags;
}

void sl_audit_set_range(Sluice__AuditRecord *rec, uint64_t offset, uint64_t length)
{
	rec->offset = offset;
	rec->length = length;
}

void sl_audit_set_summary(Sluice__AuditRecord *rec, uint64_t count, uint64_t bytes)
{
	rec->count = count;
	rec->bytes = bytes;
}

void sl_audit_set_policy(Sluice__AuditRecord *rec, const char *policy, uint64_t version,
			 uint64_t policy_epoch)
{
	rec->policy = (char *)policy;
	rec->policy_version = version;
	rec->policy_epoch = policy_epoch;
}

/*
 * A record's size is bounded when it is written (and again when it is read,
 * for records older than the bound): every string field is cut to
 * SL_AUDIT_FIELD_MAX bytes at a character boundary with a marker, and at most
 * SL_AUDIT_TAGS_MAX tags are kept, so one record always fits a reply.
 */
#define SL_AUDIT_FIELD_MAX 512
#define SL_AUDIT_TAGS_MAX 64
#define SL_AUDIT_ROLES_MAX 16
#define SL_AUDIT_CUT_MARK "...[cut]"
#define SL_AUDIT_N_FIELDS 9

/* Copies of the cut strings of one record, freed once it is packed. */
struct audit_cuts {
	char *s[SL_AUDIT_N_FIELDS + 2 * SL_AUDIT_TAGS_MAX + SL_AUDIT_ROLES_MAX];
	size_t n;
	char **fields[SL_AUDIT_N_FIELDS];   /* the record's fields, restored afterwards */
	char *orig[SL_AUDIT_N_FIELDS];
	size_t n_tags_orig;
	Sluice__Tag **tags_orig;
	Sluice__Tag tags[SL_AUDIT_TAGS_MAX];
	Sluice__Tag *tag_ptrs[SL_AUDIT_TAGS_MAX];
	size_t n_roles_orig;
	char **roles_orig;
	char *roles[SL_AUDIT_ROLES_MAX];
};

/* s, or a copy cut at a UTF-8 boundary below max bytes with the marker. */
static char *cut(struct audit_cuts *c, char *s, size_t max)
{
	size_t n, keep;
	char *out;

	if (!s || (n = strlen(s)) <= max)
		return s;
	keep = max - sizeof(SL_AUDIT_CUT_MARK) + 1;
	while (keep && ((unsigned char)s[keep] & 0xc0) == 0x80)
		keep--;
	out = malloc(keep + sizeof(SL_AUDIT_CUT_MARK));
	if (!out)
		return (char *)"";
	memcpy(out, s, keep);
	memcpy(out + keep, SL_AUDIT_CUT_MARK, sizeof(SL_AUDIT_CUT_MARK));
	c->s[c->n++] = out;
	return out;
}

static void audit_bound(Sluice__AuditRecord *rec, struct audit_cuts *c)
{
	char **f[SL_AUDIT_N_FIELDS] = { &rec->event,  &rec->purpose,  &rec->object,
					&rec->decision, &rec->reason, &rec->node,
					&rec->enforcer, &rec->action, &rec->policy };

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < SL_AUDIT_N_FIELDS; i++) {
		c->fields[i] = f[i];
		c->orig[i] = *f[i];
		*f[i] = cut(c, *f[i], SL_AUDIT_FIELD_MAX);
	}
	c->n_tags_orig = rec->n_tags;
	c->tags_orig = rec->tags;
	if (rec->n_tags > SL_AUDIT_TAGS_MAX)
		rec->n_tags = SL_AUDIT_TAGS_MAX;
	for (size_t i = 0; i < rec->n_tags; i++) {
		c->tags[i] = (Sluice__Tag)SLUICE__TAG__INIT;
		c->tags[i].key = cut(c, c->tags_orig[i]->key, SL_AUDIT_FIELD_MAX / 4);
		c->tags[i].value = cut(c, c->tags_orig[i]->value, SL_AUDIT_FIELD_MAX / 4);
		c->tag_ptrs[i] = &c->tags[i];
	}
	rec->tags = rec->n_tags ? c->tag_ptrs : rec->tags;
	c->n_roles_orig = rec->n_roles;
	c->roles_orig = rec->roles;
	if (rec->n_roles > SL_AUDIT_ROLES_MAX)
		rec->n_roles = SL_AUDIT_ROLES_MAX;
	for (size_t i = 0; i < rec->n_roles; i++)
		c->roles[i] = cut(c, c->roles_orig[i], SL_AUDIT_FIELD_MAX / 8);
	rec->roles = rec->n_roles ? c->roles : rec->roles;
}

static void audit_unbound(Sluice__AuditRecord *rec, struct audit_cuts *c)
{
	for (int i = 0; i < SL_AUDIT_N_FIELDS; i++)
		*c->fields[i] = c->orig[i];
	rec->n_tags = c->n_tags_orig;
	rec->tags = c->tags_orig;
	rec->n_roles = c->n_roles_orig;
	rec->roles = c->roles_orig;
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i]);
}

/*
 * Group commit. A record's place in its chain (seq, prev_hash) is assigned
 * under audit_lock, but the synced write is not made under it: callers queue
 * their record and batch, and one of them at a time, the leader, takes
 * everything queued, assigns the places in queue order, joins the batches
 * into one and commits it with one sync while the others wait and new
 * callers queue for the next group. A group lands whole or not at all, so
 * the chain and every head stay consistent; on failure the chain ends are
 * put back as they were and every caller of the group gets the error.
 */
struct sl_audit_pending {
	Sluice__AuditRecord *rec;
	struct sl_batch *b;
	struct sl_audit_pending *next;
	struct sl_audit_chain *chain;
	uint64_t old_seq;          /* the chain's end before this record */
	uint8_t old_hash[32];
	uint8_t prev[32];
	uint8_t *buf;              /* the packed record */
	int done, rc;
};

/* Assigns p's place in its chain and adds it and the new head to p->b.
 * Called by the leader with audit_lock held. */
static int audit_place(struct sl_meta *m, struct sl_audit_pending *p)
{
	Sluice__AuditRecord *rec = p->rec;
	const char *finding;
	struct sl_key k;
	uint8_t hash[32];
	size_t len;

	p->chain = chain_get(m, rec->tenant_id, &finding);
	if (!p->chain)
		return -EIO;
	p->old_seq = p->chain->seq;
	memcpy(p->old_hash, p->chain->hash, 32);
	memcpy(p->prev, p->chain->hash, 32);
	rec->seq = p->chain->seq + 1;
	rec->time_ms = sl_now_ms();
	rec->prev_hash = (ProtobufCBinaryData){ 32, p->prev };
	len = sluice__audit_record__get_packed_size(rec);
	p->buf = malloc(len);
	if (!p->buf)
		return -ENOMEM;
	sluice__audit_record__pack(rec, p->buf);
	sl_audit_record_key(&k, rec->tenant_id, rec->seq);
	sl_batch_put(p->b, m->cat, SL_CF_AUDIT, k.b, k.len, p->buf, len);
	sl_audit_hash(p->buf, len, hash);
	/* The next record of this chain, in this group or later, links to this one. */
	p->chain->seq = rec->seq;
	memcpy(p->chain->hash, hash, 32);
	return head_put(m, p->b, rec->tenant_id, rec->seq, hash);
}

/* Leads one group: everything queued now. Entered and left with audit_lock held. */
static void audit_lead(struct sl_meta *m)
{
	struct sl_audit_pending *group = m->audit_queue, *p;
	struct sl_batch *all = NULL;
	int rc = 0;

	m->audit_queue = NULL;
	m->audit_queue_tail = NULL;
	m->audit_leading = 1;
	for (p = group; p && !rc; p = p->next)
		rc = audit_place(m, p);
	pthread_mutex_unlock(&m->audit_lock);
	if (!rc && group->next) {
		all = sl_batch_new();
		rc = all ? 0 : -ENOMEM;
		for (p = group; p && !rc; p = p->next)
			rc = sl_batch_append(all, p->b);
	}
	/* The changes, their records and the new heads land together, or none does. */
	rc = rc ? rc : sl_catalog_commit(m->cat, all ? all : group->b);
	sl_batch_free(all);
	pthread_mutex_lock(&m->audit_lock);
	m->audit_groups++;
	if (rc) {
		/* Put every chain end back, the latest record first. */
		struct sl_audit_pending *rev = NULL, *n;

		for (p = group; p; p = n) {
			n = p->next;
			p->next = rev;
			rev = p;
		}
		for (p = rev; p; p = p->next)
			if (p->chain && p->buf) {
				p->chain->seq = p->old_seq;
				memcpy(p->chain->hash, p->old_hash, 32);
			}
		group = NULL;
		for (p = rev; p; p = n) {
			n = p->next;
			p->next = group;
			group = p;
		}
		SL_ERR_RC(rc, "audit: a group of records not written");
	}
	for (p = group; p; p = p->next) {
		p->rc = rc;
		p->done = 1;
	}
	m->audit_leading = 0;
	pthread_cond_broadcast(&m->audit_cond);
}

int sl_audit_commit(struct sl_meta *m, Sluice__AuditRecord *rec, struct sl_batch *with)
{
	struct sl_audit_pending p = { .rec = rec, .b = with ? with : sl_batch_new() };
	struct audit_cuts *cuts = malloc(sizeof(*cuts));

	if (!p.b || !cuts) {
		if (!with)
			sl_batch_free(p.b);
		free(cuts);
		return -ENOMEM;
	}
	/* Nothing is written outside a tenant's log. */
	if (!rec->tenant_id)
		rec->tenant_id = m->system_tenant;
	if (!rec->node || !rec->node[0])
		rec->node = (char *)"meta";
	audit_bound(rec, cuts);
	pthread_mutex_lock(&m->audit_lock);
	if (m->audit_queue_tail)
		m->audit_queue_tail->next = &p;
	else
		m->audit_queue = &p;
	m->audit_queue_tail = &p;
	while (!p.done) {
		if (!m->audit_leading && m->audit_queue)
			audit_lead(m);
		else
			pthread_cond_wait(&m->audit_cond, &m->audit_lock);
	}
	pthread_mutex_unlock(&m->audit_lock);
	if (p.rc)
		SL_ERR("audit: record of tenant %llx not written", (unsigned long long)rec->tenant_id);
	rec->prev_hash = (ProtobufCBinaryData){ 0, NULL };
	audit_unbound(rec, cuts);
	free(cuts);
	free(p.buf);
	if (!with)
		sl_batch_free(p.b);
	return p.rc;
}

int sl_audit_ends(struct sl_meta *m, uint64_t tenant, int *head_rc, uint64_t *head_seq,
		  uint8_t head_hash[32], uint64_t *last_seq)
{
	uint8_t last_hash[32];
	int rc;

	pthread_mutex_lock(&m->audit_lock);
	/* Between groups, so that no commit lands between the two reads. */
	while (m->audit_leading)
		pthread_cond_wait(&m->audit_cond, &m->audit_lock);
	rc = chain_last(m, tenant, last_seq, last_hash);
	*head_rc = head_get(m, tenant, head_seq, head_hash);
	pthread_mutex_unlock(&m->audit_lock);
	if (rc == -ENOENT) {
		*last_seq = 0;
		rc = 0;
	}
	if (*head_rc && *head_rc != -ENOENT && *head_rc != -EBADMSG)
		rc = -EIO;
	return rc;
}

/*
 * A reply stops adding records before its packed size would pass this, well
 * below SL_FRAME_MAX; the client continues after the last one it got.
 */
#define SL_AUDIT_REPLY_BUDGET (1u << 20)
/*
 * One request walks at most this many records, or this many bytes of them,
 * whatever its filters match: a filter that matches nothing in a huge log
 * costs a bounded step, and the client continues after last_seq.
 */
#define SL_AUDIT_SCAN_RECORDS 10000u
#define SL_AUDIT_SCAN_BYTES (16u << 20)

/* What a listed record must match; empty strings and zeros match anything. */
struct audit_filter {
	int by_principal;
	uint64_t principal_id;
	const char *object;
	const char *decision;
	uint64_t since_ms, until_ms;
};

struct audit_scan {
	const struct sl_meta *m;
	struct audit_filter f;
	size_t limit;
	size_t bytes;         /* packed size of the records collected */
	size_t scanned, scanned_bytes;
	struct sl_collect out;
	uint8_t prev[32];
	int have_prev;
	int chain_ok;
	uint64_t next_seq;
	uint64_t last_seq;    /* position of the last record walked */
};

static int audit_match(const struct audit_filter *f, const Sluice__AuditRecord *rec)
{
	return (!f->by_principal || rec->principal_id == f->principal_id) &&
	       (!f->object[0] || strcmp(rec->object, f->object) == 0) &&
	       (!f->decision[0] || strcmp(rec->decision, f->decision) == 0) &&
	       (!f->since_ms || rec->time_ms >= f->since_ms) &&
	       (!f->until_ms || rec->time_ms < f->until_ms);
}

/* Adds rec, bounded like a record being written, to the reply's records. */
static int audit_keep(struct audit_scan *a, Sluice__AuditRecord *rec, size_t *size)
{
	struct audit_cuts *cuts = malloc(sizeof(*cuts));
	uint8_t *buf = NULL;
	size_t len;
	int rc = -ENOMEM;

	if (!cuts)
		return -ENOMEM;
	audit_bound(rec, cuts);
	len = sluice__audit_record__get_packed_size(rec);
	*size = len + 8; /* the field tag and length in the reply */
	if (a->out.n && a->bytes + *size > SL_AUDIT_REPLY_BUDGET) {
		rc = 1;
		goto out;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	sluice__audit_record__pack(rec, buf);
	rc = sl_collect_one(&a->out, NULL, 0, buf, len);
out:
	audit_unbound(rec, cuts);
	free(cuts);
	free(buf);
	return rc;
}

static int audit_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct audit_scan *a = arg;
	Sluice__AuditRecord *rec;
	size_t size = 0;
	int rc = 0;

	if (klen != SL_AUDIT_KEY_LEN)
		return 0; /* not a record of this chain's layout */
	if (a->out.n == a->limit || a->scanned == SL_AUDIT_SCAN_RECORDS ||
	    a->scanned_bytes >= SL_AUDIT_SCAN_BYTES) {
		a->out.truncated = 1;
		return 1;
	}
	rec = sluice__audit_record__unpack(NULL, vlen, val);
	if (rec && audit_match(&a->f, rec)) {
		rc = audit_keep(a, rec, &size);
		if (rc == 1) {
			/* Full by size: this record opens the next page. */
			a->out.truncated = 1;
			goto out;
		}
		if (rc)
			goto out;
		a->bytes += size;
	}
	/* Every record walked, shown or not, names the hash of the one before
	 * it (the first, zeros), and sequence numbers have no gaps; one that
	 * no longer decodes was edited. */
	if (!rec || (a->have_prev && (rec->prev_hash.len != 32 ||
				      memcmp(rec->prev_hash.data, a->prev, 32))))
		a->chain_ok = 0;
	if (!rec || rec->seq != a->next_seq)
		a->chain_ok = 0;
	a->last_seq = sl_audit_key_seq(key);
	a->next_seq = a->last_seq + 1;
	sl_audit_hash(val, vlen, a->prev);
	a->have_prev = 1;
	a->scanned++;
	a->scanned_bytes += vlen;
out:
	if (rec)
		sluice__audit_record__free_unpacked(rec, NULL);
	return rc;
}

/* The id of principal `name` of tenant, for a filter; the error is set in r. */
static int filter_principal(struct sl_meta *m, uint64_t tenant, const char *name, uint64_t *id,
			    struct sl_reply *r)
{
	Sluice__Principal *p = NULL;
	uint8_t *key_id = NULL;
	size_t len;
	struct sl_key k;
	int rc;

	if (!sl_name_valid(name))
		return sl_fail(r, -EINVAL, "bad principal name: use 1-63 of a-z, 0-9, '.', '_', '-'");
	sl_key_str(sl_key_u64(sl_key_tag(sl_key_reset(&k), 'n'), tenant), name);
	rc = sl_catalog_get_raw(m->cat, SL_CF_PRINCIPALS, k.b, k.len, &key_id, &len);
	if (rc == 0 && len < SL_KEY_MAX - 1) {
		sl_key_reset(&k);
		k.b[k.len++] = 'k';
		memcpy(k.b + k.len, key_id, len);
		k.len += len;
		rc = sl_catalog_get(m->cat, SL_CF_PRINCIPALS, k.b, k.len,
				    &sluice__principal__descriptor, (ProtobufCMessage **)&p);
	} else if (rc == 0) {
		rc = -EIO;
	}
	free(key_id);
	if (rc == -ENOENT)
		return sl_fail(r, rc, "no such principal: %s", name);
	if (rc)
		return sl_fail(r, rc, "catalog read failed");
	*id = p->id;
	sluice__principal__free_unpacked(p, NULL);
	return 0;
}

/* Checks req's filters into f; the error is set in r. */
static int filter_make(struct sl_meta *m, uint64_t tenant, const Sluice__AuditListReq *req,
		       struct audit_filter *f, struct sl_reply *r)
{
	static const char *const decisions[] = { "allow", "deny", "done", "partial" };
	int rc, known = 0;

	f->object = req->object;
	f->decision = req->decision;
	f->since_ms = req->since_ms;
	f->until_ms = req->until_ms;
	if (req->principal[0]) {
		rc = filter_principal(m, tenant, req->principal, &f->principal_id, r);
		if (rc)
			return rc;
		f->by_principal = 1;
	}
	if (req->object[0] && !sl_text_valid(req->object, 1, SL_NAME_MAX + 1 + SL_OBJECT_NAME_MAX))
		return sl_fail(r, -EINVAL, "bad object filter: ns/name, at most %d bytes of UTF-8",
			       SL_NAME_MAX + 1 + SL_OBJECT_NAME_MAX);
	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
		known |= strcmp(req->decision, decisions[i]) == 0;
	if (req->decision[0] && !known)
		return sl_fail(r, -EINVAL, "bad decision filter: allow, deny, done or partial");
	if (f->since_ms && f->until_ms && f->until_ms <= f->since_ms)
		return sl_fail(r, -EINVAL, "the time filter ends before it begins");
	return 0;
}

int sl_h_audit_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__AuditListReq *req,
		    struct sl_reply *r)
{
	Sluice__AuditListResp resp = SLUICE__AUDIT_LIST_RESP__INIT;
	struct audit_scan a = { .m = m, .chain_ok = 1 };
	struct sl_key from, prefix;
	uint64_t tenant;
	uint8_t *val = NULL;
	size_t vlen;
	int rc;

	if (!c->p || !sl_has_role(c->p, "admin"))
		return sl_fail(r, -EPERM, "reading the audit log needs the admin role");
	/* A tenant's admins read their tenant's log; cluster admins any one. */
	rc = sl_target_tenant(m, c, req->tenant, &tenant, r);
	rc = rc ? rc : filter_make(m, tenant, req, &a.f, r);
	if (rc)
		return rc;
	/* A reader sees every refusal counted so far. */
	sl_authlog_flush(m);
	a.limit = req->limit && req->limit <= 1000 ? req->limit : (req->limit ? 1000 : 100);
	a.out.desc = &sluice__audit_record__descriptor;
	/* Start from the record before the window, to check the first link too;
	 * the first record of all links to zeros. */
	a.next_seq = req->after_seq + 1;
	a.have_prev = req->after_seq == 0;
	a.last_seq = req->after_seq;
	if (req->after_seq) {
		sl_audit_record_key(&from, tenant, req->after_seq);
		rc = sl_catalog_get_raw(m->cat, SL_CF_AUDIT, from.b, from.len, &val, &vlen);
		if (rc == 0) {
			sl_audit_hash(val, vlen, a.prev);
			a.have_prev = 1;
		}
		free(val);
	}
	sl_audit_record_key(&prefix, tenant, 0);
	sl_audit_record_key(&from, tenant, req->after_seq);
	rc = sl_catalog_scan(m->cat, SL_CF_AUDIT, prefix.b, prefix.len,
			     req->after_seq ? from.b : NULL, req->after_seq ? from.len : 0, audit_one,
			     &a);
	if (!rc) {
		resp.records = (Sluice__AuditRecord **)a.out.items;
		resp.n_records = a.out.n;
		resp.truncated = a.out.truncated;
		resp.chain_ok = a.chain_ok;
		resp.last_seq = a.last_seq;
		pthread_mutex_lock(&m->audit_lock);
		/* Between groups, so that no commit lands between the two reads. */
		while (m->audit_leading)
			pthread_cond_wait(&m->audit_cond, &m->audit_lock);
		resp.head_ok = head_check(m, tenant, &resp.head_seq);
		pthread_mutex_unlock(&m->audit_lock);
		rc = sl_reply_pack(r, &resp.base);
	} else {
		sl_fail(r, rc, "catalog read failed");
	}
	sl_collect_free(&a.out);
	return rc;
}
