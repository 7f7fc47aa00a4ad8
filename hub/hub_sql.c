/* hub_sql.c — see hub_sql.h. */
#include "hub_sql.h"

#include <stdlib.h>
#include <string.h>

int hub_sql_connect(PGconn **c, const char *conninfo, const char *app, const char *options)
{
	if (*c == NULL) {
		/* connect_timeout, application_name and options come first so that conninfo can override them. */
		const char *keys[5], *vals[5];
		int n = 0;
		keys[n] = "connect_timeout";
		vals[n++] = HUB_SQL_CONNECT_TIMEOUT;
		keys[n] = "application_name";
		vals[n++] = app;
		if (options != NULL) {
			keys[n] = "options";
			vals[n++] = options;
		}
		keys[n] = "dbname";
		vals[n++] = conninfo;
		keys[n] = vals[n] = NULL;
		*c = PQconnectdbParams(keys, vals, 1);
	} else if (PQstatus(*c) != CONNECTION_OK) {
		PQreset(*c);
	}
	if (*c == NULL)
		return FL_ENOMEM;
	return PQstatus(*c) == CONNECTION_OK ? FL_OK : FL_EDB;
}

int hub_sql_fail(PGconn *c, PGresult *r, const char *what, char err[FL_ERR_LEN])
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c);
	int rv = fl_seterr(err, FL_EDB, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
	PQclear(r);
	return rv;
}

int hub_sql_exec(PGconn *c, const char *sql, int n, const char *const *v, ExecStatusType want, PGresult **out,
                 const char *what, char err[FL_ERR_LEN])
{
	PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != want)
		return hub_sql_fail(c, r, what, err);
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return FL_OK;
}

int hub_sql_one_text(PGconn *c, const char *sql, int n, const char *const *v, const char *what, char **out,
                     char err[FL_ERR_LEN])
{
	*out = NULL;
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, sql, n, v, PGRES_TUPLES_OK, &r, what, err);
	if (rv != FL_OK)
		return rv;
	if (PQntuples(r) != 1 || PQnfields(r) != 1) {
		int rows = PQntuples(r);
		PQclear(r);
		return fl_seterr(err, FL_EDB, "%s: expected one value, got %d rows", what, rows);
	}
	*out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return *out != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
}

int hub_sql_one_text_in(PGconn *c, const char *sql, const char *key, const char *const *clusters, size_t n,
                        const char *what, char **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	char *names = hub_sql_text_array(clusters, n);
	if (names == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	const char *v[] = {key, names};
	int rv = hub_sql_one_text(c, sql, 2, v, what, out, err);
	free(names);
	return rv;
}

size_t hub_sql_array_elem(char *out, const char *s)
{
	size_t n = 0;
	if (out != NULL)
		out[n] = '"';
	n++;
	for (const char *q = s; *q != '\0'; q++) {
		if (*q == '"' || *q == '\\') {
			if (out != NULL)
				out[n] = '\\';
			n++;
		}
		if (out != NULL)
			out[n] = *q;
		n++;
	}
	if (out != NULL)
		out[n] = '"';
	return n + 1;
}

char *hub_sql_text_array(const char *const *items, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(items[i]) + 3;
	char *s = malloc(len), *p = s;
	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		p += hub_sql_array_elem(p, items[i]);
	}
	*p++ = '}';
	*p = '\0';
	return s;
}
