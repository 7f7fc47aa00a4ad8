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

int main(int argc, char **argv)
{
	const char *url = NULL;
	size_t n = 100000, c = 100, nb = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--safe-url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--rows") == 0)
			n = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--clusters") == 0)
			c = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--baseline-rows") == 0)
			nb = strtoul(argv[i + 1], NULL, 10);
	}
	if (url == NULL || n == 0 || c == 0 || c > n) {
		fprintf(stderr,
		        "usage: fl-safe-bench --safe-url CONNINFO [--rows N] [--clusters C] [--baseline-rows M]\n");
		return 2;
	}
	if (nb == 0 || nb > n)
		nb = n;
	conn = PQconnectdb(url);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect");

	/* The hub's data: every node's value changed (1.00 → 2.00 .. 99.xx). */
	char(*cl)[32] = calloc(c, sizeof(*cl));
	char(*nm)[32] = calloc(n, sizeof(*nm));
	char(*val)[16] = calloc(n, sizeof(*val));
	hub_safe_want *want = calloc(n, sizeof(*want));
	const char **clusters = calloc(c, sizeof(*clusters));
	if (cl == NULL || nm == NULL || val == NULL || want == NULL || clusters == NULL)
		return 1;
	for (size_t k = 0; k < c; k++) {
		snprintf(cl[k], sizeof(cl[k]), "bench-%zu", k);
		clusters[k] = cl[k];
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(nm[i], sizeof(nm[i]), "gpu-%06zu", i);
		double v = 2.0 + (double)(i % 9700) / 100.0;
		snprintf(val[i], sizeof(val[i]), "%.2f", v);
		want[i] = (hub_safe_want){.cluster = cl[i % c], .node = nm[i], .value = v, .has_value = true};
	}

	/* FleetLens: one cycle updating n rows (the median of 3 runs, each from the same starting state: the
	 * machine is shared), then one cycle with nothing to change. */
	char err[FL_ERR_LEN];
	hub_safe_stats st;
	int64_t runs[3];
	for (int k = 0; k < 3; k++) {
		preload(n, c);
		int64_t t = fl_mono_ms();
		if (hub_safe_apply(conn, want, n, NULL, 0, clusters, c, &st, err) != FL_OK) {
			fprintf(stderr, "fl-safe-bench: %s\n", err);
			return 1;
		}
		runs[k] = fl_mono_ms() - t;
		if (st.update != n)
			fprintf(stderr, "fl-safe-bench: expected %zu updates, got %zu\n", n, st.update);
	}
	int64_t lo = runs[0] < runs[1] ? runs[0] : runs[1], hi = runs[0] < runs[1] ? runs[1] : runs[0];
	int64_t fl_ms = runs[2] < lo ? lo : runs[2] > hi ? hi : runs[2];
	int64_t t0;

	t0 = fl_mono_ms();
	if (hub_safe_apply(conn, want, n, NULL, 0, clusters, c, &st, err) != FL_OK || st.unchanged != n) {
		fprintf(stderr, "fl-safe-bench: second cycle: %s (unchanged %zu)\n", err, st.unchanged);
		return 1;
	}
	int64_t fl_idle_ms = fl_mono_ms() - t0;
	long long fl_right = scalar("SELECT count(*) FROM node_statistic WHERE gpu_utilization >= 2");

	/* FleetLens inserting n rows into an empty table (a new SaFE database). */
	exec_ok("TRUNCATE node_statistic");
	t0 = fl_mono_ms();
	if (hub_safe_apply(conn, want, n, NULL, 0, clusters, c, &st, err) != FL_OK || st.insert != n) {
		fprintf(stderr, "fl-safe-bench: insert cycle: %s\n", err);
		return 1;
	}
	int64_t fl_insert_ms = fl_mono_ms() - t0;

	/* The SaFE adapter's way, on the same starting state (nb rows of it; nb < n extrapolates). */
	preload(n, c);
	t0 = fl_mono_ms();
	for (size_t i = 0; i < nb; i++)
		baseline_row(want[i].cluster, want[i].node, val[i]);
	int64_t base_ms = fl_mono_ms() - t0;
	double base_rate = (double)nb / ((double)(base_ms > 0 ? base_ms : 1) / 1000.0);
	double base_full_s = (double)n / base_rate;
	double fl_rate = (double)n / ((double)(fl_ms > 0 ? fl_ms : 1) / 1000.0);

	printf("{\"rows\":%zu,\"clusters\":%zu,\"fleetlens_update_ms\":%lld,\"fleetlens_rows_per_s\":%.0f,"
	       "\"fleetlens_unchanged_cycle_ms\":%lld,\"fleetlens_insert_ms\":%lld,\"fleetlens_rows_right\":%lld,"
	       "\"baseline_rows\":%zu,\"baseline_ms\":%lld,\"baseline_rows_per_s\":%.0f,\"baseline_full_s\":%.1f,"
	       "\"ratio\":%.1f}\n",
	       n, c, (long long)fl_ms, fl_rate, (long long)fl_idle_ms, (long long)fl_insert_ms, fl_right, nb,
	       (long long)base_ms, base_rate, base_full_s, base_full_s * 1000.0 / (double)(fl_ms > 0 ? fl_ms : 1));
	PQfinish(conn);
	free(cl);
	free(nm);
	free(val);
	free(want);
	free(clusters);
	return 0;
}
