/*
 * Output of the sluice CLI: escaping, JSON, sizes, times and the progress
 * bar. Every string that comes from the catalog (names, tags, purposes,
 * audit fields) goes through cli_escape before it reaches the terminal, so
 * no stored string can move the cursor, fake a line or break a JSON reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/*
 * Decodes one UTF-8 character of s; returns its length (1 to 4) and sets *cp,
 * or 0 when s does not start with a valid, shortest-form character.
 */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters a terminal acts on or that reorder text: C0, DEL, C1, bidi controls. */
static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

const char *cli_escape(const char *s, int json, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	while (*p) {
		char tmp[16];
		uint32_t cp = 0;
		size_t n = utf8_decode(p, &cp), tl;

		if (!n) {
			/* Not UTF-8: JSON gets U+FFFD (it must stay valid), text the byte. */
			snprintf(tmp, sizeof(tmp), json ? "\\ufffd" : "\\x%02x", *p);
			n = 1;
		} else if (cp == '"' && json) {
			snprintf(tmp, sizeof(tmp), "\\\"");
		} else if (cp == '\\') {
			snprintf(tmp, sizeof(tmp), "\\\\");
		} else if (cp == '\n' || cp == '\r' || cp == '\t') {
			snprintf(tmp, sizeof(tmp), "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
		} else if (is_control(cp)) {
			snprintf(tmp, sizeof(tmp), json ? "\\u%04x" : cp < 0x80 ? "\\x%02x" : "\\u%04x",
				 (unsigned)cp);
		} else {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
		}
		tl = strlen(tmp);
		/* Room for this, "..." and the NUL, or stop with a visible cut. */
		if (o + tl + 4 > cap) {
			if (cap >= 4)
				memcpy(out + (o + 4 > cap ? cap - 4 : o), "...", 4);
			else if (cap)
				out[0] = '\0';
			return out;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
		p += n;
	}
	if (cap)
		out[o] = '\0';
	return out;
}

/* Escapes s as a whole to f; each input byte needs at most 6 output bytes. */
static void put_escaped(FILE *f, const char *s, int json)
{
	size_t cap = 6 * strlen(s ? s : "") + 8;
	char small[512], *buf = cap <= sizeof(small) ? small : malloc(cap);

	if (!buf) {
		fputs("...", f);
		return;
	}
	fputs(cli_escape(s, json, buf, cap), f);
	if (buf != small)
		free(buf);
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	put_escaped(f, s, 1);
	fputc('"', f);
}

void text_str(FILE *f, const char *s)
{
	put_escaped(f, s, 0);
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
