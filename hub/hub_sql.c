/* hub_sql.c — see hub_sql.h. */
#include "hub_sql.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
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

/* Appends s to out[*o..cap) on one line: newlines and tabs become spaces, runs of spaces one, none at either end
 * of what it adds. Stops (truncates) when out is full; out stays terminated. */
static void put_flat(char *out, size_t cap, size_t *o, const char *s)
{
	size_t start = *o;
	for (const char *p = s; *p != '\0' && *o + 1 < cap; p++) {
		bool space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
		if (space && (*o == start || out[*o - 1] == ' '))
			continue;
		out[(*o)++] = space ? ' ' : *p;
	}
	while (*o > start && out[*o - 1] == ' ')
		(*o)--;
	out[*o] = '\0';
}

static void put_text(char *out, size_t cap, size_t *o, const char *s)
{
	size_t n = strlen(s);
	if (n > cap - 1 - *o)
		n = cap - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

/* A field of r's error, or "" when r has none. */
static const char *diag(const PGresult *r, int field)
{
	const char *v = r != NULL ? PQresultErrorField(r, field) : NULL;
	return v != NULL ? v : "";
}

int hub_sql_error(PGconn *c, const PGresult *r, const char *what, char err[FL_ERR_LEN])
{
	char msg[FL_ERR_LEN];
	size_t o = 0;
	msg[0] = '\0';
	const char *primary = diag(r, PG_DIAG_MESSAGE_PRIMARY);
	if (*primary == '\0') {
		/* No server error: the connection's message (several lines), or a result of an unexpected kind. */
		const char *m = r != NULL ? PQresultErrorMessage(r) : c != NULL ? PQerrorMessage(c) : "";
		put_flat(msg, sizeof(msg), &o, m);
		if (o == 0 && r != NULL) {
			put_text(msg, sizeof(msg), &o, "unexpected result ");
			put_text(msg, sizeof(msg), &o, PQresStatus(PQresultStatus(r)));
		} else if (o == 0) {
			put_text(msg, sizeof(msg), &o, "no connection");
		}
		return fl_seterr(err, FL_EDB, "%s: %s", what, msg);
	}
	put_flat(msg, sizeof(msg), &o, primary);
	const char *detail = diag(r, PG_DIAG_MESSAGE_DETAIL), *hint = diag(r, PG_DIAG_MESSAGE_HINT);
	if (*detail != '\0' || *hint != '\0') {
		put_text(msg, sizeof(msg), &o, " (");
		if (*detail != '\0') {
			put_text(msg, sizeof(msg), &o, "DETAIL: ");
			put_flat(msg, sizeof(msg), &o, detail);
		}
		if (*hint != '\0') {
			put_text(msg, sizeof(msg), &o, *detail != '\0' ? "; HINT: " : "HINT: ");
			put_flat(msg, sizeof(msg), &o, hint);
		}
		put_text(msg, sizeof(msg), &o, ")");
	}
	return fl_seterr(err, FL_EDB, "%s: %s", what, msg);
}

int hub_sql_fail(PGconn *c, PGresult *r, const char *what, char err[FL_ERR_LEN])
{
	int rv = hub_sql_error(c, r, what, err);
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

int hub_sql_page_args_init(hub_sql_page_args *a, const char *const *clusters, size_t n_clusters,
                           const char *const *statuses, size_t n_statuses, int64_t limit, int64_t offset,
                           char err[FL_ERR_LEN])
{
	memset(a, 0, sizeof(*a));
	a->clusters = hub_sql_text_array(clusters, n_clusters);
	a->statuses = hub_sql_text_array(statuses, n_statuses);
	if (a->clusters == NULL || a->statuses == NULL) {
		hub_sql_page_args_free(a);
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	snprintf(a->limit, sizeof(a->limit), "%" PRId64, limit);
	snprintf(a->offset, sizeof(a->offset), "%" PRId64, offset);
	return FL_OK;
}

void hub_sql_page_args_free(hub_sql_page_args *a)
{
	free(a->clusters);
	free(a->statuses);
	a->clusters = a->statuses = NULL;
}
