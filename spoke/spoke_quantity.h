/* spoke_quantity.h — Kubernetes resource quantities ("191500m", "2113645Mi", "1Ti", "1e3", "8").
 *
 * The grammar of k8s.io/apimachinery resource.Quantity: an optional sign, a decimal number (digits
 * with at most one '.'), then one suffix: binary Ki Mi Gi Ti Pi Ei, decimal n u m k M G T P E, a
 * decimal exponent e<int>/E<int>, or none. Values are rounded up to the requested unit, as
 * Quantity.Value() / MilliValue() do. Pure functions, no allocation.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what and where. */
#ifndef SPOKE_QUANTITY_H
#define SPOKE_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"

#define SPOKE_QUANTITY_MAX_LEN 64 /* longer strings are refused */

/* Parses s. With milli false, *out is the value in base units (bytes, cores, devices), rounded up;
 * with milli true, the value × 1000 rounded up ("191500m" → 191500, "2" → 2000).
 * FL_OK; FL_EINVAL for anything that is not a quantity (err says what and where); FL_ELIMIT when the
 * value does not fit an int64 or s is longer than SPOKE_QUANTITY_MAX_LEN. *out is 0 on failure. */
int spoke_quantity_parse(const char *s, bool milli, int64_t *out, char err[FL_ERR_LEN]);

#endif
