/* spoke_dl.c — see spoke_dl.h. */
#include "spoke_dl.h"

#include <dlfcn.h>
#include <string.h>

int spoke_dl_open(const char *lib, int extra_flags, const char *what, void *table, const spoke_dl_sym *syms, size_t n,
                  void **dl, char err[FL_ERR_LEN])
{
	*dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL | extra_flags);
	if (*dl == NULL) {
		const char *why = dlerror();
		return fl_seterr(err, FL_ENOTFOUND, "%s: cannot load: %s", lib, why != NULL ? why : "dlopen failed");
	}
	for (size_t i = 0; i < n; i++) {
		void *sym = dlsym(*dl, syms[i].sym);
		if (sym == NULL && !syms[i].optional) {
			dlclose(*dl);
			*dl = NULL;
			return fl_seterr(err, FL_ENOTFOUND, "%s: no symbol %s (%s too old?)", lib, syms[i].sym, what);
		}
		/* A function pointer the size of void *, as POSIX dlsym requires. */
		memcpy((char *)table + syms[i].off, &sym, sizeof(sym));
	}
	return FL_OK;
}
