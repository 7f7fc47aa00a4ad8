/* fl_key.c — reading key files. */
#include "fl_key.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FL_KEY_MIN 32

int fl_key_load(const char *path, fl_key *out, char err[FL_ERR_LEN])
{
	uint8_t buf[FL_KEY_BUF + 256]; /* room for surrounding whitespace */
	if (out == NULL || path == NULL)
		return fl_seterr(err, FL_EINVAL, "fl_key_load: NULL argument");
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_seterr(err, FL_EIO, "key file %s: cannot open: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf), f);
	int bad = ferror(f) ? errno : 0;
	int more = !bad && fgetc(f) != EOF;
	fclose(f);
	if (bad) {
		for (volatile uint8_t *p = buf; p < buf + sizeof(buf); p++)
			*p = 0;
		return fl_seterr(err, FL_EIO, "key file %s: cannot read: %s", path, strerror(bad));
	}
	size_t a = 0, b = n;
	while (a < b && isspace(buf[a]))
		a++;
	while (b > a && isspace(buf[b - 1]))
		b--;
	int rv = FL_OK;
	if (more)
		rv = fl_seterr(err, FL_ECONFIG, "key file %s: larger than %zu bytes, a key is at most %d", path,
		               sizeof(buf), FL_KEY_BUF);
	else if (b - a > FL_KEY_BUF)
		rv = fl_seterr(err, FL_ECONFIG, "key file %s: %zu bytes, a key is at most %d", path, b - a, FL_KEY_BUF);
	else if (b - a < FL_KEY_MIN)
		rv = fl_seterr(err, FL_ECONFIG,
		               "key file %s: %zu bytes, a key needs at least %d (try: openssl rand -hex 32)", path,
		               b - a, FL_KEY_MIN);
	else {
		memcpy(out->bytes, buf + a, b - a);
		out->len = b - a;
	}
	for (volatile uint8_t *p = buf; p < buf + sizeof(buf); p++)
		*p = 0;
	return rv;
}

void fl_key_wipe(fl_key *k)
{
	if (k == NULL)
		return;
	volatile uint8_t *p = k->bytes;
	for (size_t i = 0; i < sizeof(k->bytes); i++)
		p[i] = 0;
	k->len = 0;
}
