/*
 * The in-memory form of a parsed policy document, shared by the parser
 * (policy_parse.c) and the dictionary check and decision (policy.c) only.
 *
 * A document owns five blocks: the string arena (every name and value,
 * NUL-terminated), the rules, and the subjects, values and conditions they
 * refer to by index. Indices rather than pointers, so the blocks may grow
 * while parsing; nothing changes after sl_policy_parse returns, which is what
 * makes a document safe to share between threads.
 */
#ifndef SL_POLICY_INT_H
#define SL_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum sl_pol_subj_kind {
	SL_PSUBJ_ANY,  /* "*" */
	SL_PSUBJ_ROLE, /* role:NAME, role:* */
	SL_PSUBJ_NAME, /* user:, service:, principal: all name the principal */
};

struct sl_pol_subj {
	unsigned kind;
	const char *name; /* NULL: "*" after the colon */
};

enum sl_pol_op {
	SL_POP_EQ,
	SL_POP_NE,
	SL_POP_IN, /* also KEY = (A or B) */
	SL_POP_NOT_IN,
	SL_POP_LT,
	SL_POP_LE,
	SL_POP_GT,
	SL_POP_GE,
};

struct sl_pol_cond {
	const char *key;
	unsigned op;
	int clearance;	/* the right side is the principal's clearance (no values) */
	uint32_t val0;	/* first value in sl_policy.vals */
	uint32_t n_val; /* 1 for EQ, NE and the order operators without clearance */
	unsigned line, col;
};

struct sl_pol_rule {
	const char *name;
	int deny;
	unsigned actions; /* SL_POL_READ | SL_POL_STAT */
	uint32_t subj0, n_subj;
	uint32_t exc0, n_exc;	    /* in sl_policy.subjs too */
	uint32_t purp0, n_purp;	    /* in sl_policy.vals; 0: any purpose */
	uint32_t cond0, n_cond;
	unsigned line, col;
};

struct sl_policy {
	char *arena;
	struct sl_pol_rule *rules;
	size_t n_rules;
	struct sl_pol_subj *subjs;
	const char **vals;
	struct sl_pol_cond *conds;
};

#endif
