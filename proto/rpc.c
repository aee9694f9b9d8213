/* RPC names for logs, generated from the tables in rpc.h. */
#include "rpc.h"

const char *sl_rpc_name(unsigned type)
{
	switch (type & ~SL_RPC_REPLY) {
#define SL_RPC_CASE(name, lc, num, ...)                                                                \
	case num:                                                                                  \
		return #name;
		SL_META_RPCS(SL_RPC_CASE)
		SL_DATA_RPCS(SL_RPC_CASE)
#undef SL_RPC_CASE
	}
	return "UNKNOWN";
}
