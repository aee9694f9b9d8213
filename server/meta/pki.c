/*
 * sluice-meta's TLS identity (see sl_meta_pki_init in meta.h). The cluster
 * CA is an EC P-256 key and a self-signed certificate made once, on first
 * start, in data-dir (ca.key 0600, ca.pem). The server certificate is issued
 * from it afresh at every start (meta.pem, meta.key 0600), so its names
 * follow the listen address and the host name. Files are written to a
 * temporary name, synced and renamed: a crash leaves the old file or none.
 * An operator's own tls-cert/tls-key/tls-ca replace all of this.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"
#include "net.h"
#include "sl_log.h"
#include "tls.h"

#define SL_CA_DAYS (20 * 365)
#define SL_SERVER_CERT_DAYS (2 * 365)

/* Writes a PEM key (priv) or certificate to path with mode, atomically. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *priv, X509 *cert)
{
	char tmp[700];
	FILE *f = NULL;
	int fd, rc = -EIO, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto out;
	}
	ok = priv ? PEM_write_PrivateKey(f, priv, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_X509(f, cert);
	if (!ok || fflush(f) != 0 || fsync(fd) != 0)
		goto out;
	ok = fclose(f) == 0;
	f = NULL;
	if (!ok)
		goto out;
	rc = rename(tmp, path) < 0 ? -errno : 0;
out:
	if (f)
		fclose(f);
	if (rc)
		unlink(tmp);
	ERR_clear_error();
	return rc;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EINVAL;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -ENOMEM;
}

/*
 * A certificate for key named cn, signed by issuer_key; issuer NULL makes it
 * self-signed. exts: NULL-terminated pairs of extension name and value.
 */
static X509 *cert_new(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		      long days, const char *const *exts)
{
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	uint8_t serial[16];
	int ok = 0;

	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
	    !X509_set_pubkey(x, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
					    : X509_get_subject_name(x)))
		goto out;
	for (size_t i = 0; exts[i]; i += 2)
		if (add_ext(x, issuer ? issuer : x, OBJ_txt2nid(exts[i]), exts[i + 1]))
			goto out;
	ok = X509_sign(x, issuer_key, EVP_sha256()) > 0;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Loads the cluster CA from data-dir, or makes it on first start. */
static int ca_ensure(const char *key_path, const char *cert_path, EVP_PKEY **key, X509 **cert)
{
	static const char *const exts[] = {
		"basicConstraints", "critical,CA:TRUE,pathlen:0",
		"keyUsage", "critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier", "hash",
		NULL,
	};
	char cn[64];
	uint8_t id[6];
	FILE *f;
	int rc;

	*key = NULL;
	*cert = NULL;
	f = fopen(cert_path, "r");
	if (f) {
		*cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		f = fopen(key_path, "r");
		if (f) {
			*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (!*cert || !*key || X509_check_private_key(*cert, *key) != 1) {
			SL_ERR("%s and %s are not a readable, matching certificate and key",
			       cert_path, key_path);
			return -EINVAL;
		}
		return 0;
	}
	/* No CA certificate: first start, or a crash before it was written. */
	*key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!*key || RAND_bytes(id, sizeof(id)) != 1)
		return -ENOMEM;
	snprintf(cn, sizeof(cn), "Sluice cluster CA %02x%02x%02x%02x%02x%02x", id[0], id[1], id[2],
		 id[3], id[4], id[5]);
	*cert = cert_new(*key, cn, NULL, *key, SL_CA_DAYS, exts);
	if (!*cert)
		return -ENOMEM;
	rc = write_pem(key_path, 0600, *key, NULL);
	rc = rc ? rc : write_pem(cert_path, 0644, NULL, *cert);
	if (rc)
		SL_ERR_RC(rc, "writing the cluster CA %s", cert_path);
	else
		SL_INFO("created the cluster CA %s", cert_path);
	return rc;
}

static int is_wildcard(const char *host)
{
	return !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	       strcmp(host, "[::]") == 0;
}

