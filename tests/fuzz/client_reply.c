/*
 * Fuzz target for everything the client decodes from a server: sluice-meta's
 * Reply envelope and each response body (plans, list pages, tenant,
 * namespace and server lists, principals, audit pages) and a data server's
 * reply frame. Each input is a selector byte, a parameter byte (the plan's
 * use, or how much was asked), then the bytes as they came off the wire;
 * they go through the very unpack and check calls libsluice makes
 * (client/plan.h). Besides not crashing, whatever a check accepts must be
 * safe to use the way the client uses it: every shard's replicas resolve to
 * a listed server, the read path's shard arithmetic stays inside the plan,
 * pages hold no more than was asked, and a cleaned message holds no control
 * characters.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "frame.h"
#include "fuzz.h"
#include "plan.h"
#include "rpc.h"

enum { R_PLAN, R_LIST, R_TENANTS, R_NAMESPACES, R_SERVERS, R_PRINCIPAL, R_AUDIT, R_ENVELOPE,
       R_DATA, R_AUDIT_VERIFY, R_KINDS };

#define TEST_REQ_ID 0x1000u

/* What the read path does with a checked plan: cut ranges into shard pieces. */
static void test_plan_use(const Sluice__ObjectPlan *plan, size_t size)
{
	const Sluice__Object *o = plan->object;
	uint64_t sum = 0;

	for (size_t i = 0; i < plan->n_shards; i++) {
		const Sluice__Shard *sh = plan->shards[i];

		test_check(sh->index == i, "a shard's index is not its place", size);
		sum += sh->length;
		for (size_t r = 0; r < sh->n_servers; r++) {
			size_t at = 0;

			while (at < plan->n_servers && plan->servers[at]->id != sh->servers[r])
				at++;
			test_check(at < plan->n_servers, "a replica names an unlisted server", size);
		}
	}
	if (plan->n_shards)
		test_check(sum == o->size, "shard lengths do not add up to the size", size);
	for (uint64_t pos = 0; plan->n_shards && pos < o->size;
	     pos += o->size / 7 + 1) {
		uint64_t shard = pos / o->shard_size, in = pos % o->shard_size;

		test_check(shard < plan->n_shards, "a position beyond the last shard", size);
		test_check(in < plan->shards[shard]->length, "a position beyond its shard", size);
	}
}

static void test_plan(const uint8_t *b, size_t n, uint8_t param, size_t size)
{
	Sluice__ObjectPlan *plan = sluice__object_plan__unpack(NULL, n, b);
	enum sl_plan_use use = (enum sl_plan_use)(param % 3);
	char why[160];

	if (!plan)
		return;
	if (sl_plan_check(plan, use, why, sizeof(why)) == 0)
		test_plan_use(plan, size);
	sluice__object_plan__free_unpacked(plan, NULL);
}

