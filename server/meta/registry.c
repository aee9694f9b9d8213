/*
 * The data-server registry: who is registered (persisted in the servers
 * column family, with its fabric address) and who is alive (in memory: a
 * server is up while its last heartbeat is younger than down_after_ms).
 * After a restart every server counts as down until it heartbeats again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_keys.h"
#include "meta.h"
#include "sl_log.h"
#include "sl_time.h"

static int load_one(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct sl_meta *m = arg;
	Sluice__DataServer *s = sluice__data_server__unpack(NULL, vlen, val);

	if (!s)
		return -EIO;
	if (m->n_servers == SL_META_MAX_SERVERS) {
		sluice__data_server__free_unpacked(s, NULL);
		return -ENOSPC;
	}
	m->servers[m->n_servers++] = (struct sl_server_entry){ s, 0 };
	return 0;
}

int sl_registry_load(struct sl_meta *m)
{
	return sl_catalog_scan(m->cat, SL_CF_SERVERS, "", 0, NULL, 0, load_one, m);
}

void sl_registry_free(struct sl_meta *m)
{
	for (int i = 0; i < m->n_servers; i++)
		sluice__data_server__free_unpacked(m->servers[i].rec, NULL);
	m->n_servers = 0;
}

static int is_up(const struct sl_meta *m, const struct sl_server_entry *e, uint64_t now)
{
	return e->last_heartbeat_ms && now - e->last_heartbeat_ms < m->cfg.down_after_ms;
}

size_t sl_registry_live(struct sl_meta *m, uint32_t *ids, size_t max)
{
	uint64_t now = sl_mono_ms();
	size_t n = 0;

	pthread_mutex_lock(&m->servers_lock);
	for (int i = 0; i < m->n_servers && n < max; i++)
		if (is_up(m, &m->servers[i], now))
			ids[n++] = m->servers[i].rec->id;
	pthread_mutex_unlock(&m->servers_lock);
	return n;
}

static Sluice__DataServer *copy_server(const struct sl_meta *m, const struct sl_server_entry *e,
				       uint64_t now)
{
	Sluice__DataServer *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	sluice__data_server__init(d);
	d->id = e->rec->id;
	d->provider = strdup(e->rec->provider);
	d->label = strdup(e->rec->label);
	d->fabric_addr.data = malloc(e->rec->fabric_addr.len + 1);
	if (!d->provider || !d->label || !d->fabric_addr.data) {
		free(d->provider);
		free(d->label);
		free(d->fabric_addr.data);
		free(d);
		return NULL;
	}
	memcpy(d->fabric_addr.data, e->rec->fabric_addr.data, e->rec->fabric_addr.len);
	d->fabric_addr.len = e->rec->fabric_addr.len;
	d->up = is_up(m, e, now);
	d->registered_ms = e->rec->registered_ms;
	/* Report the heartbeat as wall time for humans. */
	d->last_heartbeat_ms = e->last_heartbeat_ms ? sl_now_ms() - (now - e->last_heartbeat_ms) : 0;
	return d;
}

void sl_registry_free_list(Sluice__DataServer **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!list[i])
			continue;
		free(list[i]->provider);
		free(list[i]->label);
		free(list[i]->fabric_addr.data);
		free(list[i]);
	}
	free(list);
}

int sl_registry_describe(struct sl_meta *m, const uint32_t *ids, size_t n,
			 Sluice__DataServer ***out, size_t *n_out)
{
	uint64_t now = sl_mono_ms();
	/* Sized for every possible server: the count may grow before the lock. */
	Sluice__DataServer **list = calloc(SL_META_MAX_SERVERS + 1, sizeof(*list));
	size_t k = 0;
	int rc = 0;

	if (!list)
		return -ENOMEM;
	pthread_mutex_lock(&m->servers_lock);
	for (int i = 0; i < m->n_servers; i++) {
		int wanted = ids == NULL;

		for (size_t j = 0; ids && j < n && !wanted; j++)
			wanted = ids[j] == m->servers[i].rec->id;
		if (!wanted)
			continue;
		list[k] = copy_server(m, &m->servers[i], now);
		if (!list[k]) {
			rc = -ENOMEM;
			break;
		}
		k++;
	}
	pthread_mutex_unlock(&m->servers_lock);
	if (rc) {
		sl_registry_free_list(list, k);
		return rc;
	}
	*out = list;
	*n_out = k;
	return 0;
}

/*
 * Packs a reply to data server c, with its mac over the reply packed with
 * mac empty and the request's challenge, so the server can trust it before
 * acting on it (heartbeat replies order deletions).
 */
int sl_reply_signed(const struct sl_caller *c, const ProtobufCBinaryData *challenge,
		    ProtobufCMessage *resp, ProtobufCBinaryData *mac_field, struct sl_reply *r)
{
	uint8_t mac[SL_MAC_LEN], *buf;
	size_t len = protobuf_c_message_get_packed_size(resp);
	int rc;

	*mac_field = (ProtobufCBinaryData){ 0, NULL };
	buf = malloc(len ? len : 1);
	if (!buf)
		return sl_fail(r, -ENOMEM, "out of memory");
	protobuf_c_message_pack(resp, buf);
	rc = sl_server_reply_mac(&c->server_keys, challenge->data, buf, len, mac);
	free(buf);
	if (rc)
		return sl_fail(r, rc, "cannot sign the reply");
	*mac_field = (ProtobufCBinaryData){ sizeof(mac), mac };
	rc = sl_reply_pack(r, resp);
	*mac_field = (ProtobufCBinaryData){ 0, NULL };
	return rc;
}

