/*
 * RocksDB-backed catalog; see catalog.h. RocksDB's char *err strings become
 * -EIO plus one log line here, at the boundary.
 */
#include "catalog.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sl_log.h"

static const char *const cf_names[SL_CF_COUNT] = {
	"default", "tenants", "principals", "namespaces", "objects", "shards", "servers", "audit",
	"drops", "policies",
};

static const char next_id_key[] = "next_id";
static const char id_key_key[] = "id_key";

struct sl_catalog {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_block_based_table_options_t *table;
	rocksdb_cache_t *cache;
	rocksdb_readoptions_t *ropts;
	rocksdb_writeoptions_t *wopts;
	rocksdb_column_family_handle_t *cf[SL_CF_COUNT];
	pthread_mutex_t id_lock;
	uint64_t next_id;
	uint8_t id_key[SL_KEY_LEN]; /* keys the permutation that makes ids opaque */
};

struct sl_batch {
	rocksdb_writebatch_t *wb;
};

static int rocks_err(char **err, const char *what)
{
	if (!*err)
		return 0;
	SL_ERR("catalog: %s: %s", what, *err);
	rocksdb_free(*err);
	*err = NULL;
	return -EIO;
}

/* Reads the id permutation's key, drawing and storing one in a new catalog. */
static int id_key_load(struct sl_catalog *cat)
{
	uint8_t *val = NULL;
	size_t vlen = 0;
	int rc = sl_catalog_get_raw(cat, SL_CF_DEFAULT, id_key_key, sizeof(id_key_key) - 1, &val,
				    &vlen);

	if (rc == 0 && vlen == SL_KEY_LEN)
		memcpy(cat->id_key, val, SL_KEY_LEN);
	else if (rc == 0)
		rc = -EIO;
	free(val);
	if (rc == -ENOENT) {
		struct sl_batch *b = sl_batch_new();

		rc = b ? sl_random_bytes(cat->id_key, SL_KEY_LEN) : -ENOMEM;
		if (!rc) {
			sl_batch_put(b, cat, SL_CF_DEFAULT, id_key_key, sizeof(id_key_key) - 1,
				     cat->id_key, SL_KEY_LEN);
			rc = sl_catalog_commit(cat, b);
		}
		sl_batch_free(b);
	}
	return rc;
}

int sl_catalog_open(const char *dir, struct sl_catalog **out)
{
	struct sl_catalog *cat = calloc(1, sizeof(*cat));
	const rocksdb_options_t *cf_opts[SL_CF_COUNT];
	char *err = NULL;
	uint8_t *val = NULL;
	size_t vlen = 0;
	int rc;

	if (!cat)
		return -ENOMEM;
	pthread_mutex_init(&cat->id_lock, NULL);
	cat->opts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(cat->opts, 1);
	rocksdb_options_set_create_missing_column_families(cat->opts, 1);
	rocksdb_options_set_compression(cat->opts, rocksdb_lz4_compression);
	rocksdb_options_set_bottommost_compression(cat->opts, rocksdb_zstd_compression);
	rocksdb_options_set_max_open_files(cat->opts, 512);
	cat->table = rocksdb_block_based_options_create();
	cat->cache = rocksdb_cache_create_lru(64u << 20);
	rocksdb_block_based_options_set_block_cache(cat->table, cat->cache);
	/* The filter policy is adopted by the table options: never freed here. */
	rocksdb_block_based_options_set_filter_policy(cat->table,
						       rocksdb_filterpolicy_create_bloom(10));
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(cat->table, 1);
	rocksdb_options_set_block_based_table_factory(cat->opts, cat->table);
	for (int i = 0; i < SL_CF_COUNT; i++)
		cf_opts[i] = cat->opts;

	cat->db = rocksdb_open_column_families(cat->opts, dir, SL_CF_COUNT, cf_names, cf_opts,
					       cat->cf, &err);
	if (err) {
		/* A catalog from a newer version may hold families we do not know. */
		rc = rocks_err(&err, "opening");
		cat->db = NULL;
		goto err;
	}
	cat->ropts = rocksdb_readoptions_create();
	cat->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(cat->wopts, 1);

	rc = sl_catalog_get_raw(cat, SL_CF_DEFAULT, next_id_key, sizeof(next_id_key) - 1, &val,
				&vlen);
	if (rc == 0 && vlen == 8) {
		memcpy(&cat->next_id, val, 8);
		cat->next_id = be64toh(cat->next_id);
	} else if (rc == -ENOENT) {
		cat->next_id = 1;
	} else {
		rc = rc ? rc : -EIO;
		free(val);
		goto err;
	}
	free(val);
	rc = id_key_load(cat);
	if (rc)
		goto err;
	*out = cat;
	return 0;
err:
	sl_catalog_close(cat);
	return rc;
}

