/* hub_auth.c — bearer tokens, per-token cluster scopes, CORS origins, the loopback-only rule. */
#include "hub_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hub_auth {
	const hub_config *cfg; /* borrowed */
	bool *scopes;          /* n_api_tokens rows of HUB_MAX_CLUSTERS flags, by slot */
	bool *all;             /* HUB_MAX_CLUSTERS flags: the config's clusters (HUB_AUTH_OPEN) */
	bool *none;            /* HUB_MAX_CLUSTERS flags, all false (HUB_AUTH_NONE) */
};

void hub_auth_sha256(const void *data, size_t len, uint8_t out[HUB_TOKEN_HASH_LEN])
{
	unsigned int n = 0;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

bool hub_auth_labels_match(const hub_cluster_conf *c, const hub_label *labels, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t j = 0;
		while (j < c->n_labels && (strcmp(c->labels[j].key, labels[k].key) != 0 ||
		                           strcmp(c->labels[j].value, labels[k].value) != 0))
			j++;
		if (j == c->n_labels)
			return false;
	}
	return true;
}

int hub_auth_new_slots(const hub_config *cfg, const size_t *slot_of, hub_auth **out)
{
	*out = NULL;
	hub_auth *a = calloc(1, sizeof(*a));
	size_t nc = cfg->n_clusters, nt = cfg->n_api_tokens, cap = HUB_MAX_CLUSTERS;
	if (a == NULL)
		return FL_ENOMEM;
	a->cfg = cfg;
	a->scopes = calloc(nt * cap + 1, sizeof(bool));
	a->all = calloc(cap, sizeof(bool));
	a->none = calloc(cap, sizeof(bool));
	if (a->scopes == NULL || a->all == NULL || a->none == NULL) {
		hub_auth_free(a);
		return FL_ENOMEM;
	}
	for (size_t i = 0; i < nc; i++)
		a->all[slot_of[i]] = true;
	for (size_t t = 0; t < nt; t++) {
		const hub_api_token_conf *tc = &cfg->api_tokens[t];
		for (size_t i = 0; i < nc; i++) {
			bool sees = true;
			if (tc->scope == HUB_SCOPE_CLUSTERS)
				sees = (tc->clusters[i / 8] >> (i % 8)) & 1u;
			else if (tc->scope == HUB_SCOPE_LABELS)
				sees = hub_auth_labels_match(&cfg->clusters[i], tc->labels, tc->n_labels);
			a->scopes[t * cap + slot_of[i]] = sees;
		}
	}
	*out = a;
	return FL_OK;
}

int hub_auth_new(const hub_config *cfg, hub_auth **out)
{
	size_t *slot_of = calloc(cfg->n_clusters + 1, sizeof(*slot_of));
	if (slot_of == NULL)
		return FL_ENOMEM;
	for (size_t i = 0; i < cfg->n_clusters; i++)
		slot_of[i] = i;
	int rv = hub_auth_new_slots(cfg, slot_of, out);
	free(slot_of);
	return rv;
}

void hub_auth_free(hub_auth *a)
{
	if (a == NULL)
		return;
	free(a->scopes);
	free(a->all);
	free(a->none);
	free(a);
}

bool hub_auth_required(const hub_auth *a)
{
	return a->cfg->n_api_tokens > 0;
}

int hub_auth_check(const hub_auth *a, const char *authorization)
{
	if (!hub_auth_required(a))
		return HUB_AUTH_OPEN;
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return HUB_AUTH_NONE;
	const char *tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	size_t len = strnlen(tok, HUB_TOKEN_MAX_LEN + 1);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	if (len < HUB_TOKEN_MIN_LEN || len > HUB_TOKEN_MAX_LEN)
		return HUB_AUTH_NONE;
	uint8_t h[HUB_TOKEN_HASH_LEN];
	hub_auth_sha256(tok, len, h);
	/* Every configured hash is compared, with no early exit, so timing does not say which one matched. */
	int found = HUB_AUTH_NONE;
	for (size_t t = 0; t < a->cfg->n_api_tokens; t++) {
		int same = CRYPTO_memcmp(h, a->cfg->api_tokens[t].sha256, sizeof(h)) == 0;
		found = same ? (int)t : found;
	}
	OPENSSL_cleanse(h, sizeof(h));
	return found;
}

const char *hub_auth_token_name(const hub_auth *a, int token)
{
	if (token < 0 || (size_t)token >= a->cfg->n_api_tokens)
		return "-";
	return a->cfg->api_tokens[token].name;
}

const bool *hub_auth_scope(const hub_auth *a, int token)
{
	if (token == HUB_AUTH_OPEN)
		return a->all;
	if (token < 0 || (size_t)token >= a->cfg->n_api_tokens)
		return a->none;
	return &a->scopes[(size_t)token * HUB_MAX_CLUSTERS];
}

bool hub_auth_origin_allowed(const hub_config *cfg, const char *origin)
{
	for (size_t i = 0; origin != NULL && i < cfg->n_cors_origins; i++)
		if (strcmp(cfg->cors_origins[i], origin) == 0)
			return true;
	return false;
}

static bool is_loopback(const char *host, size_t len)
{
	return (len == 9 && strncmp(host, "localhost", 9) == 0) || (len == 5 && strncmp(host, "[::1]", 5) == 0) ||
	       (len >= 9 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") >= len);
}

bool hub_auth_listen_address(const char *api_listen, bool have_tokens, char *out, size_t outlen)
{
	const char *colon = strrchr(api_listen, ':');
	const char *port = colon != NULL ? colon + 1 : api_listen;
	size_t host_len = colon != NULL ? (size_t)(colon - api_listen) : 0;
	if (have_tokens || (colon != NULL && is_loopback(api_listen, host_len))) {
		snprintf(out, outlen, "%s", api_listen);
		return false;
	}
	snprintf(out, outlen, "127.0.0.1:%.16s", port);
	return true;
}
