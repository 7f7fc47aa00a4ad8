/* spoke_kube_creds.c — kubeconfig (through fl_yaml) and in-cluster credentials. */
#include "spoke_kube_creds.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_yaml.h"

/* Reads at most max bytes of path into buf (NUL-terminated, trailing whitespace trimmed). */
static int read_small(const char *path, char *buf, size_t max, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	}
	size_t n = fread(buf, 1, max, f);
	bool more = fgetc(f) != EOF;
	fclose(f);
	if (more || n >= max) {
		return fl_seterr(err, FL_ELIMIT, "%s: larger than %zu bytes", path, max - 1);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) {
		n--;
	}
	buf[n] = '\0';
	return FL_OK;
}

int spoke_kube_creds_token(const spoke_kube_creds *c, char *buf, size_t len, char err[FL_ERR_LEN])
{
	buf[0] = '\0';
	if (c->token_file[0] != '\0') {
		return read_small(c->token_file, buf, len, err);
	}
	snprintf(buf, len, "%s", c->token);
	return FL_OK;
}

void spoke_kube_creds_free(spoke_kube_creds *c)
{
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem != NULL) {
		OPENSSL_cleanse(c->key_pem, c->key_pem_len);
		free(c->key_pem);
	}
	OPENSSL_cleanse(c, sizeof(*c)); /* the token; a memset before the struct's end could be dropped */
}

static int in_cluster(const char *sa_dir, spoke_kube_creds *out, char err[FL_ERR_LEN])
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
		return fl_seterr(err, FL_ECONFIG,
		                 "sources.kube: no kubeconfig given and not in a cluster "
		                 "(KUBERNETES_SERVICE_HOST/PORT unset)");
	}
	const char *dir = sa_dir != NULL && sa_dir[0] != '\0' ? sa_dir : SPOKE_KUBE_SA_DIR;
	bool v6 = strchr(host, ':') != NULL;
	int n =
	    snprintf(out->server, sizeof(out->server), "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= sizeof(out->server)) {
		return fl_seterr(err, FL_ECONFIG, "KUBERNETES_SERVICE_HOST/PORT too long");
	}
	snprintf(out->token_file, sizeof(out->token_file), "%s/token", dir);
	snprintf(out->ca_file, sizeof(out->ca_file), "%s/ca.crt", dir);
	snprintf(out->origin, sizeof(out->origin), "in-cluster");
	char tok[SPOKE_KUBE_TOKEN_MAX];
	return spoke_kube_creds_token(out, tok, sizeof(tok), err);
}

/* The entry of list (a kubeconfig clusters/users/contexts list) named name, its `field` mapping. */
static fl_yaml_node named(fl_yaml_doc *doc, fl_yaml_node list, const char *name, const char *field)
{
	if (list == 0 || !fl_yaml_is_seq(doc, list)) {
		return 0;
	}
	for (size_t i = 0; i < fl_yaml_seq_len(doc, list); i++) {
		fl_yaml_node it = fl_yaml_seq_item(doc, list, i);
		const char *v = fl_yaml_scalar(doc, fl_yaml_get(doc, it, "name"));
		if (v != NULL && strcmp(v, name) == 0) {
			return fl_yaml_get(doc, it, field);
		}
	}
	return 0;
}

/* A path key: absolute, or relative to the kubeconfig's folder. */
static int get_path(fl_yaml_doc *doc, fl_yaml_node map, const char *key, char *out, size_t len, char err[FL_ERR_LEN])
{
	char raw[SPOKE_KUBE_PATH_LEN] = "";
	int rv = fl_yaml_get_str(doc, map, key, false, raw, sizeof(raw), err);
	if (rv != FL_OK || raw[0] == '\0') {
		return rv;
	}
	const char *slash = strrchr(doc->path, '/');
	int n = raw[0] == '/' || slash == NULL
	            ? snprintf(out, len, "%s", raw)
	            : snprintf(out, len, "%.*s/%s", (int)(slash - doc->path), doc->path, raw);
	if (n < 0 || (size_t)n >= len) {
		return fl_yaml_error(doc, fl_yaml_get(doc, map, key), key, err, "path too long");
	}
	return FL_OK;
}

