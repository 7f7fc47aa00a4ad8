/* spoke_quantity.c — Kubernetes quantity strings to int64, exact integer arithmetic. */
#include "spoke_quantity.h"

#include <stdio.h>
#include <string.h>

#define MAX_DIGITS 36 /* mantissa digits kept exactly in an unsigned __int128 */

typedef unsigned __int128 u128;

/* The suffix: a power of ten and a power of two. FL_OK or FL_EINVAL. */
static int parse_suffix(const char *s, int *exp10, int *exp2, char err[FL_ERR_LEN])
{
	static const struct {
		const char *name;
		int exp10, exp2;
	} table[] = {{"", 0, 0},    {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50},
	             {"Ei", 0, 60}, {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
	             {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0}};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(s, table[i].name) == 0) {
			*exp10 = table[i].exp10;
			*exp2 = table[i].exp2;
			return FL_OK;
		}
	}
	if (s[0] == 'e' || s[0] == 'E') {
		const char *p = s + 1;
		int sign = 1;
		if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			p++;
		}
		if (*p == '\0') {
			return fl_seterr(err, FL_EINVAL, "exponent '%s' has no digits", s);
		}
		int e = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || e > 1000) {
				return fl_seterr(err, FL_EINVAL, "bad exponent '%s'", s);
			}
			e = e * 10 + (*p - '0');
		}
		*exp10 = sign * e;
		*exp2 = 0;
		return FL_OK;
	}
	return fl_seterr(err, FL_EINVAL, "unknown suffix '%s'", s);
}

int spoke_quantity_parse(const char *s, bool milli, int64_t *out, char err[FL_ERR_LEN])
{
	*out = 0;
	if (s == NULL || s[0] == '\0') {
		return fl_seterr(err, FL_EINVAL, "empty quantity");
	}
	if (strnlen(s, SPOKE_QUANTITY_MAX_LEN + 1) > SPOKE_QUANTITY_MAX_LEN) {
		return fl_seterr(err, FL_ELIMIT, "quantity longer than %d characters", SPOKE_QUANTITY_MAX_LEN);
	}
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-') {
		neg = *p == '-';
		p++;
	}
	u128 mant = 0;
	int digits = 0, frac = 0, exp10 = 0, exp2 = 0;
	bool dot = false, any = false;
	for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
		if (*p == '.') {
			if (dot) {
				return fl_seterr(err, FL_EINVAL, "'%s': more than one '.'", s);
			}
			dot = true;
			continue;
		}
		any = true;
		if (mant == 0 && *p == '0') {
			if (dot) {
				frac++;
			}
			continue; /* leading zeros carry no precision */
		}
		if (digits >= MAX_DIGITS) {
			return fl_seterr(err, FL_ELIMIT, "'%s': more than %d significant digits", s, MAX_DIGITS);
		}
		mant = mant * 10 + (u128)(*p - '0');
		digits++;
		if (dot) {
			frac++;
		}
	}
	if (!any) {
		return fl_seterr(err, FL_EINVAL, "'%s': expected a number", s);
	}
	int rv = parse_suffix(p, &exp10, &exp2, err);
	if (rv != FL_OK) {
		char why[FL_ERR_LEN];
		snprintf(why, sizeof(why), "%s", err != NULL ? err : "");
		return fl_seterr(err, rv, "quantity '%s': %s", s, why);
	}
	exp10 -= frac;
	if (milli) {
		exp10 += 3;
	}
	/* value = mant * 10^exp10 * 2^exp2, rounded away from zero (up in magnitude) like Value(). */
	const u128 limit = (u128)INT64_MAX + (neg ? 1 : 0);
	u128 v = mant;
	for (int i = 0; i < exp2 && v != 0; i++) {
		v <<= 1;
		if (v > limit) {
			return fl_seterr(err, FL_ELIMIT, "quantity '%s' does not fit in 64 bits", s);
		}
	}
	for (int i = 0; i < exp10 && v != 0; i++) {
		v *= 10;
		if (v > limit) {
			return fl_seterr(err, FL_ELIMIT, "quantity '%s' does not fit in 64 bits", s);
		}
	}
	if (exp10 < 0) {
		bool rem = false;
		for (int i = 0; i < -exp10 && v != 0; i++) {
			rem = rem || v % 10 != 0;
			v /= 10;
		}
		if (rem || (v == 0 && mant != 0)) {
			v += 1;
		}
	}
	if (v > limit) {
		return fl_seterr(err, FL_ELIMIT, "quantity '%s' does not fit in 64 bits", s);
	}
	*out = neg ? (int64_t)(-(__int128)v) : (int64_t)v;
	return FL_OK;
}
