/*
 * The attribute cache: what listings and lookups said of each path, kept for
 * attr_timeout seconds. Objects are immutable, so a fresh entry is exact
 * until the object is deleted or replaced; the timeout bounds how long
 * another client's delete or put goes unseen. Listing pages fill it, so a
 * stat of every file of a directory costs a listing page per few hundred
 * files, not an RPC per file. Bounded in entries and in bytes: when full it
 * starts over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"
#include "sl_time.h"

#define SL_CACHE_BUCKETS (1u << 16)
#define SL_CACHE_MAX (1u << 18)
#define SL_CACHE_BYTES (64u << 20)

struct entry {
	struct entry *next;
	uint64_t expires_ms; /* monotonic */
	struct sl_node node;
	char path[];
};

struct sl_attr_cache {
	pthread_mutex_t lock;
	size_t n;
	size_t bytes; /* of the entries */
	struct entry *buckets[SL_CACHE_BUCKETS];
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h & (SL_CACHE_BUCKETS - 1);
}

int sl_cache_new(struct sl_mnt *m)
{
	m->cache = calloc(1, sizeof(*m->cache));
	if (!m->cache)
		return -ENOMEM;
	pthread_mutex_init(&m->cache->lock, NULL);
	return 0;
}

static void clear(struct sl_attr_cache *c)
{
	for (size_t i = 0; i < SL_CACHE_BUCKETS; i++) {
		while (c->buckets[i]) {
			struct entry *e = c->buckets[i];

			c->buckets[i] = e->next;
			free(e);
		}
	}
	c->n = 0;
	c->bytes = 0;
}

void sl_cache_free(struct sl_mnt *m)
{
	if (!m->cache)
		return;
	clear(m->cache);
	pthread_mutex_destroy(&m->cache->lock);
	free(m->cache);
	m->cache = NULL;
}

/* The entry for path and the link pointing at it; under the lock. */
static struct entry **find(struct sl_attr_cache *c, const char *path)
{
	struct entry **at = &c->buckets[hash(path)];

	while (*at && strcmp((*at)->path, path) != 0)
		at = &(*at)->next;
	return at;
}

int sl_cache_get(struct sl_mnt *m, const char *path, struct sl_node *n)
{
	struct sl_attr_cache *c = m->cache;
	struct entry **at;
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	at = find(c, path);
	if (*at && (*at)->expires_ms > sl_mono_ms()) {
		*n = (*at)->node;
		hit = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void sl_cache_put(struct sl_mnt *m, const char *path, const struct sl_node *n)
{
	/* An absence is kept as long as the kernel keeps one (negative_timeout). */
	double ttl_s = n->kind == SL_NODE_NONE ? SL_MNT_NEGATIVE_TIMEOUT_S : m->attr_timeout_s;
	struct sl_attr_cache *c = m->cache;
	uint64_t expires = sl_mono_ms() + (uint64_t)(ttl_s * 1000.0);
	struct entry **at, *e;
	size_t len = strlen(path);

	pthread_mutex_lock(&c->lock);
	at = find(c, path);
	if (*at) {
		(*at)->node = *n;
		(*at)->expires_ms = expires;
		goto out;
	}
	if (c->n >= SL_CACHE_MAX || c->bytes + sizeof(*e) + len + 1 > SL_CACHE_BYTES)
		clear(c);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		goto out; /* a cache: missing an entry costs a lookup, nothing else */
	memcpy(e->path, path, len + 1);
	e->node = *n;
	e->expires_ms = expires;
	at = &c->buckets[hash(path)];
	e->next = *at;
	*at = e;
	c->n++;
	c->bytes += sizeof(*e) + len + 1;
out:
	pthread_mutex_unlock(&c->lock);
}

void sl_cache_forget(struct sl_mnt *m, const char *path)
{
	struct sl_attr_cache *c = m->cache;
	struct entry **at, *e;

	pthread_mutex_lock(&c->lock);
	at = find(c, path);
	e = *at;
	if (e) {
		*at = e->next;
		c->n--;
		c->bytes -= sizeof(*e) + strlen(e->path) + 1;
		free(e);
	}
	pthread_mutex_unlock(&c->lock);
}
