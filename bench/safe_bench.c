/* safe_bench.c — fl-safe-bench: syncing N node_statistic rows FleetLens's way (hub_safe_apply: one
 * SELECT, the diff in C, batched UPDATE/INSERT over unnest) beside the SaFE adapter's way (per row:
 * SELECT the row, then UPDATE it or INSERT it, each statement on its own, as its gorm code does).
 *
 * usage: fl-safe-bench --safe-url CONNINFO [--rows N] [--clusters C] [--baseline-rows M]
 * The database must hold sql/safe/001_safe_schema.sql's node_statistic (scripts/bench.d/safe.sh sets it
 * up, with an index on (cluster, node_name) and one on id so the baseline's per-row lookups are not
 * sequential scans; FleetLens needs neither). The table is emptied first. Prints one JSON object. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"
#include "hub_safe.h"

static PGconn *conn;

static void die(const char *what)
{
	fprintf(stderr, "fl-safe-bench: %s: %s\n", what, PQerrorMessage(conn));
	exit(1);
}

static void exec_ok(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql);
	PQclear(r);
}

static long long scalar(const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql);
	long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* n rows over c clusters: cluster "bench-K", node "gpu-NNNNNN", value 1.00 — the state before a cycle. */
static void preload(size_t n, size_t c)
{
	char sql[512];
	exec_ok("TRUNCATE node_statistic");
	snprintf(sql, sizeof(sql),
	         "INSERT INTO node_statistic (cluster, node_name, gpu_utilization, updated_at)"
	         " SELECT 'bench-' || (i %% %zu), 'gpu-' || lpad(i::text, 6, '0'), 1.00, now()"
	         " FROM generate_series(0, %zu) i",
	         c, n - 1);
	exec_ok(sql);
	exec_ok("VACUUM ANALYZE node_statistic");
}

