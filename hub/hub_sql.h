/* hub_sql.h — small libpq helpers the hub's SQL modules share: connect with a timeout (the one connect helper),
 * word a libpq failure (the one error format; hub_store_exec, the store's exec that also counts db_errors, uses
 * it too), run a statement and check its result, read a one-value answer, build a text[] literal and the
 * arguments of a paged list, format a timestamptz as the API's RFC 3339 text.
 * Connections are the callers'; nothing here keeps state.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the statement and PostgreSQL's words;
 * hub_sql_text_array returns a new string or NULL (out of memory), hub_sql_array_elem a length. */
#ifndef HUB_SQL_H
#define HUB_SQL_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

/* SQL that renders timestamptz column col as "2026-01-02T03:04:05.678Z" (NULL stays NULL). */
#define HUB_SQL_RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The connect timeout (seconds) of every hub connection unless its conninfo sets one. */
#define HUB_SQL_CONNECT_TIMEOUT "10"

/* The one connect-with-timeout: connects *c to conninfo when *c is NULL (connect_timeout
 * HUB_SQL_CONNECT_TIMEOUT, application_name app, and the server options when options is not NULL; conninfo
 * overrides each), resets it when it is not connected, and leaves a connected *c alone. *c stays the
 * caller's (PQfinish). FL_OK when connected; FL_ENOMEM when libpq could not allocate (*c NULL); FL_EDB when
 * not connected (PQerrorMessage(*c) says why). Fills no err: each caller words its own failure. */
int hub_sql_connect(PGconn **c, const char *conninfo, const char *app, const char *options);

/* The one way the hub words a libpq failure: FL_EDB with err "what: primary message (DETAIL: ...; HINT: ...)"
 * on one line, from r's server error (the parenthesis only with a detail or hint, each part's lines joined);
 * when r carries no server error, the connection's message c (r NULL; its lines joined) or r's message or
 * status. Leaves r to the caller. */
int hub_sql_error(PGconn *c, const PGresult *r, const char *what, char err[FL_ERR_LEN]);

/* hub_sql_error, then clears r. For results hub_sql_exec does not run (PQexec, COPY). */
int hub_sql_fail(PGconn *c, PGresult *r, const char *what, char err[FL_ERR_LEN]);

/* Runs sql with n text parameters v (n may be 0). FL_OK when the result status is want: *out (when out
 * is not NULL) receives the result, which the caller PQclears; otherwise it is cleared here. FL_EDB with
 * err worded by hub_sql_error on any other status. */
int hub_sql_exec(PGconn *c, const char *sql, int n, const char *const *v, ExecStatusType want, PGresult **out,
                 const char *what, char err[FL_ERR_LEN]);

/* Runs a query that answers one row of one column and hands back its text as a malloc'd copy in *out
 * (the caller frees). FL_OK, FL_EDB (any other shape of answer), FL_ENOMEM. */
int hub_sql_one_text(PGconn *c, const char *sql, int n, const char *const *v, const char *what, char **out,
                     char err[FL_ERR_LEN]);

/* hub_sql_one_text for the item reads of the API: $1 is key, $2 the text[] of clusters[0..n) the caller may
 * see. FL_OK, FL_EDB, FL_ENOMEM. */
int hub_sql_one_text_in(PGconn *c, const char *sql, const char *key, const char *const *clusters, size_t n,
                        const char *what, char **out, char err[FL_ERR_LEN]);

/* A text[] literal {"a","b"} of n strings (quotes and backslashes escaped, hub_sql_array_elem). malloc'd,
 * caller frees; NULL if out of memory. */
char *hub_sql_text_array(const char *const *items, size_t n);

/* The one way FleetLens quotes an array element: s as "a\"b" (double quotes around it, a backslash before
 * each '"' and '\\'), written to out unterminated when out is not NULL. Returns its length, at most
 * 2 * strlen(s) + 2: call with NULL to size out. */
size_t hub_sql_array_elem(char *out, const char *s);

/* The arguments every paged list query shares, as libpq text parameters: the clusters the caller may see and
 * the statuses asked for as text[] literals (hub_sql_text_array; malloc'd, hub_sql_page_args_free frees them),
 * the page's LIMIT and OFFSET as decimal text. */
typedef struct hub_sql_page_args {
	char *clusters;
	char *statuses;
	char limit[24];
	char offset[24];
} hub_sql_page_args;

/* Fills *a from clusters[0..n_clusters), statuses[0..n_statuses) (either may be empty), limit and offset.
 * FL_OK (the caller calls hub_sql_page_args_free) or FL_ENOMEM with err set (nothing left to free). */
int hub_sql_page_args_init(hub_sql_page_args *a, const char *const *clusters, size_t n_clusters,
                           const char *const *statuses, size_t n_statuses, int64_t limit, int64_t offset,
                           char err[FL_ERR_LEN]);

/* Frees what hub_sql_page_args_init allocated and clears *a; safe to call twice. */
void hub_sql_page_args_free(hub_sql_page_args *a);

#endif
