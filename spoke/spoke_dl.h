/* spoke_dl.h — a vendor library the node role loads at run time (NVIDIA's NVML, Huawei's DCMI): dlopen, and
 * its entry points filled into the caller's table of function pointers, so the spoke neither links to the
 * library nor needs it on nodes without that vendor's devices.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_DL_H
#define SPOKE_DL_H

#include <stdbool.h>
#include <stddef.h>

#include "fl_err.h"

/* One entry point: its symbol, where its function pointer sits in the caller's table, and whether the
 * library may lack it (the pointer is then NULL). */
typedef struct spoke_dl_sym {
	const char *sym;
	size_t off;
	bool optional;
} spoke_dl_sym;

/* dlopen(lib, RTLD_NOW | RTLD_LOCAL | extra_flags) into *dl, then each of syms[0..n) into the function
 * pointer at (char *)table + off. FL_OK (close *dl with dlclose); FL_ENOTFOUND when the library cannot be
 * loaded ("LIB: cannot load: WHY") or lacks a symbol that is not optional ("LIB: no symbol S (WHAT too
 * old?)", WHAT naming the library: "NVML"), with nothing left open and *dl NULL. */
int spoke_dl_open(const char *lib, int extra_flags, const char *what, void *table, const spoke_dl_sym *syms, size_t n,
                  void **dl, char err[FL_ERR_LEN]);

#endif
