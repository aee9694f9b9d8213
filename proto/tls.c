/* TLS 1.3 contexts and deadline-bounded TLS connections; see tls.h. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

/* The first byte of a TLS record carrying a handshake message (a ClientHello). */
#define SL_TLS_HANDSHAKE_RECORD 0x16

int sl_tls_server_ctx(const char *cert_file, const char *key_file, struct ssl_ctx_st **out,
		      char *err, size_t err_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *why = "out of memory";
	int rc = -EINVAL;

	*out = NULL;
	if (!ctx)
		goto fail;
	why = "TLS 1.3 is not available";
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	why = "cannot read the certificate chain";
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		goto fail;
	why = "cannot read the private key";
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
		goto fail;
	why = "the private key does not match the certificate";
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	/* No resumption: every connection authenticates afresh, and tickets
	 * would only cost bytes and a write the client may never read. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* Frames carry their length: a close without close_notify truncates
	 * nothing, and it must read as a closed connection (-ECONNRESET). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	*out = ctx;
	ERR_clear_error();
	return 0;
fail:
	snprintf(err, err_len, "%s (%s, %s)", why, cert_file, key_file);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int sl_tls_client_ctx(const uint8_t *ca_der, size_t ca_len, struct ssl_ctx_st **out)
{
	const unsigned char *p = ca_der;
	X509 *ca = ca_len <= 65536 ? d2i_X509(NULL, &p, (long)ca_len) : NULL;
	SSL_CTX *ctx = NULL;
	int rc = -EINVAL;

	*out = NULL;
	if (!ca || p != ca_der + ca_len)
		goto out;
	rc = -ENOMEM;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto out;
	rc = -EINVAL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	*out = ctx;
	ctx = NULL;
	rc = 0;
out:
	SSL_CTX_free(ctx);
	X509_free(ca);
	ERR_clear_error();
	return rc;
}

void sl_tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

int sl_tls_ca_load_file(const char *path, uint8_t **der, size_t *len)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;
	unsigned char *buf = NULL;
	int n, rc = -EINVAL;

	*der = NULL;
	*len = 0;
	if (!f)
		return -ENOENT;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (!x) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	if (!x)
		goto out;
	n = i2d_X509(x, &buf);
	if (n <= 0)
		goto out;
	*der = malloc((size_t)n);
	rc = -ENOMEM;
	if (!*der)
		goto out;
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(buf);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int sl_tls_ca_decode(const char *b64, uint8_t **der, size_t *len)
{
	size_t in = strlen(b64), pad = 0;
	uint8_t *out;
	int n;

	*der = NULL;
	*len = 0;
	if (in == 0 || in % 4 || in > 65536)
		return -EINVAL;
	out = malloc(in / 4 * 3);
	if (!out)
		return -ENOMEM;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)in);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	pad = (b64[in - 1] == '=') + (b64[in - 2] == '=');
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return -EINVAL;
	}
	*der = out;
	*len = (size_t)n - pad;
	return 0;
}

int sl_tls_ca_entry_write(FILE *f, const uint8_t *der, size_t len)
{
	size_t b64_len = 4 * ((len + 2) / 3);
	char *b64 = malloc(b64_len + 1);
	int rc = -EIO;

	if (!b64)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	if (fprintf(f, "# the cluster CA (base64 DER) that the metadata server's certificate "
		       "must chain to\nca =") < 0)
		goto out;
	for (size_t at = 0; at < b64_len; at += 64)
		if (fprintf(f, "%s%.*s\n", at ? "     " : " ", (int)(b64_len - at < 64 ? b64_len - at : 64),
			    b64 + at) < 0)
			goto out;
	rc = 0;
out:
	free(b64);
	return rc;
}

/* After an SSL call failed: waits for what it wants, or maps the error. */
static int tls_wait(struct sl_conn *c, int ret, uint64_t deadline_ms)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return sl_fd_wait(c->fd, POLLIN, deadline_ms);
	case SSL_ERROR_WANT_WRITE:
		return sl_fd_wait(c->fd, POLLOUT, deadline_ms);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno && errno != EAGAIN ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

/*
 * The socket BIO: OpenSSL's own writes with write(2), which raises SIGPIPE
 * in a client program when the server has gone; ours sends with
 * MSG_NOSIGNAL. The fd lives in the BIO's data pointer.
 */
static int bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int len)
{
	ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	ssize_t n = recv(bio_fd(b), buf, (size_t)len, MSG_DONTWAIT);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH;
}

