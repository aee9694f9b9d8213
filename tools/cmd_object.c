/* sluice put | get | ls | stat | tag | rm */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct item {
	char *path;
	char *name;
	uint64_t size;
};

struct items {
	struct item *v;
	size_t n, cap;
	uint64_t bytes;
};

static int items_add(struct items *it, const char *path, const char *name, uint64_t size)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 64;
		struct item *v = realloc(it->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		it->v = v;
		it->cap = cap;
	}
	it->v[it->n].path = strdup(path);
	it->v[it->n].name = strdup(name);
	if (!it->v[it->n].path || !it->v[it->n].name)
		return -ENOMEM;
	it->v[it->n++].size = size;
	it->bytes += size;
	return 0;
}

static void items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		free(it->v[i].path);
		free(it->v[i].name);
	}
	free(it->v);
}

/* Collects regular files under dir; names are prefix + relative path. */
static int walk(struct items *it, const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc && (e = readdir(d))) {
		char path[4096], name[4096];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "/" : "", e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = walk(it, path, name);
		else if (S_ISREG(st.st_mode))
			rc = items_add(it, path, name, (uint64_t)st.st_size);
	}
	closedir(d);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Parallel ingest: up to c->jobs workers, each with its own session, take
 * items in order from a shared cursor. Small files are bound by fsyncs on
 * the servers, so several in flight overlap those waits.
 */
struct put_job {
	struct cli *c;
	const char *ns;
	struct items *it;
	struct progress *pg;
	int *result;
	pthread_mutex_t lock;
	size_t next;
	uint64_t finished;                 /* bytes of items done */
	uint64_t inflight[SL_CLI_MAX_JOBS]; /* bytes of each worker's current item */
};

struct put_worker {
	struct put_job *job;
	int slot;
	sluice_session *s;
	pthread_t thread;
};

static void put_progress(void *arg, uint64_t done, uint64_t total)
{
	struct put_worker *w = arg;
	struct put_job *j = w->job;
	uint64_t sum;

	(void)total;
	pthread_mutex_lock(&j->lock);
	j->inflight[w->slot] = done;
	sum = j->finished;
	for (int i = 0; i < SL_CLI_MAX_JOBS; i++)
		sum += j->inflight[i];
	progress_cb(j->pg, sum, 0);
	pthread_mutex_unlock(&j->lock);
}

static void *put_worker_main(void *arg)
{
	struct put_worker *w = arg;
	struct put_job *j = w->job;

	for (;;) {
		struct item *item;
		size_t i;
		int fd, rc, src_rc;

		pthread_mutex_lock(&j->lock);
		i = j->next++;
		if (i < j->it->n)
			j->pg->label = j->it->v[i].name;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->it->n)
			break;
		item = &j->it->v[i];
		/* The path as given is the object's provenance source. */
		src_rc = sluice_set_source(w->s, item->path);
		fd = src_rc ? -1 : open(item->path, O_RDONLY | O_CLOEXEC);
		rc = src_rc ? src_rc
		     : fd < 0 ? -errno
			      : sluice_put_fd(w->s, j->ns, item->name, fd, item->size, j->c->tags,
					      j->c->n_tags, put_progress, w);
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&j->lock);
		j->result[i] = rc;
		j->finished += item->size;
		j->inflight[w->slot] = 0;
		if (rc) {
			if (j->pg->on)
				fputc('\n', stderr);
			if (src_rc)
				cli_error("%s: %s", item->path, sluice_last_error(w->s));
			else if (fd < 0)
				cli_error("%s: %s", item->path, strerror(-rc));
			else
				cli_error("put %s/%s: %s", j->ns, item->name, sluice_last_error(w->s));
		}
		pthread_mutex_unlock(&j->lock);
	}
	return NULL;
}