int sl_h_register(struct sl_meta *m, const struct sl_caller *c, const Sluice__RegisterReq *req,
		  struct sl_reply *r)
{
	Sluice__RegisterResp resp = SLUICE__REGISTER_RESP__INIT;
	Sluice__DataServer *s = req->server, *copy;
	struct sl_batch *b;
	struct sl_key k;
	uint8_t *buf;
	size_t len;
	int rc, i;

	if (!c->is_server)
		return sl_fail(r, -EPERM, "only data servers register");
	if (!s || s->id == 0 || s->fabric_addr.len == 0 || s->fabric_addr.len > 64 ||
	    req->challenge.len != 16)
		return sl_fail(r, -EINVAL, "registration needs an id, a fabric address, a challenge");
	/* A server's key registers that server only. */
	if (s->id != c->server_id) {
		SL_WARN("refused: data server %u's key registering server %u", c->server_id, s->id);
		return sl_fail(r, -EPERM, "a data server registers only itself");
	}
	s->registered_ms = sl_now_ms();
	s->up = 0;
	s->last_heartbeat_ms = 0;
	b = sl_batch_new();
	if (!b)
		return sl_fail(r, -ENOMEM, "out of memory");
	sl_key_u32(sl_key_reset(&k), s->id);
	rc = sl_batch_put_msg(b, m->cat, SL_CF_SERVERS, k.b, k.len, &s->base);
	rc = rc ? rc : sl_catalog_commit(m->cat, b);
	sl_batch_free(b);
	if (rc)
		return sl_fail(r, rc, "catalog write failed");

	/* Keep our own copy: req belongs to the dispatcher. */
	len = sluice__data_server__get_packed_size(s);
	buf = malloc(len);
	if (!buf)
		return sl_fail(r, -ENOMEM, "out of memory");
	sluice__data_server__pack(s, buf);
	copy = sluice__data_server__unpack(NULL, len, buf);
	free(buf);
	if (!copy)
		return sl_fail(r, -ENOMEM, "out of memory");
	pthread_mutex_lock(&m->servers_lock);
	for (i = 0; i < m->n_servers; i++)
		if (m->servers[i].rec->id == s->id)
			break;
	if (i == SL_META_MAX_SERVERS) {
		pthread_mutex_unlock(&m->servers_lock);
		sluice__data_server__free_unpacked(copy, NULL);
		return sl_fail(r, -ENOSPC, "too many data servers");
	}
	if (i < m->n_servers)
		sluice__data_server__free_unpacked(m->servers[i].rec, NULL);
	else
		m->n_servers++;
	m->servers[i] = (struct sl_server_entry){ copy, sl_mono_ms() };
	pthread_mutex_unlock(&m->servers_lock);
	SL_INFO("data server %u registered (%s)", s->id, s->label);
	resp.heartbeat_ms = m->cfg.heartbeat_ms;
	return sl_reply_signed(c, &req->challenge, &resp.base, &resp.mac, r);
}

int sl_h_heartbeat(struct sl_meta *m, const struct sl_caller *c, const Sluice__HeartbeatReq *req,
		   struct sl_reply *r)
{
	Sluice__HeartbeatResp resp = SLUICE__HEARTBEAT_RESP__INIT;
	Sluice__ShardRef *store = NULL;
	int found = 0, rc;

	if (!c->is_server)
		return sl_fail(r, -EPERM, "only data servers heartbeat");
	if (req->id != c->server_id || req->challenge.len != 16)
		return sl_fail(r, -EPERM, "a data server heartbeats only for itself, with a challenge");
	pthread_mutex_lock(&m->servers_lock);
	for (int i = 0; i < m->n_servers; i++) {
		if (m->servers[i].rec->id != req->id)
			continue;
		if (!is_up(m, &m->servers[i], sl_mono_ms()))
			SL_INFO("data server %u is up", req->id);
		m->servers[i].last_heartbeat_ms = sl_mono_ms();
		found = 1;
	}
	pthread_mutex_unlock(&m->servers_lock);
	/* An unknown id makes the server register again (we restarted, say). */
	if (!found)
		return sl_fail(r, -ENOENT, "unknown data server: register first");
	rc = sl_drops_exchange(m, req->id, req->dropped, req->n_dropped, &resp, &store);
	rc = rc ? sl_fail(r, rc, "catalog failure")
		: sl_reply_signed(c, &req->challenge, &resp.base, &resp.mac, r);
	free(resp.drop);
	free(store);
	return rc;
}

int sl_h_server_list(struct sl_meta *m, const struct sl_caller *c, const Sluice__Empty *req,
		     struct sl_reply *r)
{
	Sluice__ServerListResp resp = SLUICE__SERVER_LIST_RESP__INIT;
	int rc = sl_registry_describe(m, NULL, 0, &resp.servers, &resp.n_servers);

	if (rc)
		return sl_fail(r, rc, "out of memory");
	rc = sl_reply_pack(r, &resp.base);
	sl_registry_free_list(resp.servers, resp.n_servers);
	return rc;
}
