/*
 * The client's checks on what it is answered. sluice-meta's plans, lists
 * and pages and the data servers' replies are checked here, once, as
 * strictly as a server checks a request, before anything else in the client
 * reads them: a plan's shard size divides, its lengths size buffers and its
 * indexes and server ids index arrays. A reply that fails a check is
 * -EPROTO and says why in `why`; nothing of it is used.
 *
 * No function here allocates or blocks; all are safe from any thread.
 */
#ifndef SL_PLAN_H
#define SL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "data.pb-c.h"
#include "sluice.pb-c.h"

/* What sluice-meta promises (handlers_object.c, handlers_admin.c,
 * placement.h, meta.h); a reply beyond them is not from a sane server. */
#define SL_PLAN_SHARD_SIZE_MAX (16u << 20)
#define SL_PLAN_SHARDS_MAX 16384u
#define SL_PLAN_REPLICAS_MAX 16u
#define SL_PLAN_SERVERS_MAX 256u
#define SL_PLAN_NAME_MAX 1024u   /* object names; other names are shorter */
#define SL_PLAN_TEXT_MAX 1024u   /* tag keys and values, labels, audit fields */
#define SL_PLAN_TAGS_MAX 4096u   /* tags of one object */
#define SL_PLAN_FABRIC_ADDR_MAX 64u
#define SL_PLAN_LIST_MAX 1000u   /* objects of a list page, records of an audit page */
#define SL_PLAN_NAMES_MAX 100000u /* tenants or namespaces in one list */

/* What a plan is for: each use has its own required fields. */
enum sl_plan_use {
	SL_PLAN_WRITE, /* PUT_BEGIN: capability, every shard placed, no digests yet */
	SL_PLAN_READ,  /* GRANT: capability, every shard placed, the object's SHA-256 */
	SL_PLAN_STAT,  /* STAT: no capability; shards all present or all withheld */
};

/*
 * Checks an ObjectPlan: shard_size in (0, SL_PLAN_SHARD_SIZE_MAX],
 * shard_count == ceil(size / shard_size) <= SL_PLAN_SHARDS_MAX, shard i has
 * index i and length min(shard_size, size - i * shard_size), each shard
 * names 1..SL_PLAN_REPLICAS_MAX distinct servers all listed in
 * plan->servers (ids unique, fabric addresses of a sane length),
 * capability and digests of the right lengths, strings and tags bounded.
 * Returns 0 or -EPROTO with the reason in why.
 */
int sl_plan_check(const Sluice__ObjectPlan *plan, enum sl_plan_use use, char *why,
		  size_t why_len);

/* Checks one catalog Object as lists and plans carry it. */
int sl_object_check(const Sluice__Object *o, char *why, size_t why_len);

/* A LIST page: at most `asked` objects (0: the server's default), each checked. */
int sl_list_check(const Sluice__ListResp *r, uint32_t asked, char *why, size_t why_len);
/* TENANT_LIST and NS_LIST: bounded counts and names. */
int sl_tenants_check(const Sluice__TenantListResp *r, char *why, size_t why_len);
int sl_namespaces_check(const Sluice__NsListResp *r, char *why, size_t why_len);
/* SERVER_LIST. */
int sl_servers_check(const Sluice__ServerListResp *r, char *why, size_t why_len);
/* WHOAMI and PRINCIPAL_CREATE (secret: 0 or 32 bytes). */
int sl_principal_check(const Sluice__Principal *p, char *why, size_t why_len);
/* An AUDIT_LIST page: at most `asked` records (0: 100), each bounded. */
int sl_audit_check(const Sluice__AuditListResp *r, uint32_t asked, char *why, size_t why_len);
/* One AUDIT_VERIFY step asked after after_seq: bounded text, no step backwards. */
int sl_audit_verify_check(const Sluice__AuditVerifyResp *r, uint64_t after_seq, char *why,
			  size_t why_len);

/*
 * Replaces what a terminal would act on in a message from a server (C0 and
 * C1 control characters, DEL) with '?', in place, so that a refusal's text
 * printed to a user cannot forge lines or move the cursor.
 */
void sl_text_clean(char *msg);

/* A data server's answer to one request, once decoded and checked. */
struct sl_data_answer {
	int err;         /* 0 or the server's negative errno */
	uint32_t length; /* bytes it moved, <= what was asked */
	uint32_t crc32c;
};

/*
 * Decodes a data server's reply frame (len bytes of buf) to request req_id,
 * which asked for at most `asked` bytes: 0 with *a filled, or -EPROTO when
 * the frame is malformed, answers another request, or claims more bytes
 * than were asked.
 */
int sl_data_reply_decode(const uint8_t *buf, size_t len, uint64_t req_id, uint32_t asked,
			 struct sl_data_answer *a);

#endif
