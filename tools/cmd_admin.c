/* sluice tenant | principal | ns | servers | whoami */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int print_names(struct cli *c, const char *field, char **names, size_t n)
{
	if (c->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf(i ? ",{\"%s\":" : "{\"%s\":", field);
			json_str(stdout, names[i]);
			printf("}");
		}
		printf("]\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			text_str(stdout, names[i]);
			putchar('\n');
		}
	}
	sluice_strings_free(names, n);
	return 0;
}

int cmd_tenant(struct cli *c)
{
	char **names;
	size_t n;
	uint64_t id;
	int rc;

	if (c->n_args == 2 && strcmp(c->args[0], "create") == 0) {
		if (cli_connect(c))
			return 1;
		rc = sluice_tenant_create(c->s, c->args[1], &id);
		if (rc)
			return cli_fail(c, rc, "tenant create");
		if (c->json)
			printf("{\"tenant\":\"%s\",\"id\":%llu}\n", c->args[1], (unsigned long long)id);
		else
			printf("created tenant %s\n", c->args[1]);
		return 0;
	}
	if (c->n_args == 1 && strcmp(c->args[0], "list") == 0) {
		if (cli_connect(c))
			return 1;
		rc = sluice_tenant_list(c->s, &names, &n);
		return rc ? cli_fail(c, rc, "tenant list") : print_names(c, "tenant", names, n);
	}
	return 2;
}

/* Creates a credentials file (must not exist, mode 0600) for writing. */
static FILE *credentials_create(const char *path, int *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;

	*err = 0;
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		*err = errno;
		close(fd);
		unlink(path);
	}
	return f;
}

/* The metadata address a new credentials file should name. */
static int meta_address(struct cli *c, char *out, size_t len)
{
	FILE *f;
	char line[512];

	if (c->meta) {
		snprintf(out, len, "%s", c->meta);
		return 0;
	}
	f = fopen(c->credentials, "r");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *v = line;

		if (strncmp(line, "meta", 4) != 0 || !(v = strchr(line, '=')))
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, " \t\r\n")] = '\0';
		snprintf(out, len, "%s", v);
		fclose(f);
		return 0;
	}
	fclose(f);
	return -ENOENT;
}

int cmd_principal(struct cli *c)
{
	struct sluice_principal_spec spec = { 0 };
	char key_id[24], secret[65], meta[256];
	FILE *out = NULL;
	int rc, err;

	if (c->n_args != 2 || strcmp(c->args[0], "create") != 0)
		return 2;
	if (cli_connect(c))
		return 1;
	spec.tenant = c->tenant;
	spec.name = c->args[1];
	spec.roles = c->roles;
	spec.n_roles = c->n_roles;
	spec.purposes = c->purposes;
	spec.n_purposes = c->n_purposes;
	spec.clearance = c->clearance;
	spec.rights = c->rights;
	spec.n_rights = c->n_rights;
	if (!c->n_roles)
		return cli_error("give at least one --role (admin, writer, reader)") + 1;
	/* Make sure the secret has somewhere to go before it is minted. */
	if (c->out) {
		if (meta_address(c, meta, sizeof(meta)))
			return cli_error("cannot tell the metadata address: give --meta");
		out = credentials_create(c->out, &err);
		if (!out)
			return cli_error("cannot create %s: %s", c->out, strerror(err));
	}
	rc = sluice_principal_create(c->s, &spec, key_id, secret);
	if (rc) {
		if (out) {
			fclose(out);
			unlink(c->out);
		}
		return cli_fail(c, rc, "principal create");
	}
	if (out) {
		fprintf(out, "# sluice credentials: tenant %s, principal %s\n[sluice]\nmeta = %s\n"
			     "key_id = %s\nsecret = %s\n",
			c->tenant ? c->tenant : "(own)", c->args[1], meta, key_id, secret);
		memset(secret, 0, sizeof(secret));
		/* The new principal trusts the same CA as the writer (and the file is
		 * closed whether that write worked or not). */
		if (sluice_write_ca(c->s, out) | fclose(out))
			return cli_error("writing %s failed: the principal exists, its secret is lost",
					 c->out);
		if (c->json)
			printf("{\"principal\":\"%s\",\"key_id\":\"%s\",\"credentials\":\"%s\"}\n",
			       c->args[1], key_id, c->out);
		else
			printf("created principal %s (key %s); credentials in %s\n", c->args[1],
			       key_id, c->out);
		return 0;
	}
	if (c->json)
		printf("{\"principal\":\"%s\",\"key_id\":\"%s\",\"secret\":\"%s\"}\n", c->args[1],
		       key_id, secret);
	else
		printf("created principal %s\nkey_id = %s\nsecret = %s\n"
		       "(the secret is shown once; keep it safe)\n",
		       c->args[1], key_id, secret);
	memset(secret, 0, sizeof(secret));
	return 0;
}

