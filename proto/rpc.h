/*
 * Every RPC of Sluice, declared once. Each row: name, handler name, frame
 * type, request message, response message, their descriptor stems. The meta server's dispatch table, the client
 * stubs and the RPC names in logs all come from these tables.
 * A reply frame carries the request's type with SL_RPC_REPLY set.
 */
#ifndef SL_RPC_H
#define SL_RPC_H

#include "data.pb-c.h"
#include "sluice.pb-c.h"

#define SL_RPC_REPLY 0x8000u

/* client and data servers -> sluice-meta, over TCP, Signed -> Reply */
#define SL_META_RPCS(X)                                                                            \
	X(TENANT_CREATE, tenant_create, 1, Sluice__TenantCreateReq, Sluice__Tenant, tenant_create_req, tenant)    \
	X(TENANT_LIST, tenant_list, 2, Sluice__Empty, Sluice__TenantListResp, empty, tenant_list_resp)          \
	X(PRINCIPAL_CREATE, principal_create, 3, Sluice__PrincipalCreateReq, Sluice__Principal,                      \
	  principal_create_req, principal)                                                         \
	X(WHOAMI, whoami, 4, Sluice__Empty, Sluice__Principal, empty, principal)                           \
	X(NS_CREATE, ns_create, 5, Sluice__NsCreateReq, Sluice__Namespace, ns_create_req, namespace)          \
	X(NS_LIST, ns_list, 6, Sluice__NsListReq, Sluice__NsListResp, ns_list_req, ns_list_resp)            \
	X(PUT_BEGIN, put_begin, 7, Sluice__PutBeginReq, Sluice__ObjectPlan, put_begin_req, object_plan)       \
	X(PUT_COMMIT, put_commit, 8, Sluice__PutCommitReq, Sluice__Object, put_commit_req, object)             \
	X(STAT, stat, 9, Sluice__ObjectRef, Sluice__ObjectPlan, object_ref, object_plan)                 \
	X(LIST, list, 10, Sluice__ListReq, Sluice__ListResp, list_req, list_resp)                        \
	X(GRANT, grant, 11, Sluice__GrantReq, Sluice__ObjectPlan, grant_req, object_plan)                 \
	X(SET_TAGS, set_tags, 12, Sluice__SetTagsReq, Sluice__Object, set_tags_req, object)                  \
	X(SERVER_LIST, server_list, 13, Sluice__Empty, Sluice__ServerListResp, empty, server_list_resp)         \
	X(REGISTER, register, 14, Sluice__RegisterReq, Sluice__RegisterResp, register_req, register_resp)    \
	X(HEARTBEAT, heartbeat, 15, Sluice__HeartbeatReq, Sluice__HeartbeatResp, heartbeat_req,   \
	  heartbeat_resp)                                                                          \
	X(AUDIT_LIST, audit_list, 16, Sluice__AuditListReq, Sluice__AuditListResp, audit_list_req, \
	  audit_list_resp)                                                                         \
	X(DELETE, delete, 17, Sluice__DeleteReq, Sluice__Empty, delete_req, empty)                 \
	X(POLICY_SET, policy_set, 18, Sluice__PolicySetReq, Sluice__PolicyRecord, policy_set_req,  \
	  policy_record)                                                                           \
	X(POLICY_GET, policy_get, 19, Sluice__PolicyNameReq, Sluice__PolicyRecord, policy_name_req, \
	  policy_record)                                                                           \
	X(POLICY_LIST, policy_list, 20, Sluice__Empty, Sluice__PolicyListResp, empty,              \
	  policy_list_resp)                                                                        \
	X(POLICY_RM, policy_rm, 21, Sluice__PolicyNameReq, Sluice__PolicyRecord, policy_name_req,  \
	  policy_record)                                                                           \
	X(POLICY_EXPLAIN, policy_explain, 22, Sluice__PolicyExplainReq, Sluice__PolicyDecision,    \
	  policy_explain_req, policy_decision)                                                     \
	X(POLICY_TEST, policy_test, 23, Sluice__PolicyTestReq, Sluice__PolicyTestResp,             \
	  policy_test_req, policy_test_resp)                                                       \
	X(TAGDEF_SET, tagdef_set, 24, Sluice__TagDefSetReq, Sluice__TagDefListResp,                \
	  tag_def_set_req, tag_def_list_resp)                                                      \
	X(TAGDEF_LIST, tagdef_list, 25, Sluice__Empty, Sluice__TagDefListResp, empty,              \
	  tag_def_list_resp)                                                                       \
	X(HOLD_SET, hold_set, 26, Sluice__HoldSetReq, Sluice__Object, hold_set_req, object)        \
	X(RETAIN_SET, retain_set, 27, Sluice__RetainSetReq, Sluice__Object, retain_set_req, object) \
	X(AUDIT_VERIFY, audit_verify, 28, Sluice__AuditVerifyReq, Sluice__AuditVerifyResp,        \
	  audit_verify_req, audit_verify_resp)                                                     \
	X(WATCH, watch, 29, Sluice__WatchReq, Sluice__WatchResp, watch_req, watch_resp)            \
	X(KEY_ROTATE, key_rotate, 30, Sluice__Empty, Sluice__KeyRotateResp, empty, key_rotate_resp)

/* client -> sluice-data, over the libfabric endpoint, request -> DataReply */
#define SL_DATA_RPCS(X)                                                                            \
	X(SHARD_WRITE, shard_write, 100, Sluice__ShardWriteReq, Sluice__DataReply, shard_write_req, data_reply) \
	X(SHARD_READ, shard_read, 101, Sluice__ShardReadReq, Sluice__DataReply, shard_read_req, data_reply)

enum sl_rpc_type {
#define SL_RPC_ENUM(name, lc, num, ...) SL_RPC_##name = num,
	SL_META_RPCS(SL_RPC_ENUM) SL_DATA_RPCS(SL_RPC_ENUM)
#undef SL_RPC_ENUM
};

/* The RPC's name for logs and errors ("PUT_BEGIN"), or "UNKNOWN". */
const char *sl_rpc_name(unsigned type);

#endif
