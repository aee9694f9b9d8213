/* Mount paths: "/" is the root, "/ns" a namespace, "/ns/a/b" the object "a/b". */
#include <errno.h>
#include <string.h>

#include "mount.h"

int sl_path_split(const char *path, struct sl_path *p)
{
	const char *ns = path[0] == '/' ? path + 1 : path;
	const char *slash = strchr(ns, '/');
	size_t len = slash ? (size_t)(slash - ns) : strlen(ns);

	memset(p, 0, sizeof(*p));
	if (len == 0) {
		p->root = 1;
		p->name = "";
		return 0;
	}
	/* Longer than any namespace name: it names nothing. */
	if (len >= sizeof(p->ns))
		return -ENOENT;
	memcpy(p->ns, ns, len);
	p->name = slash ? slash + 1 : "";
	return 0;
}