int cmd_ns(struct cli *c)
{
	char **names;
	size_t n;
	int rc;

	if (c->n_args == 2 && strcmp(c->args[0], "create") == 0) {
		struct sluice_ns_spec spec = { c->tenant, c->args[1], c->shard_size, c->replicas,
					       c->tags, c->n_tags };

		if (cli_connect(c))
			return 1;
		rc = sluice_ns_create(c->s, &spec);
		if (rc)
			return cli_fail(c, rc, "ns create");
		if (c->json)
			printf("{\"namespace\":\"%s\"}\n", c->args[1]);
		else
			printf("created namespace %s\n", c->args[1]);
		return 0;
	}
	if (c->n_args == 1 && strcmp(c->args[0], "list") == 0) {
		if (cli_connect(c))
			return 1;
		rc = sluice_ns_list(c->s, c->tenant, &names, &n);
		return rc ? cli_fail(c, rc, "ns list") : print_names(c, "namespace", names, n);
	}
	return 2;
}

static int by_id(const void *a, const void *b)
{
	uint32_t x = ((const struct sluice_server_info *)a)->id;
	uint32_t y = ((const struct sluice_server_info *)b)->id;

	return x < y ? -1 : x > y;
}

int cmd_servers(struct cli *c)
{
	struct sluice_server_info *list;
	size_t n;
	char when[32];
	int rc;

	if (c->n_args)
		return 2;
	if (cli_connect(c))
		return 1;
	rc = sluice_servers(c->s, &list, &n);
	if (rc)
		return cli_fail(c, rc, "servers");
	qsort(list, n, sizeof(*list), by_id);
	if (c->json)
		printf("[");
	else
		printf("%-10s %-6s %-16s %s\n", "ID", "STATE", "LABEL", "LAST HEARTBEAT");
	for (size_t i = 0; i < n; i++) {
		human_time(list[i].last_heartbeat_ms, when, sizeof(when));
		if (c->json) {
			printf("%s{\"id\":%u,\"up\":%s,\"label\":", i ? "," : "", list[i].id,
			       list[i].up ? "true" : "false");
			json_str(stdout, list[i].label);
			printf(",\"provider\":");
			json_str(stdout, list[i].provider);
			printf(",\"last_heartbeat_ms\":%llu}",
			       (unsigned long long)list[i].last_heartbeat_ms);
		} else {
			char label[256];

			printf("%-10u %-6s %-16s %s\n", list[i].id, list[i].up ? "up" : "down",
			       cli_escape(list[i].label, 0, label, sizeof(label)),
			       list[i].last_heartbeat_ms ? when : "never");
		}
	}
	if (c->json)
		printf("]\n");
	sluice_servers_free(list, n);
	return 0;
}

int cmd_whoami(struct cli *c)
{
	char *tenant, *principal;
	int rc;

	if (c->n_args)
		return 2;
	if (cli_connect(c))
		return 1;
	rc = sluice_whoami(c->s, &tenant, &principal);
	if (rc)
		return cli_fail(c, rc, "whoami");
	if (c->json) {
		printf("{\"tenant\":");
		json_str(stdout, tenant);
		printf(",\"principal\":");
		json_str(stdout, principal);
		printf("}\n");
	} else {
		fputs("principal ", stdout);
		text_str(stdout, principal);
		fputs(" of tenant ", stdout);
		text_str(stdout, tenant);
		putchar('\n');
	}
	free(tenant);
	free(principal);
	return 0;
}
