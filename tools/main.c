/*
 * sluice: the command-line tool for tenants, principals, namespaces, ingest,
 * listing, reading, tagging and deleting. Options may come before or after the command
 * words; every command has --help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(struct cli *c);
	const char *usage;
};

static const struct command commands[] = {
	{ "tenant", cmd_tenant,
	  "sluice tenant create NAME\n"
	  "sluice tenant list\n\n"
	  "Create or list tenants (needs a cluster admin: the system tenant's admin)." },
	{ "principal", cmd_principal,
	  "sluice principal create NAME [--tenant T] [--role R]... [--purpose P]...\n"
	  "                             [--clearance C] [--right R]... [--out FILE]\n\n"
	  "Create a user or service and its key. Roles: admin, writer, reader, or any\n"
	  "name the tenant's policies refer to (role:researcher); reading needs one of\n"
	  "the first three besides what the policies allow.\n"
	  "Purposes are what its reads may declare (inference, training, ...).\n"
	  "Clearance is the highest classification it may read: public, internal,\n"
	  "confidential, restricted (default internal). Rights add to what the roles\n"
	  "allow (admin: assign, declassify; writer: assign): assign (set tags),\n"
	  "declassify (lower or remove a governed tag), bypass (delete under\n"
	  "governance-mode retention); an admin gives only rights it holds.\n"
	  "--out writes a credentials file (mode 0600) instead of printing the secret." },
	{ "ns", cmd_ns,
	  "sluice ns create NAME [--tenant T] [--shard-size BYTES] [--replicas N] [--tag K=V]...\n"
	  "sluice ns list [--tenant T]\n\n"
	  "Create or list namespaces. Tags given here are inherited by every object in\n"
	  "the namespace; an object may override an ordered one (classification, pii)\n"
	  "only toward more sensitive. An object with no classification gets internal." },
	{ "put", cmd_put,
	  "sluice put SOURCE NS[/NAME] [--tag K=V]... [--jobs N] [--progress | --no-progress]\n\n"
	  "Ingest a file as NS/NAME, or a folder recursively as NS/NAME/<relative path>,\n"
	  "N files at a time (default 4). An object becomes visible only once every\n"
	  "replica of every shard is on disk. Each object's provenance records the\n"
	  "local path as given (its source), who put it, when and its tags." },
	{ "get", cmd_get,
	  "sluice get NS/NAME [-o FILE] [--mode OCTAL] [--offset N] [--length N] [--purpose P]\n\n"
	  "Read an object (to stdout without -o). The read is granted for the declared\n"
	  "purpose and checked against the object's tags. A whole-object read checks\n"
	  "the SHA-256 end to end; every read checks each 64 KiB block it is served\n"
	  "against the shard digests the catalog holds.\n"
	  "-o FILE is replaced only when the read succeeds; a file it creates gets\n"
	  "mode 0600 (--mode OCTAL, e.g. 0640, before the umask)." },
	{ "ls", cmd_ls,
	  "sluice ls NS[/PREFIX] [--limit N] [--json]\n\n"
	  "List objects whose names start with PREFIX." },
	{ "stat", cmd_stat,
	  "sluice stat NS/NAME [--json]\n\n"
	  "Size, checksum, tags, retention, legal hold, provenance (who put it, from\n"
	  "which source, when, with which tags), shards and the data servers holding them." },
	{ "tag", cmd_tag,
	  "sluice tag NS/NAME K=V... [--remove KEY]...\n\n"
	  "Set or remove tags. Values of governed keys come from the tenant's dictionary\n"
	  "(sluice tagdef list). Setting needs the assign right (writer, admin); lowering\n"
	  "an ordered key (classification, pii) or removing a governed one needs the\n"
	  "declassify right (admin) and clearance for the object's classification; no\n"
	  "right takes an object below its namespace's value. Every change is audited\n"
	  "(old -> new) and revokes the capabilities granted before it." },
	{ "rm", cmd_rm,
	  "sluice rm NS/NAME... [--json]\n\n"
	  "Delete objects. Each name is tried in turn; a failure is reported on its own\n"
	  "line and the others are still deleted; exits 1 if any failed. The data\n"
	  "servers delete the shard files within a few heartbeats. Needs the writer role.\n"
	  "Refused (and audited) while the object is under a legal hold, or retained:\n"
	  "in compliance mode always, in governance mode unless you hold the bypass right." },
	{ "hold", cmd_hold,
	  "sluice hold set NS/NAME [--json]\n"
	  "sluice hold clear NS/NAME [--json]\n\n"
	  "Set or clear a legal hold: while it is set nobody can delete the object,\n"
	  "whatever their rights. Needs the admin role; every change is audited." },
	{ "retain", cmd_retain,
	  "sluice retain NS/NAME --until DATE --mode governance|compliance [--json]\n"
	  "sluice retain NS/NAME --mode none [--json]\n\n"
	  "Keep an object from deletion until DATE (UTC: YYYY-MM-DD or\n"
	  "YYYY-MM-DDTHH:MM:SSZ; in the future, at most 100 years ahead). Needs the\n"
	  "writer or admin role. Extending is always allowed. Governance mode: deleting,\n"
	  "shortening or removing (--mode none) needs the bypass right. Compliance mode:\n"
	  "nobody deletes, shortens, removes or switches it to governance before DATE.\n"
	  "Every change is audited as old -> new." },
	{ "servers", cmd_servers, "sluice servers [--json]\n\nData servers and whether they are up." },
	{ "whoami", cmd_whoami, "sluice whoami [--json]\n\nThe tenant and principal of the credentials." },
	{ "key", cmd_key,
	  "sluice key rotate [--json]\n\n"
	  "Start a new capability key generation (cluster admin). Every data server\n"
	  "accepts it before sluice-meta mints with it; capabilities of the previous\n"
	  "generation keep working for sluice-meta's key-grace-s (330 s by default),\n"
	  "then are refused. A data server that does not acknowledge within 750 ms is\n"
	  "fenced: no reads are granted from it until it catches up. Audited as\n"
	  "key.rotate in the system tenant's log." },
	{ "audit", cmd_audit,
	  "sluice audit [--tenant T] [--after SEQ] [--limit N] [--json]\n"
	  "             [--principal P] [--object NS/NAME] [--decision allow|deny|done|partial]\n"
	  "             [--since DATE] [--until DATE]\n"
	  "sluice audit verify [--tenant T] [--json]\n\n"
	  "The audit log: every read decision (allowed and denied, with the rule that\n"
	  "decided), every put, tag change, delete, creation, abandoned ingest and\n"
	  "refused authentication. Each tenant has its own log; cluster admins may name\n"
	  "one with --tenant. Also checks the hash chain of the records read and the\n"
	  "signed head of the log; exits 1 when either is broken. Needs the admin role.\n"
	  "Filters are applied by sluice-meta; DATE is YYYY-MM-DD or\n"
	  "YYYY-MM-DDTHH:MM:SSZ (UTC), or an age: 30m, 1h, 2d (--since 1h: the last hour).\n"
	  "verify walks the whole log from record 1 and names the first broken record:\n"
	  "deleted, edited, reordered, or a cut tail; exits 0 intact, 1 broken." },
	{ "policy", cmd_policy,
	  "sluice policy set NAME FILE|-\n"
	  "sluice policy get NAME [--json]\n"
	  "sluice policy list [--json]\n"
	  "sluice policy rm NAME\n"
	  "sluice policy explain NS/NAME [--as PRINCIPAL] [--purpose P] [--action read|stat] [--json]\n"
	  "sluice policy test FILE|- [NAME] [--json]\n\n"
	  "The tenant's access policies, which decide every read (action read) and every\n"
	  "stat and listing entry (action stat). A document holds rules like\n"
	  "  policy train allow to role:researcher except user:intern-7\n"
	  "    actions read,stat purposes training\n"
	  "    when classification in {public,internal} and pii in {none,pseudonymous}\n"
	  "  policy no-direct-pii deny to role:* actions read purposes inference when pii = direct\n"
	  "Any matching deny wins, then any matching allow; otherwise the read is denied.\n"
	  "A tenant starts with one policy, clearance (allow to role:* actions read,stat\n"
	  "when classification <= clearance); with no policies left every read is denied.\n"
	  "set stores FILE (- for stdin, at most 16 KiB) as policy NAME with the next\n"
	  "version, after checking it parses and uses only the tag dictionary's keys and\n"
	  "values. explain shows which policy and rule decide PRINCIPAL's (default: you)\n"
	  "read of an object for a purpose, and exits 0 when allowed, 1 when denied (or on\n"
	  "an error). test shows the decisions over the tenant's first 1,000 objects and\n"
	  "its principals that FILE, stored as NAME (default: its first rule's name),\n"
	  "would change; it stores nothing. Every change is audited and revokes the\n"
	  "capabilities granted before it. Needs the admin role." },
	{ "tagdef", cmd_tagdef,
	  "sluice tagdef set KEY [--values V1,V2,...] [--ordered] [--mandatory]\n"
	  "sluice tagdef rm KEY\n"
	  "sluice tagdef list [--json]\n\n"
	  "The tenant's tag dictionary: the governed tag keys and the values each takes\n"
	  "(no --values: any value). --ordered lists the values from least to most\n"
	  "sensitive (lowering one needs the declassify right, and policies may compare\n"
	  "them with < <= > >=); --mandatory makes reads of objects without the key fail\n"
	  "closed. set replaces the key's whole definition. The built-in dictionary:\n"
	  "classification public<internal<confidential<restricted (mandatory), pii\n"
	  "none<pseudonymous<direct, and license, region, retention with any value.\n"
	  "Removing a value or key objects still carry is allowed: reads of them, and\n"
	  "policies naming it, are then denied. set and rm need the admin role and are\n"
	  "audited (old -> new)." },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice [options] COMMAND [arguments]\n\n"
		"Commands:\n"
		"  tenant create|list      manage tenants (cluster admin)\n"
		"  principal create        create a user or service and its key\n"
		"  ns create|list          manage namespaces\n"
		"  put SOURCE NS[/NAME]    ingest a file or a folder, with --tag K=V\n"
		"  get NS/NAME             read an object to stdout or -o FILE\n"
		"  ls NS[/PREFIX]          list objects\n"
		"  stat NS/NAME            show an object, its tags and its shards\n"
		"  tag NS/NAME K=V...      change tags\n"
		"  rm NS/NAME...           delete objects\n"
		"  hold set|clear NS/NAME  set or clear a legal hold (admin)\n"
		"  retain NS/NAME          keep an object until --until DATE, --mode M\n"
		"  servers                 list data servers\n"
		"  whoami                  show who the credentials are\n"
		"  key rotate              start a new capability key generation (cluster admin)\n"
		"  audit [verify]          read, filter and check the audit log (admin)\n"
		"  policy set|get|list|rm|explain|test  access policies (admin)\n"
		"  tagdef set|rm|list      the tag dictionary\n\n"
		"Options:\n"
		"  -c, --credentials FILE  credentials file ($SLUICE_CREDENTIALS)\n"
		"  -m, --meta HOST:PORT    metadata server ($SLUICE_META; default: from the file)\n"
		"  -p, --purpose P         purpose declared for reads ($SLUICE_PURPOSE; default inference)\n"
		"      --json              machine-readable output\n"
		"  -h, --help              help; 'sluice COMMAND --help' for a command\n");
}

int cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_fail(struct cli *c, int rc, const char *what)
{
	const char *msg = c->s ? sluice_last_error(c->s) : "";

	return cli_error("%s: %s", what, msg && msg[0] ? msg : strerror(-rc));
}

int cli_connect(struct cli *c)
{
	int rc;

	if (!c->credentials)
		return cli_error("no credentials: give --credentials FILE or set SLUICE_CREDENTIALS");
	rc = sluice_open_file(c->credentials, c->meta, c->purpose, &c->s);
	if (rc == -ENOENT)
		return cli_error("cannot read credentials file %s", c->credentials);
	if (rc)
		return cli_error("bad credentials file %s (needs [sluice] meta, key_id, secret)",
				 c->credentials);
	return 0;
}

int cli_split(const char *arg, char *ns, size_t ns_len, const char **name, int allow_empty)
{
	const char *slash = strchr(arg, '/');
	size_t n = slash ? (size_t)(slash - arg) : strlen(arg);

	if (n == 0 || n >= ns_len)
		return -EINVAL;
	memcpy(ns, arg, n);
	ns[n] = '\0';
	*name = slash ? slash + 1 : "";
	if (!allow_empty && !**name)
		return -EINVAL;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

/* Permission bits in octal, no set-id or sticky bits: "640", "0640". */
static int parse_mode(const char *s, unsigned *out)
{
	unsigned v = 0;

	if (!s[0] || strlen(s) > 4)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		v = v * 8 + (unsigned)(*p - '0');
	}
	if (v > 0777)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_tag(struct cli *c, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return cli_error("malformed tag '%s': use KEY=VALUE", arg) + 1;
	if (c->n_tags == SL_CLI_MAX_TAGS)
		return cli_error("too many tags") + 1;
	*eq = '\0';
	c->tags[c->n_tags++] = (struct sluice_tag){ arg, eq + 1 };
	return 0;
}