static void san_add(char *san, size_t len, const char *host)
{
	uint8_t ip[16];
	size_t used = strlen(san);

	if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1)
		snprintf(san + used, len - used, ",IP:%s", host);
	else if (host[0] && !strpbrk(host, ", \t"))
		snprintf(san + used, len - used, ",DNS:%s", host);
}

/* Issues meta.pem/meta.key from the CA, naming every address clients may dial. */
static int server_cert_issue(struct sl_meta *m, EVP_PKEY *ca_key, X509 *ca)
{
	const char *exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "serverAuth",
		"subjectKeyIdentifier", "hash",
		"authorityKeyIdentifier", "keyid:always",
		"subjectAltName", NULL,
		NULL,
	};
	char san[1024] = "DNS:localhost,IP:127.0.0.1,IP:::1", host[256];
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = NULL;
	uint16_t port;
	int rc = -ENOMEM;

	if (!key)
		goto out;
	if (!sl_addr_parse(m->cfg.listen, host, sizeof(host), &port) && !is_wildcard(host) &&
	    strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 &&
	    strcmp(host, "localhost") != 0)
		san_add(san, sizeof(san), host);
	if (gethostname(host, sizeof(host)) == 0) {
		struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;

		host[sizeof(host) - 1] = '\0';
		san_add(san, sizeof(san), host);
		/* And its fully qualified name, which clients elsewhere dial. */
		if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai->ai_canonname &&
		    strcmp(ai->ai_canonname, host) != 0)
			san_add(san, sizeof(san), ai->ai_canonname);
		if (ai)
			freeaddrinfo(ai);
	}
	exts[11] = san;
	x = cert_new(key, "sluice-meta", ca, ca_key, SL_SERVER_CERT_DAYS, exts);
	if (!x)
		goto out;
	rc = write_pem(m->cfg.tls_key, 0600, key, NULL);
	rc = rc ? rc : write_pem(m->cfg.tls_cert, 0644, NULL, x);
	if (rc)
		SL_ERR_RC(rc, "writing the server certificate %s", m->cfg.tls_cert);
	else
		SL_INFO("server certificate %s for %s", m->cfg.tls_cert, san);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return rc;
}

int sl_meta_pki_init(struct sl_meta *m)
{
	struct sl_meta_config *cfg = &m->cfg;
	int given = !!cfg->tls_cert[0] + !!cfg->tls_key[0] + !!cfg->tls_ca[0], rc;
	char err[512];

	if (given && given != 3) {
		SL_ERR("give tls-cert, tls-key and tls-ca together, or none of them");
		return -EINVAL;
	}
	if (!given) {
		char ca_key_path[300];
		EVP_PKEY *ca_key;
		X509 *ca;

		snprintf(ca_key_path, sizeof(ca_key_path), "%s/ca.key", cfg->data_dir);
		snprintf(cfg->tls_ca, sizeof(cfg->tls_ca), "%s/ca.pem", cfg->data_dir);
		snprintf(cfg->tls_cert, sizeof(cfg->tls_cert), "%s/meta.pem", cfg->data_dir);
		snprintf(cfg->tls_key, sizeof(cfg->tls_key), "%s/meta.key", cfg->data_dir);
		rc = ca_ensure(ca_key_path, cfg->tls_ca, &ca_key, &ca);
		rc = rc ? rc : server_cert_issue(m, ca_key, ca);
		X509_free(ca);
		EVP_PKEY_free(ca_key);
		ERR_clear_error();
		if (rc)
			return rc;
	}
	rc = sl_tls_server_ctx(cfg->tls_cert, cfg->tls_key, &m->tls, err, sizeof(err));
	if (rc) {
		SL_ERR("TLS: %s", err);
		return rc;
	}
	rc = sl_tls_ca_load_file(cfg->tls_ca, &m->ca_der, &m->ca_der_len);
	if (rc)
		SL_ERR_RC(rc, "reading the CA certificate %s", cfg->tls_ca);
	return rc;
}

void sl_meta_pki_free(struct sl_meta *m)
{
	sl_tls_ctx_free(m->tls);
	free(m->ca_der);
	m->tls = NULL;
	m->ca_der = NULL;
}
