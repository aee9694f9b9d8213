/*
 * The smallest useful libsluice program: open a session from a credentials
 * file, store a buffer with tags, stat it, list its namespace, and read a
 * byte range back into a buffer of our own.
 *
 *   sluice-example CREDENTIALS NAMESPACE
 *
 * Build against an installed libsluice with:
 *   cc example.c $(pkg-config --cflags --libs sluice)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sluice.h>

int main(int argc, char **argv)
{
	static const char text[] = "Sluice feeds inference clusters governed bytes.";
	const struct sluice_tag tags[] = { { "classification", "internal" }, { "source", "example" } };
	struct sluice_object *obj = NULL, **list = NULL;
	sluice_session *s = NULL;
	char part[8] = { 0 };
	size_t n = 0, got = 0;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CREDENTIALS NAMESPACE\n", argv[0]);
		return 2;
	}
	rc = sluice_open_file(argv[1], NULL, "inference", &s);
	if (rc) {
		fprintf(stderr, "cannot open a session with %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	rc = sluice_put(s, argv[2], "example/hello.txt", text, strlen(text), tags, 2);
	if (rc && rc != -EEXIST)
		goto fail;
	rc = sluice_stat(s, argv[2], "example/hello.txt", &obj);
	if (rc)
		goto fail;
	printf("stored %s/%s: %llu bytes in %u shard(s), sha256 %s\n", obj->ns, obj->name,
	       (unsigned long long)obj->size, obj->shard_count, obj->sha256);
	sluice_object_free(obj);

	rc = sluice_list(s, argv[2], "example/", NULL, 0, &list, &n, NULL);
	if (rc)
		goto fail;
	printf("%zu object(s) under example/\n", n);
	sluice_list_free(list, n);

	/* Bytes 7..13: "feeds i" */
	rc = sluice_read(s, argv[2], "example/hello.txt", 7, part, 7, &got);
	if (rc)
		goto fail;
	printf("read %zu bytes at offset 7: \"%s\"\n", got, part);
	sluice_close(s);
	return memcmp(part, text + 7, 7) == 0 ? 0 : 1;
fail:
	fprintf(stderr, "error: %s\n", sluice_last_error(s));
	sluice_close(s);
	return 1;
}