/* The adapter's write phase for one node: SELECT, then UPDATE or INSERT (autocommit each). */
static void baseline_row(const char *cluster, const char *node, const char *value)
{
	const char *p2[2] = {cluster, node};
	PGresult *r = PQexecParams(conn,
	                           "SELECT id FROM node_statistic WHERE cluster = $1 AND node_name = $2"
	                           " AND deleted_at IS NULL ORDER BY id LIMIT 1",
	                           2, NULL, p2, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("baseline SELECT");
	PGresult *w;
	if (PQntuples(r) > 0) {
		const char *p[2] = {value, PQgetvalue(r, 0, 0)};
		w = PQexecParams(conn,
		                 "UPDATE node_statistic SET gpu_utilization = $1, updated_at = now() WHERE id = $2", 2,
		                 NULL, p, NULL, NULL, 0);
	} else {
		const char *p[3] = {cluster, node, value};
		w = PQexecParams(
		    conn,
		    "INSERT INTO node_statistic (cluster, node_name, gpu_utilization, created_at, updated_at)"
		    " VALUES ($1, $2, $3, now(), now())",
		    3, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(w) != PGRES_COMMAND_OK)
		die("baseline write");
	PQclear(w);
	PQclear(r);
}

/* The command line's settings: rows n over c clusters, nb of them written the baseline's way. */
struct opts {
	const char *url;
	size_t n, c, nb;
};

/* Reads the command line into *o. 0, or 2 (the exit code) after printing the usage. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){.n = 100000, .c = 100};
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--safe-url") == 0)
			o->url = argv[i + 1];
		else if (strcmp(argv[i], "--rows") == 0)
			o->n = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--clusters") == 0)
			o->c = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--baseline-rows") == 0)
			o->nb = strtoul(argv[i + 1], NULL, 10);
	}
	if (o->url == NULL || o->n == 0 || o->c == 0 || o->c > o->n) {
		fprintf(stderr,
		        "usage: fl-safe-bench --safe-url CONNINFO [--rows N] [--clusters C] [--baseline-rows M]\n");
		return 2;
	}
	if (o->nb == 0 || o->nb > o->n)
		o->nb = o->n;
	return 0;
}

/* The hub's data: n nodes over c clusters, every node's value changed (1.00 → 2.00 .. 99.xx); want[i]
 * points into cl and nm, val[i] is its value as text for the baseline. */
struct data {
	char (*cl)[32];
	char (*nm)[32];
	char (*val)[16];
	hub_safe_want *want;
	const char **clusters;
};

static void data_free(struct data *d)
{
	free(d->cl);
	free(d->nm);
	free(d->val);
	free(d->want);
	free(d->clusters);
}

/* Builds *d for n rows over c clusters. 0, or -1 when out of memory. */
static int data_new(struct data *d, size_t n, size_t c)
{
	d->cl = calloc(c, sizeof(*d->cl));
	d->nm = calloc(n, sizeof(*d->nm));
	d->val = calloc(n, sizeof(*d->val));
	d->want = calloc(n, sizeof(*d->want));
	d->clusters = calloc(c, sizeof(*d->clusters));
	if (d->cl == NULL || d->nm == NULL || d->val == NULL || d->want == NULL || d->clusters == NULL) {
		data_free(d);
		return -1;
	}
	for (size_t k = 0; k < c; k++) {
		snprintf(d->cl[k], sizeof(d->cl[k]), "bench-%zu", k);
		d->clusters[k] = d->cl[k];
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(d->nm[i], sizeof(d->nm[i]), "gpu-%06zu", i);
		double v = 2.0 + (double)(i % 9700) / 100.0;
		snprintf(d->val[i], sizeof(d->val[i]), "%.2f", v);
		d->want[i] = (hub_safe_want){.cluster = d->cl[i % c], .node = d->nm[i], .value = v, .has_value = true};
	}
	return 0;
}

/* The figures the run prints. */
struct figures {
	int64_t fl_ms, fl_idle_ms, fl_insert_ms, base_ms;
	long long fl_right;
};

/* FleetLens's way: one cycle updating n rows (the median of 3 runs, each from the same starting state:
 * the machine is shared), one cycle with nothing to change, and one inserting n rows into an empty table
 * (a new SaFE database). 0, or 1 (the exit code) with the message on stderr. */
static int time_fleetlens(const struct opts *o, const struct data *d, struct figures *fig)
{
	char err[FL_ERR_LEN];
	hub_safe_stats st;
	int64_t runs[3], t0;

	for (int k = 0; k < 3; k++) {
		preload(o->n, o->c);
		int64_t t = fl_mono_ms();
		if (hub_safe_apply(conn, d->want, o->n, NULL, 0, d->clusters, o->c, &st, err) != FL_OK) {
			fprintf(stderr, "fl-safe-bench: %s\n", err);
			return 1;
		}
		runs[k] = fl_mono_ms() - t;
		if (st.update != o->n)
			fprintf(stderr, "fl-safe-bench: expected %zu updates, got %zu\n", o->n, st.update);
	}
	int64_t lo = runs[0] < runs[1] ? runs[0] : runs[1], hi = runs[0] < runs[1] ? runs[1] : runs[0];
	fig->fl_ms = runs[2] < lo ? lo : runs[2] > hi ? hi : runs[2];

	t0 = fl_mono_ms();
	if (hub_safe_apply(conn, d->want, o->n, NULL, 0, d->clusters, o->c, &st, err) != FL_OK ||
	    st.unchanged != o->n) {
		fprintf(stderr, "fl-safe-bench: second cycle: %s (unchanged %zu)\n", err, st.unchanged);
		return 1;
	}
	fig->fl_idle_ms = fl_mono_ms() - t0;
	fig->fl_right = scalar("SELECT count(*) FROM node_statistic WHERE gpu_utilization >= 2");

	exec_ok("TRUNCATE node_statistic");
	t0 = fl_mono_ms();
	if (hub_safe_apply(conn, d->want, o->n, NULL, 0, d->clusters, o->c, &st, err) != FL_OK || st.insert != o->n) {
		fprintf(stderr, "fl-safe-bench: insert cycle: %s\n", err);
		return 1;
	}
	fig->fl_insert_ms = fl_mono_ms() - t0;
	return 0;
}

/* The SaFE adapter's way, on the same starting state (nb rows of it; nb < n extrapolates): its time. */
static int64_t time_baseline(const struct opts *o, const struct data *d)
{
	preload(o->n, o->c);
	int64_t t0 = fl_mono_ms();
	for (size_t i = 0; i < o->nb; i++)
		baseline_row(d->want[i].cluster, d->want[i].node, d->val[i]);
	return fl_mono_ms() - t0;
}

/* Prints the one JSON object of the run's figures and the rates and ratio they imply. */
static void print_figures(const struct opts *o, const struct figures *fig)
{
	double base_rate = (double)o->nb / ((double)(fig->base_ms > 0 ? fig->base_ms : 1) / 1000.0);
	double base_full_s = (double)o->n / base_rate;
	double fl_rate = (double)o->n / ((double)(fig->fl_ms > 0 ? fig->fl_ms : 1) / 1000.0);

	printf("{\"rows\":%zu,\"clusters\":%zu,\"fleetlens_update_ms\":%lld,\"fleetlens_rows_per_s\":%.0f,"
	       "\"fleetlens_unchanged_cycle_ms\":%lld,\"fleetlens_insert_ms\":%lld,\"fleetlens_rows_right\":%lld,"
	       "\"baseline_rows\":%zu,\"baseline_ms\":%lld,\"baseline_rows_per_s\":%.0f,\"baseline_full_s\":%.1f,"
	       "\"ratio\":%.1f}\n",
	       o->n, o->c, (long long)fig->fl_ms, fl_rate, (long long)fig->fl_idle_ms, (long long)fig->fl_insert_ms,
	       fig->fl_right, o->nb, (long long)fig->base_ms, base_rate, base_full_s,
	       base_full_s * 1000.0 / (double)(fig->fl_ms > 0 ? fig->fl_ms : 1));
}

int main(int argc, char **argv)
{
	struct opts o;
	struct data d;
	struct figures fig;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	conn = PQconnectdb(o.url);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect");
	if (data_new(&d, o.n, o.c) != 0)
		return 1;
	if (time_fleetlens(&o, &d, &fig) != 0)
		return 1;
	fig.base_ms = time_baseline(&o, &d);
	print_figures(&o, &fig);
	PQfinish(conn);
	data_free(&d);
	return 0;
}
