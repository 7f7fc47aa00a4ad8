/* fl_proto_sign.c — frame signatures: HMAC-SHA256 (OpenSSL libcrypto) over envelope and payload. */
#include "fl_proto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Computes HMAC-SHA256(key, data) into out. FL_OK, or FL_EINVAL when libcrypto refuses. */
int fl_proto_hmac(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[FL_PROTO_SIG_LEN])
{
	unsigned int n = 0;

	if (key == NULL || key_len == 0 || key_len > FL_KEY_MAX_LEN)
		return FL_EINVAL;
	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL || n != FL_PROTO_SIG_LEN)
		return FL_EINVAL;
	return FL_OK;
}

bool fl_proto_verify(const void *buf, size_t len, const fl_proto_frame *f, const uint8_t *key, size_t key_len)
{
	uint8_t want[FL_PROTO_SIG_LEN];

	if (buf == NULL || f == NULL || f->signed_off > len || f->signed_len > len - f->signed_off ||
	    f->signed_len == 0)
		return false;
	if (fl_proto_hmac(key, key_len, (const uint8_t *)buf + f->signed_off, f->signed_len, want) != FL_OK)
		return false;
	return CRYPTO_memcmp(want, f->sig, FL_PROTO_SIG_LEN) == 0;
}