void sl_catalog_close(struct sl_catalog *cat)
{
	if (!cat)
		return;
	if (cat->db) {
		for (int i = 0; i < SL_CF_COUNT; i++)
			if (cat->cf[i])
				rocksdb_column_family_handle_destroy(cat->cf[i]);
		rocksdb_close(cat->db);
	}
	if (cat->ropts)
		rocksdb_readoptions_destroy(cat->ropts);
	if (cat->wopts)
		rocksdb_writeoptions_destroy(cat->wopts);
	rocksdb_options_destroy(cat->opts);
	rocksdb_block_based_options_destroy(cat->table);
	rocksdb_cache_destroy(cat->cache);
	pthread_mutex_destroy(&cat->id_lock);
	free(cat);
}

int sl_catalog_get_raw(struct sl_catalog *cat, enum sl_cf cf, const void *key, size_t klen,
		       uint8_t **val, size_t *vlen)
{
	char *err = NULL;
	char *v = rocksdb_get_cf(cat->db, cat->ropts, cat->cf[cf], key, klen, vlen, &err);

	*val = NULL;
	if (err)
		return rocks_err(&err, "get");
	if (!v)
		return -ENOENT;
	*val = malloc(*vlen ? *vlen : 1);
	if (*val)
		memcpy(*val, v, *vlen);
	rocksdb_free(v);
	return *val ? 0 : -ENOMEM;
}

int sl_catalog_get(struct sl_catalog *cat, enum sl_cf cf, const void *key, size_t klen,
		   const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
	uint8_t *val;
	size_t vlen;
	int rc = sl_catalog_get_raw(cat, cf, key, klen, &val, &vlen);

	*out = NULL;
	if (rc)
		return rc;
	*out = protobuf_c_message_unpack(desc, NULL, vlen, val);
	free(val);
	if (!*out) {
		SL_ERR("catalog: corrupt %s record in %s", desc->short_name, cf_names[cf]);
		return -EIO;
	}
	return 0;
}

int sl_catalog_scan(struct sl_catalog *cat, enum sl_cf cf, const void *prefix, size_t plen,
		    const void *after, size_t alen, sl_catalog_scan_fn fn, void *arg)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(cat->db, cat->ropts, cat->cf[cf]);
	char *err = NULL;
	int rc = 0;

	/* Start after `after`, but never before the prefix: an `after` that sorts
	 * below the prefix would otherwise end the scan at once. */
	if (after && alen &&
	    (memcmp(after, prefix, alen < plen ? alen : plen) > 0 ||
	     (memcmp(after, prefix, alen < plen ? alen : plen) == 0 && alen >= plen))) {
		rocksdb_iter_seek(it, after, alen);
		if (rocksdb_iter_valid(it)) {
			size_t kl;
			const char *k = rocksdb_iter_key(it, &kl);

			if (kl == alen && memcmp(k, after, alen) == 0)
				rocksdb_iter_next(it);
		}
	} else {
		rocksdb_iter_seek(it, prefix, plen);
	}
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t kl, vl;
		const char *k = rocksdb_iter_key(it, &kl);
		const char *v = rocksdb_iter_value(it, &vl);

		if (kl < plen || memcmp(k, prefix, plen) != 0)
			break;
		rc = fn(arg, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
		if (rc)
			break;
	}
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	if (err)
		return rocks_err(&err, "scan");
	return rc < 0 ? rc : 0;
}

int sl_catalog_last(struct sl_catalog *cat, enum sl_cf cf, uint8_t **key, size_t *klen,
		    uint8_t **val, size_t *vlen)
{
	return sl_catalog_last_prefix(cat, cf, NULL, 0, key, klen, val, vlen);
}

int sl_catalog_last_prefix(struct sl_catalog *cat, enum sl_cf cf, const void *prefix, size_t plen,
			   uint8_t **key, size_t *klen, uint8_t **val, size_t *vlen)
{
	rocksdb_iterator_t *it = rocksdb_create_iterator_cf(cat->db, cat->ropts, cat->cf[cf]);
	char *err = NULL, bound[64];
	int rc = -ENOENT;

	if (plen > sizeof(bound) - 16) {
		rocksdb_iter_destroy(it);
		return -EINVAL;
	}
	if (plen) {
		/* The last key at or below prefix + 0xff...: the prefix's last key, if any. */
		memcpy(bound, prefix, plen);
		memset(bound + plen, 0xff, 16);
		rocksdb_iter_seek_for_prev(it, bound, plen + 16);
	} else {
		rocksdb_iter_seek_to_last(it);
	}
	if (rocksdb_iter_valid(it)) {
		size_t kl0;
		const char *k0 = rocksdb_iter_key(it, &kl0);

		if (plen && (kl0 < plen || memcmp(k0, prefix, plen) != 0))
			goto done;
		const char *k = rocksdb_iter_key(it, klen);
		const char *v = rocksdb_iter_value(it, vlen);

		*key = malloc(*klen + 1);
		*val = malloc(*vlen + 1);
		if (*key && *val) {
			memcpy(*key, k, *klen);
			memcpy(*val, v, *vlen);
			rc = 0;
		} else {
			free(*key);
			free(*val);
			rc = -ENOMEM;
		}
	}
done:
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	if (err) {
		if (rc == 0) {
			free(*key);
			free(*val);
		}
		return rocks_err(&err, "seek to last");
	}
	return rc;
}

