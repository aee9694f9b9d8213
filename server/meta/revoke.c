/* Revocation watermarks pushed to the data servers; see revoke.h. */
#include "revoke.h"

#include "meta.h"

int sl_revoke_tenant(struct sl_meta *m, uint64_t tenant, uint64_t policy_epoch)
{
	(void)m;
	(void)tenant;
	(void)policy_epoch;
	return 0;
}

int sl_revoke_object(struct sl_meta *m, uint64_t tenant, uint64_t object_id, uint64_t tag_epoch)
{
	(void)m;
	(void)tenant;
	(void)object_id;
	(void)tag_epoch;
	return 0;
}
