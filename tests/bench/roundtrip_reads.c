/* roundtrip_reads.c — see roundtrip_reads.h. */
#include "roundtrip_reads.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

/* Each node's newest sample (node_utilization_history_node_idx, newest first in every day partition); the same
 * join hub_store's view load uses. */
#define LATEST_SAMPLE(n)                                                                                               \
	" LEFT JOIN LATERAL (SELECT h.gpu_utilization, h.gpu_ids, h.gpu_utilizations, h.gpu_temperatures,"             \
	" h.gpu_powers FROM node_utilization_history h WHERE h.cluster_name = " n ".cluster_name"                      \
	" AND h.node_name = " n ".name ORDER BY h.sampled_at DESC LIMIT 1) s ON true"

static int64_t int_or(PGresult *r, int row, int col, int64_t def)
{
	return PQgetisnull(r, row, col) ? def : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int roundtrip_read_nodes(hub_store *s, const char *cluster, int64_t limit, int64_t offset, json_t **rows,
                         int64_t *total, char err[FL_ERR_LEN])
{
	*rows = NULL;
	*total = 0;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	char lim[32], off[32];
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	const char *v[] = {lim, off, cluster};
	int n = cluster != NULL ? 3 : 2;
	/* The page first, then each of its nodes' newest sample. */
	const char *page_sql =
	    cluster != NULL ? "SELECT n.name, n.address, n.gpu_name, n.gpu_count, n.gpu_allocation, s.gpu_utilization,"
	                      " n.status, n.cluster_name FROM (SELECT * FROM node WHERE cluster_name = $3"
	                      " ORDER BY cluster_name, name LIMIT $1 OFFSET $2) n" LATEST_SAMPLE(
	                          "n") " ORDER BY n.cluster_name, n.name"
	                    : "SELECT n.name, n.address, n.gpu_name, n.gpu_count, n.gpu_allocation, s.gpu_utilization,"
	                      " n.status, n.cluster_name FROM (SELECT * FROM node ORDER BY cluster_name, name"
	                      " LIMIT $1 OFFSET $2) n" LATEST_SAMPLE("n") " ORDER BY n.cluster_name, n.name";
	const char *count_sql =
	    cluster != NULL ? "SELECT count(*) FROM node WHERE cluster_name = $1" : "SELECT count(*) FROM node";
	PGresult *r = NULL;
	if ((rv = hub_store_exec(s, "count nodes", count_sql, cluster != NULL ? 1 : 0, cluster != NULL ? &v[2] : NULL,
	                         PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	*total = int_or(r, 0, 0, 0);
	PQclear(r);
	if ((rv = hub_store_exec(s, "read nodes", page_sql, n, v, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	json_t *arr = json_array();
	for (int row = 0; arr != NULL && row < PQntuples(r); row++) {
		json_t *util = PQgetisnull(r, row, 5) ? json_null() : json_real(strtod(PQgetvalue(r, row, 5), NULL));
		json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:s,s:s}", "name", PQgetvalue(r, row, 0), "ip",
		                      PQgetvalue(r, row, 1), "gpu_name", PQgetvalue(r, row, 2), "gpu_count",
		                      (json_int_t)int_or(r, row, 3, 0), "gpu_allocation",
		                      (json_int_t)int_or(r, row, 4, 0), "gpu_utilization", util, "status",
		                      PQgetvalue(r, row, 6), "cluster_name", PQgetvalue(r, row, 7));
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(r);
	if (arr == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	*rows = arr;
	return FL_OK;
}