/* A base64 *-data key into a new buffer. */
static int get_data(fl_yaml_doc *doc, fl_yaml_node map, const char *key, char **out, size_t *len, char err[FL_ERR_LEN])
{
	fl_yaml_node n = fl_yaml_get(doc, map, key);
	const char *v = fl_yaml_scalar(doc, n);
	if (n == 0) {
		return FL_OK;
	}
	size_t in = v == NULL ? 0 : strlen(v);
	if (in == 0 || in > (SPOKE_KUBE_PEM_MAX / 3) * 4 || in % 4 != 0) {
		return fl_yaml_error(doc, n, key, err, "expected base64 of at most %d bytes", SPOKE_KUBE_PEM_MAX);
	}
	unsigned char *buf = malloc(in / 4 * 3 + 1);
	if (buf == NULL) {
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	int got = EVP_DecodeBlock(buf, (const unsigned char *)v, (int)in);
	if (got < 0) {
		free(buf);
		return fl_yaml_error(doc, n, key, err, "not valid base64");
	}
	size_t real = (size_t)got - (v[in - 1] == '=') - (v[in - 2] == '=');
	buf[real] = '\0';
	*out = (char *)buf;
	*len = real;
	return FL_OK;
}

static int from_kubeconfig(const char *path, spoke_kube_creds *out, char err[FL_ERR_LEN])
{
	fl_yaml_doc doc;
	int rv = fl_yaml_open(&doc, path, err);
	if (rv != FL_OK) {
		return rv;
	}
	fl_yaml_node root = fl_yaml_root(&doc);
	char ctx[256] = "";
	if ((rv = fl_yaml_get_str(&doc, root, "current-context", true, ctx, sizeof(ctx), err)) != FL_OK) {
		goto out;
	}
	fl_yaml_node c = named(&doc, fl_yaml_get(&doc, root, "contexts"), ctx, "context");
	if (c == 0) {
		rv = fl_yaml_error(&doc, fl_yaml_get(&doc, root, "current-context"), "current-context", err,
		                   "no context named '%s' in contexts", ctx);
		goto out;
	}
	char cname[256] = "", uname[256] = "";
	if ((rv = fl_yaml_get_str(&doc, c, "cluster", true, cname, sizeof(cname), err)) != FL_OK ||
	    (rv = fl_yaml_get_str(&doc, c, "user", false, uname, sizeof(uname), err)) != FL_OK) {
		goto out;
	}
	fl_yaml_node cl = named(&doc, fl_yaml_get(&doc, root, "clusters"), cname, "cluster");
	if (cl == 0) {
		rv = fl_yaml_error(&doc, c, "cluster", err, "no cluster named '%s' in clusters", cname);
		goto out;
	}
	if ((rv = fl_yaml_get_str(&doc, cl, "server", true, out->server, sizeof(out->server), err)) != FL_OK ||
	    (rv = get_path(&doc, cl, "certificate-authority", out->ca_file, sizeof(out->ca_file), err)) != FL_OK ||
	    (rv = get_data(&doc, cl, "certificate-authority-data", &out->ca_pem, &out->ca_pem_len, err)) != FL_OK ||
	    (rv = fl_yaml_get_bool(&doc, cl, "insecure-skip-tls-verify", false, &out->insecure, err)) != FL_OK) {
		goto out;
	}
	if (strncmp(out->server, "https://", 8) != 0 && strncmp(out->server, "http://", 7) != 0) {
		rv = fl_yaml_error(&doc, fl_yaml_get(&doc, cl, "server"), "server", err,
		                   "expected an https:// (or http://) URL");
		goto out;
	}
	size_t sl = strlen(out->server);
	while (sl > 0 && out->server[sl - 1] == '/') {
		out->server[--sl] = '\0';
	}
	fl_yaml_node u = uname[0] != '\0' ? named(&doc, fl_yaml_get(&doc, root, "users"), uname, "user") : 0;
	if (uname[0] != '\0' && u == 0) {
		rv = fl_yaml_error(&doc, c, "user", err, "no user named '%s' in users", uname);
		goto out;
	}
	if (u != 0) {
		if (fl_yaml_get(&doc, u, "exec") != 0 || fl_yaml_get(&doc, u, "auth-provider") != 0) {
			const char *k = fl_yaml_get(&doc, u, "exec") != 0 ? "exec" : "auth-provider";
			rv = fl_yaml_error(&doc, fl_yaml_get(&doc, u, k), k, err,
			                   "credential plugins are not supported: use a token, tokenFile or a client "
			                   "certificate");
			goto out;
		}
		if ((rv = fl_yaml_get_str(&doc, u, "token", false, out->token, sizeof(out->token), err)) != FL_OK ||
		    (rv = get_path(&doc, u, "tokenFile", out->token_file, sizeof(out->token_file), err)) != FL_OK ||
		    (rv = get_path(&doc, u, "client-certificate", out->cert_file, sizeof(out->cert_file), err)) !=
		        FL_OK ||
		    (rv = get_path(&doc, u, "client-key", out->key_file, sizeof(out->key_file), err)) != FL_OK ||
		    (rv = get_data(&doc, u, "client-certificate-data", &out->cert_pem, &out->cert_pem_len, err)) !=
		        FL_OK ||
		    (rv = get_data(&doc, u, "client-key-data", &out->key_pem, &out->key_pem_len, err)) != FL_OK) {
			goto out;
		}
	}
	snprintf(out->origin, sizeof(out->origin), "context %.48s", ctx);
	if (out->token_file[0] != '\0') {
		char tok[SPOKE_KUBE_TOKEN_MAX];
		rv = spoke_kube_creds_token(out, tok, sizeof(tok), err);
	}
out:
	fl_yaml_close(&doc);
	return rv;
}

int spoke_kube_creds_load(const char *kubeconfig, const char *sa_dir, spoke_kube_creds *out, char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	int rv = kubeconfig != NULL && kubeconfig[0] != '\0' ? from_kubeconfig(kubeconfig, out, err)
	                                                     : in_cluster(sa_dir, out, err);
	if (rv != FL_OK) {
		spoke_kube_creds_free(out);
	}
	return rv;
}