static int conn_new(struct sl_conn *c, struct ssl_ctx_st *ctx, int fd)
{
	BIO *bio;

	c->fd = fd;
	/* A method per connection: a shared one would be a mutable global. */
	c->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice socket");
	if (!c->meth || !BIO_meth_set_write(c->meth, bio_write) ||
	    !BIO_meth_set_read(c->meth, bio_read) || !BIO_meth_set_ctrl(c->meth, bio_ctrl))
		return -ENOMEM;
	c->ssl = SSL_new(ctx);
	bio = c->ssl ? BIO_new(c->meth) : NULL;
	if (!bio)
		return -ENOMEM;
	BIO_set_data(bio, (void *)(intptr_t)fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio);
	return 0;
}

int sl_conn_connect(struct sl_conn *c, struct ssl_ctx_st *ctx, const char *addr,
		    uint64_t deadline_ms, char *err, size_t err_len)
{
	char host[256];
	uint8_t ip[16];
	uint16_t port;
	int rc, fd;

	*c = (struct sl_conn)SL_CONN_INIT;
	err[0] = '\0';
	rc = sl_addr_parse(addr, host, sizeof(host), &port);
	if (rc) {
		snprintf(err, err_len, "bad address %s", addr);
		return rc;
	}
	fd = sl_tcp_connect(addr, deadline_ms);
	if (fd < 0)
		return fd; /* err stays empty: the caller words a plain network error */
	rc = conn_new(c, ctx, fd);
	if (rc)
		goto fail;
	/* The certificate must name what we dialled: an IP, or a DNS name. */
	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1)
			rc = -EINVAL;
	} else if (SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		rc = -EINVAL;
	}
	if (rc) {
		snprintf(err, err_len, "cannot check the name %s", host);
		goto fail;
	}
	for (;;) {
		int r;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		rc = tls_wait(c, r, deadline_ms);
		if (!rc)
			continue;
		if (SSL_get_verify_result(c->ssl) != X509_V_OK) {
			snprintf(err, err_len,
				 "TLS: the certificate of metadata server %s does not verify "
				 "against the configured CA: %s",
				 addr, X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
			rc = -EKEYREJECTED;
		} else if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
			snprintf(err, err_len, "TLS handshake with %s failed: %s", addr,
				 rc == -ETIMEDOUT ? "no answer in time"
						  : "the server closed the connection");
		} else {
			unsigned long e = ERR_peek_error();

			snprintf(err, err_len, "TLS handshake with %s failed: %s", addr,
				 e && ERR_reason_error_string(e) ? ERR_reason_error_string(e)
								 : strerror(-rc));
			rc = -EPROTO;
		}
		goto fail;
	}
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	sl_conn_close(c);
	return rc;
}

int sl_conn_accept(struct sl_conn *c, struct ssl_ctx_st *ctx, int fd, uint64_t deadline_ms)
{
	uint8_t first;
	int rc;

	*c = (struct sl_conn)SL_CONN_INIT;
	c->fd = fd;
	for (;;) {
		ssize_t n;

		rc = sl_fd_wait(fd, POLLIN, deadline_ms);
		if (rc)
			return rc;
		n = recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 1)
			break;
		if (n == 0)
			return -ECONNRESET;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	if (first != SL_TLS_HANDSHAKE_RECORD)
		return -EPROTO;
	rc = conn_new(c, ctx, fd);
	if (rc)
		return rc;
	for (;;) {
		int r;

		ERR_clear_error();
		r = SSL_accept(c->ssl);
		if (r == 1)
			break;
		rc = tls_wait(c, r, deadline_ms);
		if (rc)
			break;
	}
	ERR_clear_error();
	return rc;
}

int sl_conn_read_full(struct sl_conn *c, void *buf, size_t len, uint64_t deadline_ms)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = 0;
		int rc;

		ERR_clear_error();
		if (SSL_read_ex(c->ssl, p, len, &n) == 1) {
			p += n;
			len -= n;
			continue;
		}
		rc = tls_wait(c, 0, deadline_ms);
		if (rc)
			return rc;
	}
	return 0;
}

int sl_conn_write_full(struct sl_conn *c, const void *buf, size_t len, uint64_t deadline_ms)
{
	const uint8_t *p = buf;

	while (len) {
		size_t n = 0;
		int rc;

		ERR_clear_error();
		/* On WANT_WRITE the same bytes are offered again, as OpenSSL requires. */
		if (SSL_write_ex(c->ssl, p, len, &n) == 1) {
			p += n;
			len -= n;
			continue;
		}
		rc = tls_wait(c, 0, deadline_ms);
		if (rc)
			return rc == -ECONNRESET ? -EPIPE : rc;
	}
	return 0;
}

void sl_conn_release(struct sl_conn *c)
{
	SSL_free(c->ssl);
	BIO_meth_free(c->meth);
	c->ssl = NULL;
	c->meth = NULL;
}

void sl_conn_close(struct sl_conn *c)
{
	sl_conn_release(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
