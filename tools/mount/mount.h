/*
 * sluice-mount: a tenant's namespaces as a FUSE file tree.
 *
 * MOUNTPOINT/<namespace>/<object name split at '/'>. Directories are implied
 * by object names (and, in --rw mounts, made with mkdir until an object
 * lands in them). Every open of a file is a read grant from sluice-meta for
 * the mount's purpose; every byte comes through libsluice, which checks it
 * against the catalog.
 *
 * One struct sl_mnt holds the whole state of a mount; FUSE hands it to every
 * operation as its private data.
 */
#ifndef SL_MOUNT_H
#define SL_MOUNT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sluice.h"

#define SL_MNT_TAGS_MAX 64
#define SL_MNT_XATTR_PREFIX "user.sluice."
/* How long an absence is believed, by the kernel and by the mount: a name
 * another client makes shows up within this. */
#define SL_MNT_NEGATIVE_TIMEOUT_S 1.0

/* libsluice sessions are used by one thread at a time: a mount keeps a few. */
struct sl_mnt_sess {
	pthread_mutex_t lock;
	sluice_session *s;
};

/* What the mount knows of one path, for a while (the attribute cache). */
enum sl_node_kind { SL_NODE_NONE = 0, SL_NODE_DIR, SL_NODE_FILE, SL_NODE_WITHHELD };

struct sl_node {
	enum sl_node_kind kind;
	uint64_t size;
	uint64_t mtime_ms;
};

struct sl_attr_cache; /* cache.c */
struct sl_spool_table; /* spool.c */

struct sl_mnt {
	/* Settings, fixed once mounted. */
	const char *credentials;
	const char *purpose;
	int rw;
	unsigned n_sess;
	double attr_timeout_s;
	const char *spool_dir;
	struct sluice_tag tags[SL_MNT_TAGS_MAX]; /* -o tag=K=V, added to every ingest */
	size_t n_tags;
	uid_t uid;
	gid_t gid;
	uint64_t mounted_ms; /* when: the time of every directory */

	struct sl_mnt_sess *sess;
	unsigned next_sess; /* round robin; atomic */
	struct sl_attr_cache *cache;
	struct sl_spool_table *spools;
	uint64_t ra_total; /* bytes in read-ahead windows (fs.c); atomic */
	int ready_fd;      /* where to say the mount is up (a daemon's parent waits); -1 */
	/* Open files (file.c): the kernel need not release them all before a
	 * signal ends the loop, so the unmount closes what is left. */
	pthread_mutex_t files_lock;
	struct sl_file *files;
};

/* ---- pool.c: the sessions ---------------------------------------------- */
int sl_mnt_pool_open(struct sl_mnt *m, char *err, size_t err_len);
void sl_mnt_pool_close(struct sl_mnt *m);
/* A session for one call, held until sl_mnt_put; *idx says which. */
sluice_session *sl_mnt_get(struct sl_mnt *m, unsigned *idx);
/* A given session (an open file keeps to the one its grant is bound to). */
sluice_session *sl_mnt_get_at(struct sl_mnt *m, unsigned idx);
void sl_mnt_put(struct sl_mnt *m, unsigned idx);
/* errno for FUSE from a libsluice result, logging what is worth logging. */
int sl_mnt_errno(int rc, sluice_session *s, const char *op, const char *path);

/* ---- path.c: mount paths to namespaces and object names ------------------- */
struct sl_path {
	char ns[64];
	const char *name; /* into the path given; "" for a namespace's root */
	int root;         /* the mount's root */
};
/* 0, or -ENOENT for a path that can name nothing (bad namespace name). */
int sl_path_split(const char *path, struct sl_path *p);

