/* fuzz_frame.c — libFuzzer target: arbitrary bytes through the frame checker, decoder, verifier and
 * ack decoder. Besides crashes and sanitizer reports it fails on a broken promise of fl_proto.h:
 * a frame the decoder accepts must pass fl_proto_decode_head with the same envelope, signature and signed
 * region (what the hub authenticates is what it decodes) and must re-encode (the encoder refuses only what a decoder
 * rejects), the re-encoded frame must decode and verify, and re-encoding that gives the same bytes; likewise acks.
 * Build: CC=clang cmake -DFL_FUZZ=ON; run: build-fuzz/bin/fuzz_frame CORPUS_DIR (see scripts/test). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_proto.h"

/* The key fl-frame-tool signs with by default, so seeds made with it (tests/fuzz/make_corpus.sh)
 * reach the path where verification succeeds. */
static const char key[] = "fl-frame-tool-default-test-key-0123456789";
#define KEY (const uint8_t *)key, sizeof(key) - 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_frame: %s: %s\n", what, err != NULL ? err : "");
	abort();
}

static void check_frame(const uint8_t *data, size_t size)
{
	fl_proto_frame f, g;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	json_t *j;

	fl_proto_frame h;
	bool head_ok = fl_proto_decode_head(data, size, &h, err) == FL_OK;

	if (fl_proto_decode(data, size, &f, err) != FL_OK) {
		return;
	}
	/* what the hub authenticates is what it then decodes */
	if (!head_ok) {
		broken("a frame that decodes fails fl_proto_decode_head", NULL);
	}
	if (memcmp(&h.env, &f.env, sizeof(h.env)) != 0 || memcmp(h.sig, f.sig, FL_PROTO_SIG_LEN) != 0 ||
	    h.signed_off != f.signed_off || h.signed_len != f.signed_len) {
		broken("fl_proto_decode_head and fl_proto_decode disagree on envelope, signature or signed bytes",
		       NULL);
	}
	if (f.signed_off == 0 || f.signed_len == 0 || f.signed_off + f.signed_len + 2 + FL_PROTO_SIG_LEN > size) {
		broken("signed region outside the frame", NULL);
	}
	(void)fl_proto_verify(data, size, &f, KEY);
	if ((j = fl_proto_frame_to_json(&f)) == NULL) {
		broken("no JSON view of a decoded frame", NULL);
	}
	json_decref(j);
	if (fl_proto_encode(&f, KEY, &buf, &len, err) != FL_OK) {
		broken("a decoded frame does not re-encode", err);
	}
	if (fl_proto_decode(buf, len, &g, err) != FL_OK) {
		broken("a re-encoded frame does not decode", err);
	}
	if (!fl_proto_verify(buf, len, &g, KEY)) {
		broken("a re-encoded frame does not verify", NULL);
	}
	if (fl_proto_encode(&g, KEY, &buf2, &len2, err) != FL_OK) {
		broken("a twice-decoded frame does not re-encode", err);
	}
	if (len != len2 || memcmp(buf, buf2, len) != 0) {
		broken("encode(decode(encode(frame))) differs from encode(frame)", NULL);
	}
	free(buf);
	free(buf2);
	fl_proto_frame_free(&g);
	fl_proto_frame_free(&f);
}

static void check_ack(const uint8_t *data, size_t size)
{
	fl_proto_ack a, b;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	if (fl_proto_ack_decode(data, size, &a, err) != FL_OK) {
		return;
	}
	if (fl_proto_ack_encode(&a, &buf, &len) != FL_OK) {
		broken("a decoded ack does not re-encode", NULL);
	}
	if (fl_proto_ack_decode(buf, len, &b, err) != FL_OK) {
		broken("a re-encoded ack does not decode", err);
	}
	if (a.seq != b.seq || a.status != b.status || a.want_full != b.want_full || strcmp(a.reason, b.reason) != 0) {
		broken("an ack changed on its way through encode and decode", NULL);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FL_ERR_LEN];

	(void)fl_proto_check(data, size, err);
	check_frame(data, size);
	check_ack(data, size);
	return 0;
}
