/*
 * The catalog: sluice-meta's RocksDB database, one column family per kind of
 * record. Every mutation is one WriteBatch, written with sync=1, so a crash
 * leaves either all of it or none of it. Records are packed protobuf
 * (proto/sluice.proto); keys are built in catalog_keys.h.
 *
 * Thread-safety: reads may run from any thread. Mutations that read before
 * they write (create-if-absent, id allocation) hold the caller's lock; the
 * catalog itself only guards its id counter.
 */
#ifndef SL_CATALOG_H
#define SL_CATALOG_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

enum sl_cf {
	SL_CF_DEFAULT,
	SL_CF_TENANTS,
	SL_CF_PRINCIPALS,
	SL_CF_NAMESPACES,
	SL_CF_OBJECTS,
	SL_CF_SHARDS,
	SL_CF_SERVERS,
	SL_CF_AUDIT,
	SL_CF_DROPS,
	SL_CF_POLICIES,
	SL_CF_COUNT
};

struct sl_catalog;
struct sl_batch;

/* Opens (creating if needed) the catalog in dir. */
int sl_catalog_open(const char *dir, struct sl_catalog **out);
void sl_catalog_close(struct sl_catalog *cat);

/* Copies a value: *val is malloc'd. -ENOENT when absent, -EIO on failure. */
int sl_catalog_get_raw(struct sl_catalog *cat, enum sl_cf cf, const void *key, size_t klen,
		       uint8_t **val, size_t *vlen);
/* Reads and unpacks a record; free it with protobuf_c_message_free_unpacked. */
int sl_catalog_get(struct sl_catalog *cat, enum sl_cf cf, const void *key, size_t klen,
		   const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);

/*
 * Calls fn for each key starting with prefix, in key order, starting after
 * `after` when given (a full key). fn returns 0 to go on, 1 to stop, or a
 * negative errno to abort with it.
 */
typedef int (*sl_catalog_scan_fn)(void *arg, const uint8_t *key, size_t klen, const uint8_t *val,
				  size_t vlen);
int sl_catalog_scan(struct sl_catalog *cat, enum sl_cf cf, const void *prefix, size_t plen,
		    const void *after, size_t alen, sl_catalog_scan_fn fn, void *arg);
/* Finds the last key of a column family; -ENOENT when it is empty. */
int sl_catalog_last(struct sl_catalog *cat, enum sl_cf cf, uint8_t **key, size_t *klen,
		    uint8_t **val, size_t *vlen);
/* The last key starting with prefix (at most 48 bytes; keys under it at most
 * 16 bytes longer); -ENOENT when there is none. */
int sl_catalog_last_prefix(struct sl_catalog *cat, enum sl_cf cf, const void *prefix, size_t plen,
			   uint8_t **key, size_t *klen, uint8_t **val, size_t *vlen);

struct sl_batch *sl_batch_new(void);
void sl_batch_free(struct sl_batch *b);
void sl_batch_put(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		  size_t klen, const void *val, size_t vlen);
/* Packs msg and adds it to the batch. */
int sl_batch_put_msg(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		     size_t klen, const ProtobufCMessage *msg);
void sl_batch_delete(struct sl_batch *b, struct sl_catalog *cat, enum sl_cf cf, const void *key,
		     size_t klen);
/*
 * Reserves the next id (tenants, principals, namespaces, objects share one
 * sequence) and records the next id to hand out in b, so the id is durable
 * exactly when the records that use it are. Ids are opaque: a keyed
 * permutation of the sequence (the key is drawn when the catalog is made),
 * never 0, never repeated, in no order, so an id tells nothing of how many
 * others were made.
 */
uint64_t sl_batch_alloc_id(struct sl_batch *b, struct sl_catalog *cat);
/* Adds src's operations after dst's (src is unchanged): one commit of dst then
 * applies both atomically. 0, -ENOMEM or -EINVAL. */
int sl_batch_append(struct sl_batch *dst, const struct sl_batch *src);
/* Applies the batch atomically and durably (sync=1). */
int sl_catalog_commit(struct sl_catalog *cat, struct sl_batch *b);

#endif