static void put_all(struct cli *c, const char *ns, struct items *it, struct progress *pg,
		    int *result)
{
	struct put_job j = { .c = c, .ns = ns, .it = it, .pg = pg, .result = result };
	struct put_worker w[SL_CLI_MAX_JOBS];
	int n = c->jobs < 1 ? 1 : c->jobs;

	if ((size_t)n > it->n)
		n = it->n ? (int)it->n : 1;
	pthread_mutex_init(&j.lock, NULL);
	for (int i = 0; i < n; i++) {
		w[i] = (struct put_worker){ &j, i, i == 0 ? c->s : NULL, 0 };
		/* Extra workers that cannot connect just leave the work to the others. */
		if (i && sluice_open_file(c->credentials, c->meta, c->purpose, &w[i].s))
			w[i].s = NULL;
		if (w[i].s && pthread_create(&w[i].thread, NULL, put_worker_main, &w[i])) {
			if (i)
				sluice_close(w[i].s);
			w[i].s = NULL;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!w[i].s)
			continue;
		pthread_join(w[i].thread, NULL);
		if (i)
			sluice_close(w[i].s);
	}
	pthread_mutex_destroy(&j.lock);
}

int cmd_put(struct cli *c)
{
	struct items it = { 0 };
	struct progress pg;
	struct stat st;
	char ns[128], rate[32], total[32];
	const char *name;
	uint64_t t0;
	size_t ok = 0;
	int rc = 0, failed = 0, *result;

	if (c->n_args != 2)
		return 2;
	if (cli_split(c->args[1], ns, sizeof(ns), &name, 1))
		return cli_error("bad destination '%s': use NAMESPACE/NAME", c->args[1]);
	if (stat(c->args[0], &st) < 0)
		return cli_error("cannot read %s: %s", c->args[0], strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		char prefix[4096];

		snprintf(prefix, sizeof(prefix), "%s", name);
		prefix[strcspn(prefix, "\0")] = '\0';
		while (prefix[0] && prefix[strlen(prefix) - 1] == '/')
			prefix[strlen(prefix) - 1] = '\0';
		rc = walk(&it, c->args[0], prefix);
		if (rc)
			return cli_error("cannot walk %s: %s", c->args[0], strerror(-rc));
		qsort(it.v, it.n, sizeof(*it.v), by_name);
	} else if (S_ISREG(st.st_mode)) {
		char base[4096], full[8192];

		snprintf(base, sizeof(base), "%s", c->args[0]);
		if (!name[0] || name[strlen(name) - 1] == '/')
			snprintf(full, sizeof(full), "%s%s", name, basename(base));
		else
			snprintf(full, sizeof(full), "%s", name);
		rc = items_add(&it, c->args[0], full, (uint64_t)st.st_size);
	} else {
		return cli_error("%s is neither a file nor a folder", c->args[0]);
	}
	if (rc || cli_connect(c)) {
		items_free(&it);
		return 1;
	}
	progress_init(&pg, c->json ? 0 : c->progress, it.bytes);
	t0 = mono_ms();
	result = calloc(it.n + 1, sizeof(*result));
	if (!result) {
		items_free(&it);
		return cli_error("out of memory");
	}
	put_all(c, ns, &it, &pg, result);
	if (c->json)
		printf("[");
	for (size_t i = 0; i < it.n; i++) {
		failed += result[i] != 0;
		ok += result[i] == 0;
		if (c->json) {
			printf("%s{\"namespace\":", i ? "," : "");
			json_str(stdout, ns);
			printf(",\"name\":");
			json_str(stdout, it.v[i].name);
			printf(",\"size\":%llu,\"ok\":%s}", (unsigned long long)it.v[i].size,
			       result[i] ? "false" : "true");
		}
	}
	free(result);
	progress_end(&pg);
	if (c->json) {
		printf("]\n");
	} else {
		uint64_t el = mono_ms() - t0;

		human_size(it.bytes, total, sizeof(total));
		human_size(el ? it.bytes * 1000 / el : it.bytes, rate, sizeof(rate));
		printf("ingested %zu object%s (%s) into %s in %.2f s (%s/s)%s\n", ok,
		       ok == 1 ? "" : "s", total, ns, (double)el / 1000.0, rate,
		       failed ? ", some failed" : "");
	}
	items_free(&it);
	return failed ? 1 : 0;
}

/*
 * Where get writes. A regular file, or a path that does not exist yet, is
 * written as a new temporary file beside it and renamed over it only once
 * the whole read succeeded and is on disk: a failed get leaves the
 * destination exactly as it was, and a reader of the old file never sees a
 * mix. Anything else that exists (a device, a FIFO, a socket) is written in
 * place and never created, truncated or removed: the command deletes only
 * what it created.
 */
