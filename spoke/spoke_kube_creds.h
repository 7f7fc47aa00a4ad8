/* spoke_kube_creds.h — where the Kubernetes API is and how to authenticate to it.
 *
 * From a kubeconfig (its current-context's cluster and user: server, certificate-authority(-data),
 * insecure-skip-tls-verify, client-certificate(-data), client-key(-data), token, tokenFile) or, when
 * no kubeconfig is given, in-cluster: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with
 * <sa_dir>/token and <sa_dir>/ca.crt. Relative paths in a kubeconfig are relative to its folder.
 * A token file is re-read by spoke_kube_creds_token each time, because service-account tokens rotate.
 * exec/auth-provider plugins are not supported (a clear error).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the file and key. */
#ifndef SPOKE_KUBE_CREDS_H
#define SPOKE_KUBE_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "fl_err.h"

#define SPOKE_KUBE_URL_LEN   512
#define SPOKE_KUBE_PATH_LEN  1024
#define SPOKE_KUBE_TOKEN_MAX 16384 /* bytes of a bearer token */
#define SPOKE_KUBE_PEM_MAX   (256 << 10)
#define SPOKE_KUBE_SA_DIR    "/var/run/secrets/kubernetes.io/serviceaccount"

/* Owned strings/blobs; free with spoke_kube_creds_free. Empty string / NULL = not set. */
typedef struct spoke_kube_creds {
	char server[SPOKE_KUBE_URL_LEN]; /* "https://10.0.0.1:6443", no trailing '/' */
	char ca_file[SPOKE_KUBE_PATH_LEN];
	char *ca_pem; /* decoded certificate-authority-data */
	size_t ca_pem_len;
	char cert_file[SPOKE_KUBE_PATH_LEN], key_file[SPOKE_KUBE_PATH_LEN];
	char *cert_pem, *key_pem; /* decoded client-*-data */
	size_t cert_pem_len, key_pem_len;
	char token[SPOKE_KUBE_TOKEN_MAX]; /* a literal token */
	char token_file[SPOKE_KUBE_PATH_LEN];
	bool insecure;   /* insecure-skip-tls-verify */
	char origin[64]; /* "kubeconfig context NAME" or "in-cluster", for logs */
} spoke_kube_creds;

/* Loads credentials: from kubeconfig when it is not "" (the file's current-context), else in-cluster
 * from sa_dir (SPOKE_KUBE_SA_DIR when NULL or ""). FL_OK (caller frees *out), or FL_ECONFIG / FL_EIO
 * with err naming the file and key. */
int spoke_kube_creds_load(const char *kubeconfig, const char *sa_dir, spoke_kube_creds *out, char err[FL_ERR_LEN]);

/* The bearer token for the next request into buf (len bytes): re-reads token_file when set (trailing
 * whitespace trimmed), else the literal token, else "". FL_OK, or FL_EIO / FL_ELIMIT (err says why). */
int spoke_kube_creds_token(const spoke_kube_creds *c, char *buf, size_t len, char err[FL_ERR_LEN]);

void spoke_kube_creds_free(spoke_kube_creds *c);

#endif
