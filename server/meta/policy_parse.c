/*
 * The parser of policy documents (policy.h): a hand-written lexer and a
 * recursive-descent parser of the flat grammar, one token of lookahead.
 *
 * Bounded by construction: the text is capped at SL_POLICY_TEXT_MAX before
 * anything is read, every list is capped as it grows (-E2BIG at the first
 * entry too many), and the string arena is sized once from the text length
 * (every stored token is a distinct piece of the text plus its NUL). Every
 * error names the line and column of the token that broke the grammar and
 * what was expected there; what it quotes is a token of the text, which the
 * lexer has already restricted to [A-Za-z0-9._-].
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

enum tok_type {
	T_EOF,
	T_WORD,
	T_STAR,
	T_COMMA,
	T_COLON,
	T_LBRACE,
	T_RBRACE,
	T_LPAREN,
	T_RPAREN,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_BAD, /* the lexer has written the error */
};

struct tok {
	enum tok_type type;
	const char *p;
	size_t n;
	unsigned line, col;
};

struct parser {
	const char *s;
	size_t len, pos;
	unsigned line, col; /* of s[pos] */
	struct tok t;	    /* the lookahead */
	char *err;
	size_t err_len;
	struct sl_policy *doc;
	size_t arena_used, cap_rules, cap_subjs, cap_vals, cap_conds;
	size_t n_subjs, n_vals, n_conds;
};

static void perr_at(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr_at(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->err || !ps->err_len)
		return;
	n = snprintf(ps->err, ps->err_len, "line %u, column %u: ", line, col);
	if (n < 0 || (size_t)n >= ps->err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
	va_end(ap);
}

static int is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static void advance(struct parser *ps)
{
	if (ps->s[ps->pos] == '\n')
		ps->line++, ps->col = 1;
	else
		ps->col++;
	ps->pos++;
}

/*
 * Reads the next token into ps->t. Whitespace and comments separate
 * tokens; a comment may hold any byte but NUL (so it can carry UTF-8 prose),
 * the rest of the text only printable ASCII.
 */
static void next(struct parser *ps)
{
	struct tok *t = &ps->t;
	unsigned char c;

	for (;;) {
		if (ps->pos >= ps->len) {
			*t = (struct tok){ T_EOF, ps->s + ps->pos, 0, ps->line, ps->col };
			return;
		}
		c = (unsigned char)ps->s[ps->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			advance(ps);
		} else if (c == '#') {
			while (ps->pos < ps->len && ps->s[ps->pos] != '\n') {
				if (ps->s[ps->pos] == '\0') {
					perr_at(ps, ps->line, ps->col, "NUL byte in a comment");
					*t = (struct tok){ T_BAD, NULL, 0, ps->line, ps->col };
					return;
				}
				advance(ps);
			}
		} else {
			break;
		}
	}
	*t = (struct tok){ T_BAD, ps->s + ps->pos, 1, ps->line, ps->col };
	if (is_word_char(c)) {
		size_t start = ps->pos;

		while (ps->pos < ps->len && is_word_char((unsigned char)ps->s[ps->pos]))
			advance(ps);
		t->type = T_WORD;
		t->n = ps->pos - start;
		return;
	}
	if (c == '\0') {
		perr_at(ps, t->line, t->col, "NUL byte");
		return;
	}
	if (c >= 0x80) {
		perr_at(ps, t->line, t->col, "non-ASCII byte 0x%02x (only comments may hold one)", c);
		return;
	}
	switch (c) {
	case '*': t->type = T_STAR; break;
	case ',': t->type = T_COMMA; break;
	case ':': t->type = T_COLON; break;
	case '{': t->type = T_LBRACE; break;
	case '}': t->type = T_RBRACE; break;
	case '(': t->type = T_LPAREN; break;
	case ')': t->type = T_RPAREN; break;
	case '=': t->type = T_EQ; break;
	case '<': t->type = T_LT; break;
	case '>': t->type = T_GT; break;
	case '!': t->type = T_NE; break;
	default:
		if (c < 0x20 || c == 0x7f)
			perr_at(ps, t->line, t->col, "unexpected control character 0x%02x", c);
		else
			perr_at(ps, t->line, t->col, "unexpected character '%c'", c);
		return;
	}
	advance(ps);
	if ((c == '<' || c == '>' || c == '!') && ps->pos < ps->len && ps->s[ps->pos] == '=') {
		advance(ps);
		t->n = 2;
		t->type = c == '<' ? T_LE : c == '>' ? T_GE : T_NE;
	} else if (c == '!') {
		t->type = T_BAD;
		perr_at(ps, t->line, t->col, "expected '!=', found '!'");
	}
}

/* The lookahead as the error messages quote it. */
static void describe(const struct tok *t, char *buf, size_t len)
{
	if (t->type == T_EOF)
		snprintf(buf, len, "the end of the text");
	else if (t->type == T_WORD && t->n > 32)
		snprintf(buf, len, "'%.32s...'", t->p);
	else
		snprintf(buf, len, "'%.*s'", (int)t->n, t->p);
}

/* "expected X, found Y" at the lookahead; returns -EINVAL (or the lexer's error). */
static int expected(struct parser *ps, const char *what)
{
	char found[48];

	if (ps->t.type == T_BAD)
		return -EINVAL;
	describe(&ps->t, found, sizeof(found));
	perr_at(ps, ps->t.line, ps->t.col, "expected %s, found %s", what, found);
	return -EINVAL;
}

static int is_word(const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	return t->type == T_WORD && t->n == n && memcmp(t->p, w, n) == 0;
}

/* Lowercase keywords; "and" and "or" also in capitals (Lake Formation's spelling). */
static int is_kw(const struct tok *t, const char *w)
{
	if (is_word(t, w))
		return 1;
	if (strcmp(w, "and") == 0)
		return is_word(t, "AND");
	if (strcmp(w, "or") == 0)
		return is_word(t, "OR");
	return 0;
}

/* [a-z0-9][a-z0-9._-]{0,max-1} */
static int valid_ident(const struct tok *t, size_t max)
{
	if (t->type != T_WORD || t->n < 1 || t->n > max)
		return 0;
	if (!((t->p[0] >= 'a' && t->p[0] <= 'z') || (t->p[0] >= '0' && t->p[0] <= '9')))
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i] >= 'A' && t->p[i] <= 'Z')
			return 0;
	return 1;
}

