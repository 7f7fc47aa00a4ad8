/* fl_proto_sign.c — frame signatures: HMAC-SHA256 (OpenSSL libcrypto) over envelope and payload. */
#include "fl_proto.h"
#include "fl_proto_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Internal to proto/: declared in fl_proto_int.h. */
int fl_proto_hmac(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[FL_PROTO_SIG_LEN])
{
	unsigned int n = 0;

	if (key == NULL || key_len < FL_KEY_MIN_LEN || key_len > FL_KEY_MAX_LEN || data == NULL) {
		return FL_EINVAL;
	}
	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) == NULL || n != FL_PROTO_SIG_LEN) {
		return FL_EINVAL;
	}
	return FL_OK;
}

bool fl_proto_verify(const void *buf, size_t len, const fl_proto_frame *f, const uint8_t *key, size_t key_len)
{
	uint8_t want[FL_PROTO_SIG_LEN];
	bool ok;

	if (buf == NULL || f == NULL || f->signed_off > len || f->signed_len > len - f->signed_off ||
	    f->signed_len == 0) {
		return false;
	}
	if (fl_proto_hmac(key, key_len, (const uint8_t *)buf + f->signed_off, f->signed_len, want) != FL_OK) {
		return false;
	}
	ok = CRYPTO_memcmp(want, f->sig, FL_PROTO_SIG_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