/* ---- cache.c: the attribute cache ----------------------------------------- */
int sl_cache_new(struct sl_mnt *m);
void sl_cache_free(struct sl_mnt *m);
/* 1 and *n when path is known and fresh (kind SL_NODE_NONE: known absent), else 0. */
int sl_cache_get(struct sl_mnt *m, const char *path, struct sl_node *n);
void sl_cache_put(struct sl_mnt *m, const char *path, const struct sl_node *n);
void sl_cache_forget(struct sl_mnt *m, const char *path);

/* ---- tree.c: lookups and listings ----------------------------------------- */
/* What path is: a directory, a file, or -ENOENT. */
int sl_tree_lookup(struct sl_mnt *m, const char *path, struct sl_node *n);
void sl_tree_stat(const struct sl_mnt *m, const struct sl_node *n, struct stat *st);

/* One directory being read: pages from the catalog, one at a time. */
struct sl_dir;
int sl_dir_open(struct sl_mnt *m, const char *path, struct sl_dir **out);
/* The entry at position pos (0, 1, 2...): 1 with its name and node, 0 at the end. */
int sl_dir_entry(struct sl_mnt *m, struct sl_dir *d, uint64_t pos, const char **name,
		 struct sl_node *n);
void sl_dir_close(struct sl_dir *d);

/* ---- spool.c: files written through an --rw mount -------------------------- */
int sl_spool_table_new(struct sl_mnt *m);
void sl_spool_table_free(struct sl_mnt *m);
struct sl_spool;
/* A new file at path (it must not exist): spooled until it is ingested. */
int sl_spool_create(struct sl_mnt *m, const char *path, struct sl_spool **out);
int sl_spool_write(struct sl_spool *sp, const char *buf, size_t len, uint64_t off);
/* What a file being written looks like now. */
int sl_spool_file_size(struct sl_spool *sp, struct sl_node *n);
int sl_spool_read(struct sl_spool *sp, char *buf, size_t len, uint64_t off);
int sl_spool_truncate(struct sl_spool *sp, uint64_t size);
/* Ingests what was written, once; later calls return the first result. */
int sl_spool_commit(struct sl_mnt *m, struct sl_spool *sp);
/* Commits if not yet done (errors only logged), then forgets the spool. */
void sl_spool_release(struct sl_mnt *m, struct sl_spool *sp);
/* 1 and *n when path is a file being written through this mount. */
int sl_spool_lookup(struct sl_mnt *m, const char *path, struct sl_node *n);
/* Directories made with mkdir and holding no object yet. */
int sl_spool_mkdir(struct sl_mnt *m, const char *path);
int sl_spool_rmdir(struct sl_mnt *m, const char *path);
int sl_spool_dir_exists(struct sl_mnt *m, const char *path);
/* Names of the spools and made directories right under dir (free each and the array). */
int sl_spool_children(struct sl_mnt *m, const char *dir, char ***names, size_t *n);

/* ---- file.c: open files ------------------------------------------------------ */
struct sl_file;
/* Opens path for reading: a grant. *confidential: classified confidential or above. */
int sl_file_open(struct sl_mnt *m, const char *path, struct sl_file **out, int *confidential);
/* A new file at path, spooled until it is closed (--rw). */
int sl_file_create(struct sl_mnt *m, const char *path, struct sl_file **out);
/* The spool of a file being written; NULL for an object being read. */
struct sl_spool *sl_file_spool(const struct sl_file *f);
uint64_t sl_file_size(const struct sl_file *f);
/* Reads [off, off + len) of the object; bytes read or -errno. */
int sl_file_read(struct sl_mnt *m, struct sl_file *f, char *buf, size_t len, uint64_t off);
/* Closes the file: a spool is ingested if it was not yet (errors logged). */
void sl_file_close(struct sl_mnt *m, struct sl_file *f);
/* At unmount, once no FUSE thread runs: closes every file still open; a
 * file still being written is discarded, never ingested half-written. */
void sl_file_close_all(struct sl_mnt *m);

/* ---- fs.c: the FUSE operations ---------------------------------------------- */
struct fuse_operations;
const struct fuse_operations *sl_mnt_operations(void);

#endif