static int add_list(const char **list, size_t *n, const char *v)
{
	if (*n == SL_CLI_MAX_LIST)
		return cli_error("too many values") + 1;
	list[(*n)++] = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_JSON = 256, O_TENANT, O_ROLE, O_PURPOSES, O_CLEARANCE, O_SHARD, O_REPL, O_TAG,
	       O_REMOVE, O_LIMIT, O_OFFSET, O_LENGTH, O_PROGRESS, O_NOPROGRESS, O_JOBS, O_AFTER, O_MODE, O_RIGHT,
	       O_AS, O_ACTION, O_UNTIL, O_SINCE, O_PRINCIPAL, O_OBJECT, O_DECISION,
	       O_VALUES, O_ORDERED, O_MANDATORY };
	static const struct option opts[] = {
		{ "credentials", required_argument, 0, 'c' },
		{ "meta", required_argument, 0, 'm' },
		{ "purpose", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },
		{ "json", no_argument, 0, O_JSON },
		{ "tenant", required_argument, 0, O_TENANT },
		{ "role", required_argument, 0, O_ROLE },
		{ "allow-purpose", required_argument, 0, O_PURPOSES },
		{ "clearance", required_argument, 0, O_CLEARANCE },
		{ "shard-size", required_argument, 0, O_SHARD },
		{ "replicas", required_argument, 0, O_REPL },
		{ "tag", required_argument, 0, O_TAG },
		{ "remove", required_argument, 0, O_REMOVE },
		{ "limit", required_argument, 0, O_LIMIT },
		{ "offset", required_argument, 0, O_OFFSET },
		{ "length", required_argument, 0, O_LENGTH },
		{ "out", required_argument, 0, 'o' },
		{ "progress", no_argument, 0, O_PROGRESS },
		{ "no-progress", no_argument, 0, O_NOPROGRESS },
		{ "jobs", required_argument, 0, O_JOBS },
		{ "after", required_argument, 0, O_AFTER },
		{ "mode", required_argument, 0, O_MODE },
		{ "right", required_argument, 0, O_RIGHT },
		{ "as", required_argument, 0, O_AS },
		{ "action", required_argument, 0, O_ACTION },
		{ "until", required_argument, 0, O_UNTIL },
		{ "since", required_argument, 0, O_SINCE },
		{ "principal", required_argument, 0, O_PRINCIPAL },
		{ "object", required_argument, 0, O_OBJECT },
		{ "decision", required_argument, 0, O_DECISION },
		{ "values", required_argument, 0, O_VALUES },
		{ "ordered", no_argument, 0, O_ORDERED },
		{ "mandatory", no_argument, 0, O_MANDATORY },
		{ 0, 0, 0, 0 },
	};
	struct cli c = { 0 };
	const struct command *cmd = NULL;
	int help = 0, opt, rc, purpose_given = 0;
	uint64_t v;

	c.credentials = getenv("SLUICE_CREDENTIALS");
	c.meta = getenv("SLUICE_META");
	c.purpose = getenv("SLUICE_PURPOSE") ? getenv("SLUICE_PURPOSE") : "inference";
	c.progress = -1;
	c.jobs = 4;
	/* Objects may be restricted: what get writes is its owner's alone unless asked. */
	c.mode = 0600;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:m:p:o:h", opts, NULL)) != -1 || optind < argc) {
		if (opt == -1) {
			/* A positional: keep it and go on parsing after it. */
			argv[c.n_args++] = argv[optind++];
			continue;
		}
		rc = 0;
		switch (opt) {
		case 'c': c.credentials = optarg; break;
		case 'm': c.meta = optarg; break;
		case 'p':
			/* For 'principal create' --purpose lists allowed purposes. */
			purpose_given = 1;
			c.purpose = optarg;
			rc = add_list(c.purposes, &c.n_purposes, optarg);
			break;
		case 'o': c.out = optarg; break;
		case 'h': help = 1; break;
		case O_JSON: c.json = 1; break;
		case O_TENANT: c.tenant = optarg; break;
		case O_ROLE: rc = add_list(c.roles, &c.n_roles, optarg); break;
		case O_PURPOSES: rc = add_list(c.purposes, &c.n_purposes, optarg); break;
		case O_CLEARANCE: c.clearance = optarg; break;
		case O_TAG: rc = parse_tag(&c, optarg); break;
		case O_REMOVE: rc = add_list(c.remove, &c.n_remove, optarg); break;
		case O_PROGRESS: c.progress = 1; break;
		case O_NOPROGRESS: c.progress = 0; break;
		case O_JOBS:
			if (parse_u64(optarg, &v) || v < 1 || v > SL_CLI_MAX_JOBS) {
				cli_error("--jobs takes 1 to %d", SL_CLI_MAX_JOBS);
				return 2;
			}
			c.jobs = (int)v;
			break;
		case O_MODE:
			c.mode_arg = optarg;
			c.mode_bad = parse_mode(optarg, &c.mode) != 0;
			break;
		case O_RIGHT: rc = add_list(c.rights, &c.n_rights, optarg); break;
		case O_AS: c.as = optarg; break;
		case O_ACTION: c.action = optarg; break;
		case O_UNTIL: c.until = optarg; break;
		case O_SINCE: c.since = optarg; break;
		case O_PRINCIPAL: c.principal = optarg; break;
		case O_OBJECT: c.object = optarg; break;
		case O_DECISION: c.decision = optarg; break;
		case O_VALUES: c.values = optarg; break;
		case O_ORDERED: c.ordered = 1; break;
		case O_MANDATORY: c.mandatory = 1; break;
		case O_SHARD: case O_REPL: case O_LIMIT: case O_OFFSET: case O_LENGTH: case O_AFTER:
			if (parse_u64(optarg, &v) || ((opt == O_SHARD || opt == O_REPL ||
						       opt == O_LIMIT) && v > UINT32_MAX)) {
				cli_error("bad number '%s'", optarg);
				return 2;
			}
			if (opt == O_SHARD) c.shard_size = (uint32_t)v;
			if (opt == O_REPL) c.replicas = (uint32_t)v;
			if (opt == O_LIMIT) c.limit = (uint32_t)v;
			if (opt == O_OFFSET) { c.offset = v; c.have_range = 1; }
			if (opt == O_LENGTH) { c.length = v; c.have_range |= 2; }
			if (opt == O_AFTER) c.after = v;
			break;
		default:
			cli_error("unknown option '%s' (see sluice --help)", argv[optind - 1]);
			return 2;
		}
		if (rc)
			return 2;
	}
	(void)purpose_given;
	c.args = argv;
	if (c.n_args == 0) {
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, c.args[0]) == 0)
			cmd = &commands[i];
	if (!cmd) {
		cli_error("unknown command '%s' (see sluice --help)", c.args[0]);
		return 2;
	}
	if (help) {
		printf("usage: %s\n", cmd->usage);
		return 0;
	}
	c.args++;
	c.n_args--;
	rc = cmd->fn(&c);
	if (rc == 2)
		fprintf(stderr, "usage: %s\n", cmd->usage);
	if (c.s)
		sluice_close(c.s);
	return rc;
}