struct dest {
	char final[4096]; /* what the temporary file is renamed to */
	char tmp[4096];   /* the temporary file; empty when writing in place */
	int fd;
};

static int dest_tmp_open(struct dest *d, mode_t mode)
{
	char dir[4096], base[4096];
	int rc = -EEXIST;

	snprintf(dir, sizeof(dir), "%s", d->final);
	snprintf(base, sizeof(base), "%s", d->final);
	for (int tries = 0; tries < 16 && rc == -EEXIST; tries++) {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -EIO;
		/* A short name part: the destination's own may be near NAME_MAX. */
		if (snprintf(d->tmp, sizeof(d->tmp), "%s/.%.200s.sluice-%08x", dirname(dir),
			     basename(base), r) >= (int)sizeof(d->tmp))
			return -ENAMETOOLONG;
		d->fd = open(d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		rc = d->fd < 0 ? -errno : 0;
	}
	if (rc)
		d->tmp[0] = '\0';
	return rc;
}

static int dest_open(struct dest *d, const char *path, mode_t mode)
{
	struct stat st, lst;

	d->fd = -1;
	d->tmp[0] = '\0';
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		d->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		return d->fd < 0 ? -errno : 0;
	}
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		/* A link: the file it names is replaced, not the link itself. */
		if (!realpath(path, d->final))
			return -errno;
	} else if (snprintf(d->final, sizeof(d->final), "%s", path) >= (int)sizeof(d->final)) {
		return -ENAMETOOLONG;
	}
	return dest_tmp_open(d, mode);
}

/* Makes the output final: synced and renamed over the destination. */
static int dest_commit(struct dest *d)
{
	char dir[4096];
	int rc = 0, dfd;

	if (!d->tmp[0]) {
		rc = close(d->fd) < 0 ? -errno : 0;
		d->fd = -1;
		return rc;
	}
	if (fsync(d->fd) < 0)
		rc = -errno;
	if (close(d->fd) < 0 && !rc)
		rc = -errno;
	d->fd = -1;
	if (!rc && rename(d->tmp, d->final) < 0)
		rc = -errno;
	if (rc)
		return rc;
	d->tmp[0] = '\0';
	/* The rename itself must survive a crash. */
	snprintf(dir, sizeof(dir), "%s", d->final);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = -errno;
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Drops the output of a failed get: only the temporary file goes. */
static void dest_abort(struct dest *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->tmp[0])
		unlink(d->tmp);
	d->tmp[0] = '\0';
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmd_get(struct cli *c)
{
	struct dest d = { .fd = STDOUT_FILENO };
	char ns[128];
	const char *name;
	int rc;

	if (c->n_args != 1)
		return 2;
	if (c->mode_bad)
		return cli_error("--mode takes octal permissions, 0 to 0777 (e.g. 0640)") + 1;
	if (cli_split(c->args[0], ns, sizeof(ns), &name, 0))
		return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[0]);
	if (cli_connect(c))
		return 1;
	if (c->out) {
		rc = dest_open(&d, c->out, (mode_t)c->mode);
		if (rc)
			return cli_error("cannot write %s: %s", c->out, strerror(-rc));
	}
	if (c->have_range) {
		size_t len = c->have_range & 2 ? (size_t)c->length : (size_t)1 << 30, got = 0;
		void *buf = malloc(len ? len : 1);

		rc = buf ? sluice_read(c->s, ns, name, c->offset, buf, len, &got) : -ENOMEM;
		if (!rc)
			rc = write_all(d.fd, buf, got);
		free(buf);
	} else {
		struct progress pg;

		progress_init(&pg, c->out ? c->progress : 0, 0);
		pg.label = name;
		rc = sluice_get_fd(c->s, ns, name, d.fd, progress_cb, &pg);
		if (!rc)
			progress_end(&pg);
	}
	if (rc) {
		if (c->out)
			dest_abort(&d);
		return cli_fail(c, rc, "get");
	}
	rc = c->out ? dest_commit(&d) : 0;
	if (rc) {
		dest_abort(&d);
		return cli_error("cannot write %s: %s", c->out, strerror(-rc));
	}
	return 0;
}

static const char *tag_value(const struct sluice_object *o, const char *key)
{
	for (size_t i = 0; i < o->n_tags; i++)
		if (strcmp(o->tags[i].key, key) == 0)
			return o->tags[i].value;
	return "-";
}

