/* fl_proto_int.h — what the proto/ files share with each other and nothing else links against: the
 * UTF-8 check and the cross-field rules (fl_proto.c) that encoder and decoder both apply, and the HMAC
 * (fl_proto_sign.c) the encoder signs with. Functions return FL_OK or a negative FL_E* (fl_err.h), or a
 * bool where they answer a question. */
#ifndef FL_PROTO_INT_H
#define FL_PROTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_proto.h"

/* True if s[0..n) is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
 * Frames carry text that ends up in JSON and PostgreSQL, which both refuse anything else. */
bool fl_proto_utf8_valid(const char *s, size_t n);

/* The rules that span fields, shared by encoder and decoder: node frames (check_node_frame) and a
 * delta's removed lists (check_removed). Names must be NUL-terminated. FL_OK; code (FL_ELIMIT for too
 * many GPUs in a node frame) with err naming the first problem; FL_ENOMEM. */
int fl_proto_check_shape(const fl_proto_frame *f, int code, char err[FL_ERR_LEN]);

/* Computes HMAC-SHA256(key, data[0..len)) into out. FL_OK; FL_EINVAL for a key outside
 * FL_KEY_MIN_LEN..FL_KEY_MAX_LEN bytes (so a short key signs and verifies nothing) or when libcrypto
 * refuses. */
int fl_proto_hmac(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[FL_PROTO_SIG_LEN]);

#endif