/* Copies the lookahead into the arena (sized for every token plus its NUL). */
static const char *intern(struct parser *ps)
{
	char *s = ps->doc->arena + ps->arena_used;

	memcpy(s, ps->t.p, ps->t.n);
	s[ps->t.n] = '\0';
	ps->arena_used += ps->t.n + 1;
	return s;
}

/*
 * Makes room for one more element after used in arr: arr itself, or its
 * moved copy, or NULL (arr untouched) when memory runs out. The caps on every
 * list keep the growth bounded.
 */
static void *grow(void *arr, size_t *cap, size_t used, size_t elem)
{
	size_t ncap;
	void *n;

	if (used < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	n = realloc(arr, ncap * elem);
	if (n)
		*cap = ncap;
	return n;
}

#define NAME_FORM "1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
#define VALUE_FORM "1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"

/* A NAME at the lookahead, interned; consumes it. */
static int take_name(struct parser *ps, const char *what, const char **out)
{
	char buf[160];

	if (!valid_ident(&ps->t, SL_POLICY_NAME_MAX)) {
		snprintf(buf, sizeof(buf), "%s (" NAME_FORM ")", what);
		return expected(ps, buf);
	}
	*out = intern(ps);
	next(ps);
	return 0;
}

static int take_value(struct parser *ps, const char **out)
{
	if (!valid_ident(&ps->t, SL_POLICY_VALUE_MAX))
		return expected(ps, "a value (" VALUE_FORM ")");
	*out = intern(ps);
	next(ps);
	return 0;
}

static int take(struct parser *ps, enum tok_type type, const char *what)
{
	if (ps->t.type != type)
		return expected(ps, what);
	next(ps);
	return 0;
}

static int take_kw(struct parser *ps, const char *kw, const char *what)
{
	if (!is_kw(&ps->t, kw))
		return expected(ps, what);
	next(ps);
	return 0;
}

/* SUBJECT ("," SUBJECT)*, appended to doc->subjs; *n counts them. */
static int parse_subjects(struct parser *ps, uint32_t *first, uint32_t *n, const char *list)
{
	int rc;

	*first = (uint32_t)ps->n_subjs;
	*n = 0;
	for (;;) {
		struct sl_pol_subj s = { SL_PSUBJ_ANY, NULL }, *subjs;

		if (*n == SL_POLICY_SUBJECTS_MAX) {
			perr_at(ps, ps->t.line, ps->t.col, "more than %d entries in the %s list",
				SL_POLICY_SUBJECTS_MAX, list);
			return -E2BIG;
		}
		if (ps->t.type == T_STAR) {
			next(ps);
		} else if (is_word(&ps->t, "role") || is_word(&ps->t, "user") ||
			   is_word(&ps->t, "service") || is_word(&ps->t, "principal")) {
			s.kind = is_word(&ps->t, "role") ? SL_PSUBJ_ROLE : SL_PSUBJ_NAME;
			next(ps);
			rc = take(ps, T_COLON, "':'");
			if (rc)
				return rc;
			if (ps->t.type == T_STAR) {
				next(ps);
			} else {
				rc = take_name(ps, "a name or '*'", &s.name);
				if (rc)
					return rc;
			}
		} else {
			return expected(ps, "a subject ('*', role:NAME, user:NAME, service:NAME or "
					    "principal:NAME)");
		}
		subjs = grow(ps->doc->subjs, &ps->cap_subjs, ps->n_subjs, sizeof(s));
		if (!subjs)
			return -ENOMEM;
		ps->doc->subjs = subjs;
		subjs[ps->n_subjs++] = s;
		(*n)++;
		if (ps->t.type != T_COMMA)
			return 0;
		next(ps);
	}
}

static int push_value(struct parser *ps, const char *v)
{
	const char **vals = grow(ps->doc->vals, &ps->cap_vals, ps->n_vals, sizeof(v));

	if (!vals)
		return -ENOMEM;
	ps->doc->vals = vals;
	vals[ps->n_vals++] = v;
	return 0;
}

/* VALUE (sep VALUE)* up to SL_POLICY_VALUES_MAX; sep is "," or the keyword "or". */
static int parse_values(struct parser *ps, uint32_t *first, uint32_t *n, int or_sep)
{
	const char *v;
	int rc;

	*first = (uint32_t)ps->n_vals;
	*n = 0;
	for (;;) {
		if (*n == SL_POLICY_VALUES_MAX) {
			perr_at(ps, ps->t.line, ps->t.col, "more than %d values in one set",
				SL_POLICY_VALUES_MAX);
			return -E2BIG;
		}
		rc = take_value(ps, &v);
		if (!rc)
			rc = push_value(ps, v);
		if (rc)
			return rc;
		(*n)++;
		if (or_sep ? !is_kw(&ps->t, "or") : ps->t.type != T_COMMA)
			return 0;
		next(ps);
	}
}

static int parse_actions(struct parser *ps, unsigned *actions)
{
	*actions = 0;
	if (ps->t.type == T_STAR) {
		*actions = SL_POL_READ | SL_POL_STAT;
		next(ps);
		return 0;
	}
	for (;;) {
		if (is_word(&ps->t, "read"))
			*actions |= SL_POL_READ;
		else if (is_word(&ps->t, "stat"))
			*actions |= SL_POL_STAT;
		else
			return expected(ps, *actions ? "'read' or 'stat'" : "'read', 'stat' or '*'");
		next(ps);
		if (ps->t.type != T_COMMA)
			return 0;
		next(ps);
	}
}

static int parse_purposes(struct parser *ps, struct sl_pol_rule *r)
{
	const char *v;
	int rc;

	r->purp0 = (uint32_t)ps->n_vals;
	r->n_purp = 0;
	if (ps->t.type == T_STAR) {
		next(ps);
		return 0;
	}
	for (;;) {
		if (r->n_purp == SL_POLICY_VALUES_MAX) {
			perr_at(ps, ps->t.line, ps->t.col, "more than %d purposes",
				SL_POLICY_VALUES_MAX);
			return -E2BIG;
		}
		rc = take_name(ps, r->n_purp ? "a purpose" : "a purpose or '*'", &v);
		if (!rc)
			rc = push_value(ps, v);
		if (rc)
			return rc;
		r->n_purp++;
		if (ps->t.type != T_COMMA)
			return 0;
		next(ps);
	}
}

static int parse_cond(struct parser *ps, struct sl_pol_cond *c)
{
	const char *v;
	int rc;

	c->line = ps->t.line;
	c->col = ps->t.col;
	rc = take_name(ps, "a tag key", &c->key);
	if (rc)
		return rc;
	switch (ps->t.type) {
	case T_EQ:
		next(ps);
		if (ps->t.type == T_LPAREN) {
			next(ps);
			c->op = SL_POP_IN;
			rc = parse_values(ps, &c->val0, &c->n_val, 1);
			return rc ? rc : take(ps, T_RPAREN, "'or' or ')'");
		}
		c->op = SL_POP_EQ;
		break;
	case T_NE:
		next(ps);
		c->op = SL_POP_NE;
		break;
	case T_LT: case T_LE: case T_GT: case T_GE:
		c->op = ps->t.type == T_LT ? SL_POP_LT : ps->t.type == T_LE ? SL_POP_LE :
			ps->t.type == T_GT ? SL_POP_GT : SL_POP_GE;
		next(ps);
		if (is_word(&ps->t, "clearance")) {
			next(ps);
			c->clearance = 1;
			c->val0 = (uint32_t)ps->n_vals;
			return 0;
		}
		break;
	case T_WORD:
		if (is_word(&ps->t, "not")) {
			next(ps);
			rc = take_kw(ps, "in", "'in'");
			if (rc)
				return rc;
			c->op = SL_POP_NOT_IN;
		} else if (is_word(&ps->t, "in")) {
			next(ps);
			c->op = SL_POP_IN;
		} else {
			goto bad_op;
		}
		rc = take(ps, T_LBRACE, "'{'");
		if (!rc)
			rc = parse_values(ps, &c->val0, &c->n_val, 0);
		return rc ? rc : take(ps, T_RBRACE, "',' or '}'");
	default:
		goto bad_op;
	}
	c->val0 = (uint32_t)ps->n_vals;
	c->n_val = 1;
	rc = take_value(ps, &v);
	return rc ? rc : push_value(ps, v);
bad_op:
	return expected(ps, "'=', '!=', 'in', 'not in', '<', '<=', '>' or '>='");
}

static int parse_conds(struct parser *ps, struct sl_pol_rule *r)
{
	int rc;

	r->cond0 = (uint32_t)ps->n_conds;
	r->n_cond = 0;
	for (;;) {
		struct sl_pol_cond c = { 0 }, *conds;

		if (r->n_cond == SL_POLICY_CONDS_MAX) {
			perr_at(ps, ps->t.line, ps->t.col, "more than %d conditions in one rule",
				SL_POLICY_CONDS_MAX);
			return -E2BIG;
		}
		rc = parse_cond(ps, &c);
		if (rc)
			return rc;
		conds = grow(ps->doc->conds, &ps->cap_conds, ps->n_conds, sizeof(c));
		if (!conds)
			return -ENOMEM;
		ps->doc->conds = conds;
		conds[ps->n_conds++] = c;
		r->n_cond++;
		if (!is_kw(&ps->t, "and"))
			return 0;
		next(ps);
	}
}

/* The optional clauses, in the grammar's order; what may still come at each point. */
static const char *const clause_kw[] = { "except", "actions", "purposes", "when" };
static const char *const clause_expect[] = {
	"'except', 'actions', 'purposes', 'when', 'policy' or the end of the text",
	"'actions', 'purposes', 'when', 'policy' or the end of the text",
	"'purposes', 'when', 'policy' or the end of the text",
	"'when', 'policy' or the end of the text",
	"'and', 'policy' or the end of the text",
};

static int parse_rule(struct parser *ps, struct sl_pol_rule *r)
{
	unsigned stage = 0;
	int rc;

	*r = (struct sl_pol_rule){ .actions = SL_POL_READ | SL_POL_STAT };
	next(ps); /* "policy" */
	r->line = ps->t.line;
	r->col = ps->t.col;
	rc = take_name(ps, "a rule name", &r->name);
	if (rc)
		return rc;
	for (size_t i = 0; i < ps->doc->n_rules; i++) {
		if (strcmp(ps->doc->rules[i].name, r->name) == 0) {
			perr_at(ps, r->line, r->col, "rule name '%s' is already used on line %u",
				r->name, ps->doc->rules[i].line);
			return -EINVAL;
		}
	}
	if (is_word(&ps->t, "deny"))
		r->deny = 1;
	else if (!is_word(&ps->t, "allow"))
		return expected(ps, "'allow' or 'deny'");
	next(ps);
	rc = take_kw(ps, "to", "'to'");
	if (!rc)
		rc = parse_subjects(ps, &r->subj0, &r->n_subj, "subject");
	while (!rc && ps->t.type != T_EOF && !is_word(&ps->t, "policy")) {
		unsigned k = stage;

		while (k < 4 && !is_word(&ps->t, clause_kw[k]))
			k++;
		if (k == 4)
			return expected(ps, clause_expect[stage]);
		next(ps);
		stage = k + 1;
		switch (k) {
		case 0: rc = parse_subjects(ps, &r->exc0, &r->n_exc, "except"); break;
		case 1: rc = parse_actions(ps, &r->actions); break;
		case 2: rc = parse_purposes(ps, r); break;
		default: rc = parse_conds(ps, r); break;
		}
	}
	return rc;
}

int sl_policy_parse(const char *text, size_t len, struct sl_policy **out, char *err, size_t err_len)
{
	struct parser ps = { .s = text, .len = len, .line = 1, .col = 1, .err = err,
			     .err_len = err_len };
	struct sl_pol_rule *rules;
	int rc = 0;

	if (err && err_len)
		err[0] = '\0';
	if (len > SL_POLICY_TEXT_MAX) {
		if (err && err_len)
			snprintf(err, err_len, "the policy text is %zu bytes, more than %d", len,
				 SL_POLICY_TEXT_MAX);
		return -E2BIG;
	}
	if (!text && len) {
		if (err && err_len)
			snprintf(err, err_len, "no policy text");
		return -EINVAL;
	}
	ps.doc = calloc(1, sizeof(*ps.doc));
	if (!ps.doc)
		return -ENOMEM;
	ps.doc->arena = malloc(2 * len + 1);
	if (!ps.doc->arena) {
		rc = -ENOMEM;
		goto out;
	}
	next(&ps);
	if (ps.t.type == T_EOF) {
		rc = expected(&ps, "'policy'");
		goto out;
	}
	while (ps.t.type != T_EOF) {
		if (!is_word(&ps.t, "policy")) {
			rc = expected(&ps, "'policy'");
			goto out;
		}
		if (ps.doc->n_rules == SL_POLICY_RULES_MAX) {
			perr_at(&ps, ps.t.line, ps.t.col, "more than %d rules in one document",
				SL_POLICY_RULES_MAX);
			rc = -E2BIG;
			goto out;
		}
		rules = grow(ps.doc->rules, &ps.cap_rules, ps.doc->n_rules, sizeof(*rules));
		if (!rules) {
			rc = -ENOMEM;
			goto out;
		}
		ps.doc->rules = rules;
		rc = parse_rule(&ps, &ps.doc->rules[ps.doc->n_rules]);
		if (rc)
			goto out;
		ps.doc->n_rules++;
	}
out:
	if (rc == -ENOMEM && err && err_len)
		snprintf(err, err_len, "out of memory");
	if (rc) {
		sl_policy_free(ps.doc);
		return rc;
	}
	*out = ps.doc;
	return 0;
}

void sl_policy_free(struct sl_policy *p)
{
	if (!p)
		return;
	free(p->conds);
	free(p->vals);
	free(p->subjs);
	free(p->rules);
	free(p->arena);
	free(p);
}

size_t sl_policy_rule_count(const struct sl_policy *p)
{
	return p ? p->n_rules : 0;
}

const char *sl_policy_rule_name(const struct sl_policy *p, size_t i)
{
	return p && i < p->n_rules ? p->rules[i].name : NULL;
}

int sl_policy_rule_denies(const struct sl_policy *p, size_t i)
{
	return p && i < p->n_rules ? p->rules[i].deny : -1;
}