struct sl_batch *sl_batch_new(void)
{
	struct sl_batch *b = malloc(sizeof(*b));

	if (b)
		b->wb = rocksdb_writebatch_create();
	return b;
}

void sl_batch_free(struct sl_batch *b)
{
	if (!b)
		return;
	rocksdb_writebatch_destroy(b->wb);
	free(b);
}

void sl_batch_put(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		  size_t klen, const void *val, size_t vlen)
{
	rocksdb_writebatch_put_cf(b->wb, cat->cf[cf], key, klen, val, vlen);
}

int sl_batch_put_msg(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		     size_t klen, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return -ENOMEM;
	protobuf_c_message_pack(msg, buf);
	sl_batch_put(b, cat, cf, key, klen, buf, len);
	free(buf);
	return 0;
}

void sl_batch_delete(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		     size_t klen)
{
	rocksdb_writebatch_delete_cf(b->wb, cat->cf[cf], key, klen);
}

/*
 * A keyed permutation of 64-bit numbers: a 4-round Feistel network over two
 * 32-bit halves with HMAC-SHA256 as its round function. Applied to the id
 * counter it gives ids that are unique (it is a bijection) but say nothing
 * about how many were handed out before or in between.
 */
static uint64_t id_permute(const struct sl_catalog *cat, uint64_t v)
{
	uint32_t l = (uint32_t)(v >> 32), r = (uint32_t)v;

	for (uint8_t round = 0; round < 4; round++) {
		uint8_t in[5], mac[SL_MAC_LEN];
		struct iovec iov = { in, sizeof(in) };
		uint32_t f, t;

		in[0] = round;
		memcpy(in + 1, &r, 4);
		sl_hmac_sha256(cat->id_key, SL_KEY_LEN, &iov, 1, mac);
		memcpy(&f, mac, 4);
		t = r;
		r = l ^ f;
		l = t;
	}
	return ((uint64_t)l << 32) | r;
}

uint64_t sl_batch_alloc_id(struct sl_batch *b, struct sl_catalog *cat)
{
	uint64_t n, id, be;

	/* 0 means "none" on the wire; the counter never comes back to it. */
	do {
		pthread_mutex_lock(&cat->id_lock);
		n = cat->next_id++;
		be = htobe64(cat->next_id);
		pthread_mutex_unlock(&cat->id_lock);
		id = id_permute(cat, n);
	} while (id == 0);
	sl_batch_put(b, cat, SL_CF_DEFAULT, next_id_key, sizeof(next_id_key) - 1, &be, 8);
	return id;
}

/*
 * A WriteBatch's representation is a 12-byte header (u64 sequence, u32 count,
 * little-endian) and its records; RocksDB's own WriteBatchInternal::Append
 * joins batches this way. The C API has no append, so it is done here, and
 * unit-catalog checks the result against RocksDB.
 */
int sl_batch_append(struct sl_batch *dst, const struct sl_batch *src)
{
	size_t dlen, slen;
	const char *d = rocksdb_writebatch_data(dst->wb, &dlen);
	const char *s = rocksdb_writebatch_data(src->wb, &slen);
	uint32_t dn, sn;
	char *rep;
	rocksdb_writebatch_t *wb;

	if (dlen < 12 || slen < 12)
		return -EINVAL;
	if (slen == 12)
		return 0;
	rep = malloc(dlen + slen - 12);
	if (!rep)
		return -ENOMEM;
	memcpy(rep, d, dlen);
	memcpy(rep + dlen, s + 12, slen - 12);
	memcpy(&dn, d + 8, 4);
	memcpy(&sn, s + 8, 4);
	dn = htole32(le32toh(dn) + le32toh(sn));
	memcpy(rep + 8, &dn, 4);
	wb = rocksdb_writebatch_create_from(rep, dlen + slen - 12);
	free(rep);
	if (!wb)
		return -ENOMEM;
	rocksdb_writebatch_destroy(dst->wb);
	dst->wb = wb;
	return 0;
}

int sl_catalog_commit(struct sl_catalog *cat, struct sl_batch *b)
{
	char *err = NULL;

	rocksdb_write(cat->db, cat->wopts, b->wb, &err);
	return rocks_err(&err, "commit");
}
