/* sluice key: cluster key administration. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_key(struct cli *c)
{
	struct sluice_key_rotation kr;
	char until[32];
	int rc;

	if (c->n_args != 1 || strcmp(c->args[0], "rotate") != 0)
		return 2;
	if (cli_connect(c))
		return 1;
	rc = sluice_key_rotate(c->s, &kr);
	if (rc)
		return cli_fail(c, rc, "key rotate");
	human_time(kr.prev_until_ms, until, sizeof(until));
	if (c->json) {
		printf("{\"key_gen\":%u,\"previous_until_ms\":%llu,\"fenced\":[", kr.key_gen,
		       (unsigned long long)kr.prev_until_ms);
		for (size_t i = 0; i < kr.n_fenced; i++)
			printf("%s%u", i ? "," : "", kr.fenced[i]);
		printf("]}\n");
	} else {
		printf("capability key generation %u; generation %u is accepted until %s\n",
		       kr.key_gen, kr.key_gen - 1, until);
		for (size_t i = 0; i < kr.n_fenced; i++)
			printf("data server %u did not acknowledge: fenced until it catches up\n",
			       kr.fenced[i]);
	}
	return 0;
}