int cmd_ls(struct cli *c)
{
	struct sluice_object **list;
	char ns[128], size[32], after[2048] = "";
	const char *prefix;
	size_t n, shown = 0;
	int rc, truncated = 0;

	if (c->n_args != 1)
		return 2;
	if (cli_split(c->args[0], ns, sizeof(ns), &prefix, 1))
		return cli_error("bad namespace '%s'", c->args[0]);
	if (cli_connect(c))
		return 1;
	if (c->json)
		printf("[");
	do {
		uint32_t want = c->limit ? c->limit - (uint32_t)shown : 0;

		rc = sluice_list(c->s, ns, prefix, after[0] ? after : NULL, want, &list, &n,
				 &truncated);
		if (rc) {
			if (c->json)
				printf("]\n");
			return cli_fail(c, rc, "ls");
		}
		for (size_t i = 0; i < n; i++, shown++) {
			struct sluice_object *o = list[i];

			if (c->json) {
				printf("%s{\"name\":", shown ? "," : "");
				json_str(stdout, o->name);
				if (o->withheld) {
					printf(",\"withheld\":true}");
					continue;
				}
				printf(",\"size\":%llu,\"sha256\":\"%s\",\"created_ms\":%llu,\"tags\":",
				       (unsigned long long)o->size, o->sha256,
				       (unsigned long long)o->created_ms);
				json_tags(stdout, o->tags, o->n_tags);
				printf("}");
			} else if (o->withheld) {
				/* Listed by name only: the caller may not read it. */
				printf("%10s  %-13s  ", "-", "withheld");
				text_str(stdout, o->name);
				putchar('\n');
			} else {
				char cls[64];

				human_size(o->size, size, sizeof(size));
				printf("%10s  %-13s  ", size,
				       cli_escape(tag_value(o, "classification"), 0, cls, sizeof(cls)));
				text_str(stdout, o->name);
				putchar('\n');
			}
		}
		if (n)
			snprintf(after, sizeof(after), "%s", list[n - 1]->name);
		sluice_list_free(list, n);
	} while (truncated && n && (!c->limit || shown < c->limit));
	if (c->json)
		printf("]\n");
	return 0;
}

int cmd_stat(struct cli *c)
{
	struct sluice_object *o;
	char ns[128], size[32], when[32];
	const char *name;
	int rc;

	if (c->n_args != 1)
		return 2;
	if (cli_split(c->args[0], ns, sizeof(ns), &name, 0))
		return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[0]);
	if (cli_connect(c))
		return 1;
	rc = sluice_stat(c->s, ns, name, &o);
	if (rc)
		return cli_fail(c, rc, "stat");
	human_time(o->created_ms, when, sizeof(when));
	if (c->json) {
		printf("{\"namespace\":");
		json_str(stdout, o->ns);
		printf(",\"name\":");
		json_str(stdout, o->name);
		printf(",\"id\":%llu,\"size\":%llu,\"sha256\":\"%s\",\"created\":\"%s\","
		       "\"shard_size\":%u,\"tags\":",
		       (unsigned long long)o->id, (unsigned long long)o->size, o->sha256, when,
		       o->shard_size);
		json_tags(stdout, o->tags, o->n_tags);
		cli_print_retention(o, 1);
		printf(",\"shards\":[");
		/* Shards may be withheld from a principal that may not read. */
		for (uint32_t i = 0; o->shards && i < o->shard_count; i++) {
			printf("%s{\"index\":%u,\"length\":%u,\"crc32c\":\"%08x\",\"servers\":[",
			       i ? "," : "", o->shards[i].index, o->shards[i].length,
			       o->shards[i].crc32c);
			for (size_t j = 0; j < o->shards[i].n_servers; j++)
				printf("%s%u", j ? "," : "", o->shards[i].servers[j]);
			printf("]}");
		}
		printf("],\"servers\":[");
		for (size_t i = 0; i < o->n_servers; i++) {
			printf("%s{\"id\":%u,\"up\":%s,\"label\":", i ? "," : "", o->servers[i].id,
			       o->servers[i].up ? "true" : "false");
			json_str(stdout, o->servers[i].label);
			printf("}");
		}
		printf("]}\n");
	} else {
		human_size(o->size, size, sizeof(size));
		fputs("object   ", stdout);
		text_str(stdout, o->ns);
		putchar('/');
		text_str(stdout, o->name);
		printf("\nid       %llu\nsize     %llu bytes (%s)\nsha256   %s\n"
		       "created  %s\nshards   %u x %u bytes\ntags    ",
		       (unsigned long long)o->id, (unsigned long long)o->size, size, o->sha256, when,
		       o->shard_count, o->shard_size);
		for (size_t i = 0; i < o->n_tags; i++) {
			putchar(' ');
			text_str(stdout, o->tags[i].key);
			putchar('=');
			text_str(stdout, o->tags[i].value);
		}
		printf("\n");
		cli_print_retention(o, 0);
		for (uint32_t i = 0; o->shards && i < o->shard_count; i++) {
			printf("shard %-4u %10u bytes  crc32c %08x  on", o->shards[i].index,
			       o->shards[i].length, o->shards[i].crc32c);
			for (size_t j = 0; j < o->shards[i].n_servers; j++) {
				uint32_t id = o->shards[i].servers[j];
				const char *state = "?";

				for (size_t k = 0; k < o->n_servers; k++)
					if (o->servers[k].id == id)
						state = o->servers[k].up ? "up" : "down";
				printf(" %u(%s)", id, state);
			}
			printf("\n");
		}
	}
	sluice_object_free(o);
	return 0;
}