static void test_text(char *msg, size_t size)
{
	sl_text_clean(msg);
	for (const uint8_t *p = (const uint8_t *)msg; *p; p++) {
		test_check(*p >= 0x20 && *p != 0x7f, "a control character survived", size);
		test_check(!(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f),
			   "a C1 control survived", size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *b = data + 2;
	size_t n = size - 2;
	uint8_t param;
	char why[160];

	if (size < 2)
		return 0;
	param = data[1];
	switch (data[0] % R_KINDS) {
	case R_PLAN:
		test_plan(b, n, param, size);
		break;
	case R_LIST: {
		Sluice__ListResp *r = sluice__list_resp__unpack(NULL, n, b);

		if (r && sl_list_check(r, param, why, sizeof(why)) == 0) {
			test_check(r->n_objects <= (param ? param : SL_PLAN_LIST_MAX),
				   "a list page longer than asked", size);
			for (size_t i = 0; i < r->n_objects; i++)
				test_check(r->objects[i]->withheld || r->objects[i]->shard_size > 0,
					   "a zero shard size", size);
		}
		if (r)
			sluice__list_resp__free_unpacked(r, NULL);
		break;
	}
	case R_TENANTS: {
		Sluice__TenantListResp *r = sluice__tenant_list_resp__unpack(NULL, n, b);

		if (r && sl_tenants_check(r, why, sizeof(why)) == 0)
			for (size_t i = 0; i < r->n_tenants; i++)
				test_check(strlen(r->tenants[i]->name) <= SL_PLAN_NAME_MAX,
					   "a tenant name too long", size);
		if (r)
			sluice__tenant_list_resp__free_unpacked(r, NULL);
		break;
	}
	case R_NAMESPACES: {
		Sluice__NsListResp *r = sluice__ns_list_resp__unpack(NULL, n, b);

		if (r)
			sl_namespaces_check(r, why, sizeof(why));
		if (r)
			sluice__ns_list_resp__free_unpacked(r, NULL);
		break;
	}
	case R_SERVERS: {
		Sluice__ServerListResp *r = sluice__server_list_resp__unpack(NULL, n, b);

		if (r && sl_servers_check(r, why, sizeof(why)) == 0)
			test_check(r->n_servers <= SL_PLAN_SERVERS_MAX, "too many servers", size);
		if (r)
			sluice__server_list_resp__free_unpacked(r, NULL);
		break;
	}
	case R_PRINCIPAL: {
		Sluice__Principal *r = sluice__principal__unpack(NULL, n, b);

		if (r && sl_principal_check(r, why, sizeof(why)) == 0)
			test_check(r->secret.len == 0 || r->secret.len == 32, "a bad secret",
				   size);
		if (r)
			sluice__principal__free_unpacked(r, NULL);
		break;
	}
	case R_AUDIT: {
		Sluice__AuditListResp *r = sluice__audit_list_resp__unpack(NULL, n, b);

		if (r && sl_audit_check(r, param, why, sizeof(why)) == 0)
			test_check(r->n_records <= (param ? param : 100u),
				   "an audit page longer than asked", size);
		if (r)
			sluice__audit_list_resp__free_unpacked(r, NULL);
		break;
	}
	case R_ENVELOPE: {
		Sluice__Reply *r = sluice__reply__unpack(NULL, n, b);

		if (r) {
			char *msg = strdup(r->msg);

			test_check(msg != NULL, "out of memory", size);
			test_text(msg, size);
			free(msg);
			/* The body of a successful reply is a plan for GRANT or STAT. */
			if (r->err == 0)
				test_plan(r->body.data, r->body.len, param, size);
			sluice__reply__free_unpacked(r, NULL);
		}
		break;
	}
	case R_AUDIT_VERIFY: {
		Sluice__AuditVerifyResp *r = sluice__audit_verify_resp__unpack(NULL, n, b);

		if (r && sl_audit_verify_check(r, param, why, sizeof(why)) == 0) {
			char *detail = strdup(r->detail);

			test_check(r->last_seq >= param, "a verify step went backwards", size);
			test_check(!r->intact || r->done, "intact before the end", size);
			test_check(detail != NULL, "out of memory", size);
			test_text(detail, size);
			free(detail);
		}
		if (r)
			sluice__audit_verify_resp__free_unpacked(r, NULL);
		break;
	}
	case R_DATA: {
		struct sl_data_answer a;
		uint32_t asked = (uint32_t)param << 12;

		if (sl_data_reply_decode(b, n, TEST_REQ_ID, asked, &a) == 0) {
			test_check(a.err <= 0 && a.err > -4096, "an error out of range", size);
			test_check(a.err || a.length <= asked, "more bytes than asked", size);
		}
		break;
	}
	}
	return 0;
}

/* Packs msg after the selector and parameter bytes. */
static size_t test_seed_msg(uint8_t kind, uint8_t param, const ProtobufCMessage *msg,
			    uint8_t *buf, size_t cap)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len + 2 > cap)
		return 0;
	buf[0] = kind;
	buf[1] = param;
	return 2 + protobuf_c_message_pack(msg, buf + 2);
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	static uint8_t cap_bytes[SL_CAP_LEN], sha[32], addr[16], inner[1024];
	static ProtobufCBinaryData caps[2];
	Sluice__ObjectPlan plan = SLUICE__OBJECT_PLAN__INIT;
	Sluice__Object o = SLUICE__OBJECT__INIT;
	Sluice__Shard sh[3], *shp[3];
	Sluice__DataServer sv[2], *svp[2];
	Sluice__Tag tag = SLUICE__TAG__INIT, *tagp = &tag;
	uint32_t reps[3][2] = { { 1, 2 }, { 2, 1 }, { 1, 2 } };

	o.ns = (char *)"data";
	o.name = (char *)"obj";
	o.size = 2 * 4096 + 10;
	o.shard_size = 4096;
	o.shard_count = 3;
	o.sha256 = (ProtobufCBinaryData){ 32, sha };
	tag.key = (char *)"classification";
	tag.value = (char *)"internal";
	o.tags = &tagp;
	o.n_tags = 1;
	for (uint32_t i = 0; i < 3; i++) {
		sluice__shard__init(&sh[i]);
		sh[i].index = i;
		sh[i].length = i < 2 ? 4096 : 10;
		sh[i].servers = reps[i];
		sh[i].n_servers = 2;
		shp[i] = &sh[i];
	}
	for (uint32_t i = 0; i < 2; i++) {
		sluice__data_server__init(&sv[i]);
		sv[i].id = i + 1;
		sv[i].fabric_addr = (ProtobufCBinaryData){ sizeof(addr), addr };
		sv[i].label = (char *)"rack1";
		sv[i].provider = (char *)"tcp;ofi_rxm";
		svp[i] = &sv[i];
	}
	plan.object = &o;
	plan.shards = shp;
	plan.n_shards = 3;
	plan.servers = svp;
	plan.n_servers = 2;
	caps[0] = caps[1] = (ProtobufCBinaryData){ sizeof(cap_bytes), cap_bytes };
	plan.server_caps = caps;
	plan.n_server_caps = 2;

	switch (n) {
	case 0:
		return test_seed_msg(R_PLAN, SL_PLAN_READ, &plan.base, buf, cap);
	case 1:
		return test_seed_msg(R_PLAN, SL_PLAN_WRITE, &plan.base, buf, cap);
	case 2: {
		Sluice__ListResp r = SLUICE__LIST_RESP__INIT;
		Sluice__Object *op = &o;

		r.objects = &op;
		r.n_objects = 1;
		r.truncated = 1;
		return test_seed_msg(R_LIST, 10, &r.base, buf, cap);
	}
	case 3: {
		Sluice__TenantListResp r = SLUICE__TENANT_LIST_RESP__INIT;
		Sluice__Tenant t = SLUICE__TENANT__INIT, *tp = &t;

		t.id = 3;
		t.name = (char *)"acme";
		r.tenants = &tp;
		r.n_tenants = 1;
		return test_seed_msg(R_TENANTS, 0, &r.base, buf, cap);
	}
	case 4: {
		Sluice__NsListResp r = SLUICE__NS_LIST_RESP__INIT;
		Sluice__Namespace ns = SLUICE__NAMESPACE__INIT, *nsp = &ns;

		ns.name = (char *)"data";
		ns.shard_size = 4096;
		ns.tags = &tagp;
		ns.n_tags = 1;
		r.namespaces = &nsp;
		r.n_namespaces = 1;
		return test_seed_msg(R_NAMESPACES, 0, &r.base, buf, cap);
	}
	case 5: {
		Sluice__ServerListResp r = SLUICE__SERVER_LIST_RESP__INIT;

		r.servers = svp;
		r.n_servers = 2;
		return test_seed_msg(R_SERVERS, 0, &r.base, buf, cap);
	}
	case 6: {
		Sluice__Principal p = SLUICE__PRINCIPAL__INIT;

		p.name = (char *)"alice";
		p.tenant_name = (char *)"acme";
		p.key_id = (char *)"SK0123456789abcdef";
		p.secret = (ProtobufCBinaryData){ 32, sha };
		return test_seed_msg(R_PRINCIPAL, 0, &p.base, buf, cap);
	}
	case 7: {
		Sluice__AuditListResp r = SLUICE__AUDIT_LIST_RESP__INIT;
		Sluice__AuditRecord a = SLUICE__AUDIT_RECORD__INIT, *ap = &a;

		a.seq = 9;
		a.event = (char *)"read.grant";
		a.purpose = (char *)"inference";
		a.object = (char *)"data/obj";
		a.decision = (char *)"allow";
		a.reason = (char *)"tags match";
		a.prev_hash = (ProtobufCBinaryData){ 32, sha };
		r.records = &ap;
		r.n_records = 1;
		r.chain_ok = 1;
		return test_seed_msg(R_AUDIT, 5, &r.base, buf, cap);
	}
	case 8: {
		Sluice__Reply r = SLUICE__REPLY__INIT;
		size_t len = sluice__object_plan__get_packed_size(&plan);

		if (len > sizeof(inner))
			return 0;
		sluice__object_plan__pack(&plan, inner);
		r.body = (ProtobufCBinaryData){ len, inner };
		r.msg = (char *)"";
		return test_seed_msg(R_ENVELOPE, SL_PLAN_STAT, &r.base, buf, cap);
	}
	case 9: {
		Sluice__Reply r = SLUICE__REPLY__INIT;

		r.err = -EACCES;
		r.msg = (char *)"access denied\n\x1b[1mallow";
		return test_seed_msg(R_ENVELOPE, 0, &r.base, buf, cap);
	}
	case 10: {
		Sluice__DataReply r = SLUICE__DATA_REPLY__INIT;
		struct sl_frame_hdr h = { .version = SL_FRAME_VERSION,
					  .type = SL_RPC_SHARD_READ | SL_RPC_REPLY,
					  .req_id = TEST_REQ_ID };
		size_t len;

		r.length = 4096;
		r.crc32c = 0xdeadbeef;
		len = sluice__data_reply__get_packed_size(&r);
		if (2 + SL_FRAME_HDR_LEN + len > cap)
			return 0;
		buf[0] = R_DATA;
		buf[1] = 1; /* 4096 bytes asked */
		h.length = (uint32_t)len;
		sl_frame_hdr_encode(&h, buf + 2);
		sluice__data_reply__pack(&r, buf + 2 + SL_FRAME_HDR_LEN);
		return 2 + SL_FRAME_HDR_LEN + len;
	}
	case 11: {
		Sluice__AuditVerifyResp r = SLUICE__AUDIT_VERIFY_RESP__INIT;

		r.done = 1;
		r.last_seq = 16;
		r.checked = 16;
		r.bad_seq = 17;
		r.problem = (char *)"changed";
		r.detail = (char *)"record 17: its predecessor was changed (prev_hash does not "
				   "match record 16)";
		return test_seed_msg(R_AUDIT_VERIFY, 3, &r.base, buf, cap);
	}
	default:
		return 0;
	}
}
