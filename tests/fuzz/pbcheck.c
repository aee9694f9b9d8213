/*
 * Fuzz target for the NUL-in-a-string check (proto/pbcheck.h) that
 * sluice-meta runs over every request body before unpacking it. Besides not
 * crashing or reading outside the input, it must answer 0, -EINVAL or
 * -EPROTO; -EINVAL only for an input that holds a NUL byte; -EPROTO only for
 * bytes protobuf-c refuses to unpack too (so it never turns away a request
 * the handlers would have taken). Run over ObjectRef and PutBeginReq, whose
 * strings are names and tags, PutBeginReq's inside repeated sub-messages.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "pbcheck.h"
#include "sluice.pb-c.h"

static void test_object_ref(const uint8_t *data, size_t size)
{
	int rc = sl_pb_strings_check(&sluice__object_ref__descriptor, data, size);
	Sluice__ObjectRef *m = sluice__object_ref__unpack(NULL, size, data);

	test_check(rc == 0 || rc == -EINVAL || rc == -EPROTO, "undocumented error", size);
	test_check(rc != -EINVAL || memchr(data, 0, size), "a NUL reported where none is", size);
	test_check(rc != -EPROTO || !m, "refused bytes protobuf-c unpacks", size);
	if (m)
		sluice__object_ref__free_unpacked(m, NULL);
}

static void test_put_begin(const uint8_t *data, size_t size)
{
	int rc = sl_pb_strings_check(&sluice__put_begin_req__descriptor, data, size);
	Sluice__PutBeginReq *m = sluice__put_begin_req__unpack(NULL, size, data);

	test_check(rc == 0 || rc == -EINVAL || rc == -EPROTO, "undocumented error", size);
	test_check(rc != -EINVAL || memchr(data, 0, size), "a NUL reported where none is", size);
	test_check(rc != -EPROTO || !m, "refused bytes protobuf-c unpacks", size);
	if (m)
		sluice__put_begin_req__free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	test_object_ref(data, size);
	test_put_begin(data, size);
	return 0;
}

size_t test_fuzz_seed(unsigned n, uint8_t *buf, size_t cap)
{
	Sluice__Tag tag = SLUICE__TAG__INIT, *tags[] = { &tag };
	Sluice__PutBeginReq put = SLUICE__PUT_BEGIN_REQ__INIT;
	Sluice__ObjectRef ref = SLUICE__OBJECT_REF__INIT;
	size_t len;

	switch (n) {
	case 0:
		ref.ns = (char *)"data";
		ref.name = (char *)"a/b.txt";
		ref.purpose = (char *)"inference";
		len = sluice__object_ref__get_packed_size(&ref);
		if (len > cap)
			return 0;
		return sluice__object_ref__pack(&ref, buf);
	case 1:
		tag.key = (char *)"classification";
		tag.value = (char *)"internal";
		put.ns = (char *)"data";
		put.name = (char *)"x";
		put.size = 12345;
		put.n_tags = 1;
		put.tags = tags;
		put.fabric_addr = (ProtobufCBinaryData){ 4, (uint8_t *)"\0\1\2\3" };
		len = sluice__put_begin_req__get_packed_size(&put);
		if (len > cap)
			return 0;
		return sluice__put_begin_req__pack(&put, buf);
	default:
		return 0;
	}
}
