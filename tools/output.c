/* JSON, sizes, times and the progress bar of the sluice CLI. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void json_tags(FILE *f, const struct sluice_tag *tags, size_t n)
{
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json_str(f, tags[i].key);
		fputc(':', f);
		json_str(f, tags[i].value);
	}
	fputc('}', f);
}

void human_size(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", (unsigned long long)n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

void human_time(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void progress_init(struct progress *p, int on, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = on < 0 ? isatty(STDERR_FILENO) : on;
	p->total = total;
	p->start_ms = now_ms();
}

static void draw(struct progress *p, uint64_t done)
{
	char a[32], b[32], r[32];
	uint64_t el = now_ms() - p->start_ms;
	int width = 30, fill = p->total ? (int)(width * (double)done / (double)p->total) : width;

	human_size(done, a, sizeof(a));
	human_size(p->total, b, sizeof(b));
	human_size(el ? done * 1000 / el : 0, r, sizeof(r));
	fprintf(stderr, "\r[%.*s%*s] %3d%% %s / %s  %s/s  %-30.30s", fill,
		"##############################", width - fill, "",
		p->total ? (int)(100.0 * (double)done / (double)p->total) : 100, a, b, r,
		p->label ? p->label : "");
	fflush(stderr);
}

void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	uint64_t t = now_ms();

	if (!p->total)
		p->total = total; /* a read learns its size once the object is open */
	if (!p->on || (t - p->last_ms < 100 && p->base + done < p->total))
		return;
	p->last_ms = t;
	draw(p, p->base + done);
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	draw(p, p->total);
	fputc('\n', stderr);
}