int cmd_tag(struct cli *c)
{
	char ns[128];
	const char *name;
	int rc;

	if (c->n_args < 1)
		return 2;
	if (cli_split(c->args[0], ns, sizeof(ns), &name, 0))
		return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[0]);
	for (int i = 1; i < c->n_args; i++) {
		char *eq = strchr(c->args[i], '=');

		if (!eq || eq == c->args[i] || !eq[1])
			return cli_error("malformed tag '%s': use KEY=VALUE", c->args[i]) + 1;
		if (c->n_tags == SL_CLI_MAX_TAGS)
			return cli_error("too many tags");
		*eq = '\0';
		c->tags[c->n_tags++] = (struct sluice_tag){ c->args[i], eq + 1 };
	}
	if (!c->n_tags && !c->n_remove)
		return 2;
	if (cli_connect(c))
		return 1;
	rc = sluice_set_tags(c->s, ns, name, c->tags, c->n_tags, c->remove, c->n_remove);
	if (rc)
		return cli_fail(c, rc, "tag");
	if (!c->json)
		printf("tags of %s/%s updated\n", ns, name);
	else
		printf("{\"ok\":true}\n");
	return 0;
}

/*
 * Deletes every NS/NAME given, in order, going on past failures: each
 * failure is one line on stderr, and the exit code is 1 if any failed.
 * Every argument is checked before anything is deleted.
 */
int cmd_rm(struct cli *c)
{
	char ns[128];
	const char *name;
	int failed = 0;

	if (c->n_args < 1)
		return 2;
	for (int i = 0; i < c->n_args; i++)
		if (cli_split(c->args[i], ns, sizeof(ns), &name, 0))
			return cli_error("bad object '%s': use NAMESPACE/NAME", c->args[i]);
	if (cli_connect(c))
		return 1;
	if (c->json)
		printf("[");
	for (int i = 0; i < c->n_args; i++) {
		char what[1200];
		int rc;

		cli_split(c->args[i], ns, sizeof(ns), &name, 0);
		rc = sluice_delete(c->s, ns, name);
		if (rc) {
			failed++;
			snprintf(what, sizeof(what), "rm %s/%s", ns, name);
			cli_fail(c, rc, what);
		}
		if (c->json) {
			printf("%s{\"namespace\":", i ? "," : "");
			json_str(stdout, ns);
			printf(",\"name\":");
			json_str(stdout, name);
			printf(",\"ok\":%s", rc ? "false" : "true");
			if (rc) {
				const char *msg = sluice_last_error(c->s);

				printf(",\"error\":");
				json_str(stdout, msg && msg[0] ? msg : strerror(-rc));
			}
			printf("}");
		} else if (!rc) {
			fputs("deleted ", stdout);
			text_str(stdout, ns);
			putchar('/');
			text_str(stdout, name);
			putchar('\n');
		}
	}
	if (c->json)
		printf("]\n");
	return failed ? 1 : 0;
}
