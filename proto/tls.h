/*
 * TLS 1.3 for the control plane: every connection to sluice-meta (CLI, SDK,
 * data servers) is an sl_conn, a non-blocking socket wrapped in an OpenSSL
 * session. Every call takes an absolute sl_mono_ms() deadline and waits with
 * poll() on SSL_ERROR_WANT_READ/WRITE, so none can hang. There is no clear
 * text mode: a client without a CA cannot connect at all.
 *
 * Clients trust exactly one CA (the cluster CA sluice-meta made at bootstrap,
 * or the operator's) and check the server's name or IP against the address
 * they dialled. Contexts are shared by threads; one sl_conn is used by one
 * thread at a time. OpenSSL types are opaque here so that this header stays
 * light.
 */
#ifndef SL_TLS_H
#define SL_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ssl_st;
struct ssl_ctx_st;
struct bio_method_st;

struct sl_conn {
	int fd;
	struct ssl_st *ssl;
	struct bio_method_st *meth; /* the socket BIO's methods (see tls.c) */
};

#define SL_CONN_INIT { .fd = -1, .ssl = NULL, .meth = NULL }

/*
 * A server context presenting cert_file (PEM chain) with key_file (PEM).
 * 0 or -EINVAL (unreadable or mismatched files; err says which).
 */
int sl_tls_server_ctx(const char *cert_file, const char *key_file, struct ssl_ctx_st **out,
		      char *err, size_t err_len);

/* A client context that trusts only the CA given as DER bytes. 0 or -EINVAL. */
int sl_tls_client_ctx(const uint8_t *ca_der, size_t ca_len, struct ssl_ctx_st **out);

void sl_tls_ctx_free(struct ssl_ctx_st *ctx);

/* Reads a CA certificate file (PEM or DER) into malloc'd DER bytes. 0, -ENOENT, -EINVAL. */
int sl_tls_ca_load_file(const char *path, uint8_t **der, size_t *len);

/* Decodes the base64 DER of a credentials file's `ca` entry. 0 or -EINVAL. */
int sl_tls_ca_decode(const char *b64, uint8_t **der, size_t *len);

/*
 * Writes the `ca = <base64 DER>` entry of a credentials file. The value is
 * cut into indented continuation lines of 64 characters: INI readers such as
 * inih stop at 200 bytes a line, and they join continuation lines. 0 or -EIO.
 */
int sl_tls_ca_entry_write(FILE *f, const uint8_t *der, size_t len);

/*
 * Connects to "host:port" and completes a TLS 1.3 handshake, checking the
 * chain against ctx's CA and the certificate's names against host (an IP
 * address or a DNS name). 0 or -errno: -EKEYREJECTED when the server's
 * certificate does not verify, -EPROTO on another TLS failure, -ETIMEDOUT
 * past the deadline, or the connect error. err gets one line for a human
 * about a TLS failure, and stays empty on a plain network error.
 */
int sl_conn_connect(struct sl_conn *c, struct ssl_ctx_st *ctx, const char *addr,
		    uint64_t deadline_ms, char *err, size_t err_len);

/*
 * Server side: runs the handshake on an accepted, non-blocking fd (which the
 * caller keeps owning). A first byte that is not a TLS handshake record is
 * refused before OpenSSL sees it, so a clear-text peer gets nothing back.
 */
int sl_conn_accept(struct sl_conn *c, struct ssl_ctx_st *ctx, int fd, uint64_t deadline_ms);

int sl_conn_read_full(struct sl_conn *c, void *buf, size_t len, uint64_t deadline_ms);
int sl_conn_write_full(struct sl_conn *c, const void *buf, size_t len, uint64_t deadline_ms);

/* Frees the TLS session; leaves the fd open. */
void sl_conn_release(struct sl_conn *c);
/* Frees the TLS session and closes the fd. Safe on an unused sl_conn. */
void sl_conn_close(struct sl_conn *c);

#endif
