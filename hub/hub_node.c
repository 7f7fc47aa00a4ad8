/* hub_node.c — the node agents' rows in the hub DB (node_agent, node_gpu, rdma_device, node_device_changelog,
 * gpu_job, gpu_job_sample): written from node frames, marked lost by the sweep, read back for a node's agent and GPUs.
 */
#include "hub_node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fl_time.h"
#include "hub_config.h"
#include "hub_sql.h"

/* --- checking and turning the frame into jsonb parameters -------------------------------------------- */

typedef struct job_key {
	int64_t pid, started;
} job_key;

static int cmp_job_key(const void *a, const void *b)
{
	const job_key *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->started < y->started ? -1 : x->started > y->started;
}

static int cmp_int32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The identities in f that must be unique (GPU index, RDMA name, job (pid, started)) and job times.
 * FL_OK, FL_EINVAL naming the repeat, FL_ENOMEM. */
static int check_frame(const fl_proto_frame *f, char err[FL_ERR_LEN])
{
	int rv = FL_OK;
	int32_t *ids = calloc(f->n_gpus + 1, sizeof(*ids));
	const char **names = calloc(f->n_rdma + 1, sizeof(*names));
	job_key *jobs = calloc(f->n_jobs + 1, sizeof(*jobs));
	if (ids == NULL || names == NULL || jobs == NULL) {
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < f->n_gpus; i++)
		ids[i] = f->gpus[i].gpu_id;
	qsort(ids, f->n_gpus, sizeof(*ids), cmp_int32);
	for (uint32_t i = 1; i < f->n_gpus && rv == FL_OK; i++)
		if (ids[i] == ids[i - 1])
			rv = fl_seterr(err, FL_EINVAL, "gpus: gpu_id %" PRId32 " is listed twice", ids[i]);
	for (uint32_t i = 0; i < f->n_rdma; i++)
		names[i] = f->rdma[i].name;
	qsort(names, f->n_rdma, sizeof(*names), cmp_str);
	for (uint32_t i = 1; i < f->n_rdma && rv == FL_OK; i++)
		if (strcmp(names[i], names[i - 1]) == 0)
			rv = fl_seterr(err, FL_EINVAL, "rdma: device \"%.64s\" is listed twice", names[i]);
	for (uint32_t i = 0; i < f->n_jobs && rv == FL_OK; i++) {
		jobs[i] = (job_key){f->jobs[i].pid, f->jobs[i].started_ms};
		if (f->jobs[i].started_ms < 0 || f->jobs[i].started_ms > FL_MAX_TIME_MS)
			rv = fl_seterr(err, FL_EINVAL,
			               "jobs[%" PRIu32 "].started: %" PRId64 " is not a time in 1970..9999", i,
			               f->jobs[i].started_ms);
	}
	qsort(jobs, f->n_jobs, sizeof(*jobs), cmp_job_key);
	for (uint32_t i = 1; i < f->n_jobs && rv == FL_OK; i++)
		if (cmp_job_key(&jobs[i], &jobs[i - 1]) == 0)
			rv = fl_seterr(err, FL_EINVAL, "jobs: pid %" PRId64 " started at %" PRId64 " is listed twice",
			               jobs[i].pid, jobs[i].started);
out:
	free(ids);
	free(names);
	free(jobs);
	return rv;
}

static json_t *opt_real(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

/* A number as JSON: whole numbers within +-2^53 as integers (32, not 32.0), others as reals. */
static json_t *kv_number(double v)
{
	if (v == (double)(int64_t)v && v >= -9007199254740992.0 && v <= 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* kv[0..n) as a JSON object {key: value} (a repeated key: the last one). NULL if out of memory. */
static json_t *kv_object(const fl_proto_kv *kv, uint32_t n)
{
	json_t *o = json_object();
	for (uint32_t i = 0; o != NULL && i < n; i++) {
		json_t *v = kv[i].is_num ? kv_number(kv[i].num) : json_string(kv[i].value);
		if (json_object_set_new(o, kv[i].key, v) != 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* One job as the JSON object SQL_JOBS reads. NULL if out of memory. */
static json_t *job_json(const fl_proto_job *x)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "pid", (json_int_t)x->pid, "started_ms",
	                      (json_int_t)x->started_ms, "ppid", (json_int_t)x->ppid, "pgid", (json_int_t)x->pgid,
	                      "name", x->name, "cmdline", x->cmdline, "cwd", x->cwd, "framework", x->framework,
	                      "pod_uid", x->pod_uid, "devices", x->devices);
	json_t *more = json_pack("{s:s,s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:s,s:o,s:o}", "state", x->state, "cpu",
	                         opt_real(x->has_cpu, x->cpu_percent), "rss", (json_int_t)x->rss_bytes, "threads",
	                         (json_int_t)x->threads, "fds", (json_int_t)x->fds, "gpu_memory",
	                         x->has_gpu_memory ? json_integer(x->gpu_memory_bytes) : json_null(), "gpu_util",
	                         opt_real(x->has_gpu_utilization, x->gpu_utilization), "gpu_ids",
	                         fl_proto_gpu_mask_to_json(x->gpu_mask), "config", x->config_path, "params",
	                         kv_object(x->params, x->n_params), "env", kv_object(x->env, x->n_env));
	if (o == NULL || more == NULL || json_object_update(o, more) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(more);
	return o;
}

/* The frame's GPUs, RDMA devices and jobs as three JSON texts (malloc'd). FL_OK or FL_ENOMEM. */
static int frame_json(const fl_proto_frame *f, char **gpus, char **rdma, char **jobs, char err[FL_ERR_LEN])
{
	json_t *g = json_array(), *r = json_array(), *j = json_array();
	bool ok = g != NULL && r != NULL && j != NULL;
	for (uint32_t i = 0; ok && i < f->n_gpus; i++) {
		const fl_proto_gpu *x = &f->gpus[i];
		ok = json_array_append_new(
		         g, json_pack("{s:i,s:s,s:I,s:o,s:f,s:f,s:s,s:i,s:o,s:s,s:s}", "gpu_id", (int)x->gpu_id,
		                      "gpu_model", x->gpu_model, "memory", (json_int_t)x->memory_mib, "utilization",
		                      opt_real(x->has_utilization, x->utilization), "temperature", x->temperature,
		                      "power", x->power, "serial", x->serial, "numa", (int)x->numa, "memory_used",
		                      x->has_memory_used ? json_integer(x->memory_used_mib) : json_null(), "health",
		                      x->health, "health_detail", x->health_detail)) == 0;
	}
	for (uint32_t i = 0; ok && i < f->n_rdma; i++) {
		const fl_proto_rdma *x = &f->rdma[i];
		ok = json_array_append_new(
		         r, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o}", "name", x->name, "node_guid",
		                      x->node_guid, "fw_version", x->fw_version, "port_state", x->port_state,
		                      "link_layer", x->link_layer, "rx_bytes", (json_int_t)x->rx_bytes, "tx_bytes",
		                      (json_int_t)x->tx_bytes, "rx_rate", opt_real(x->has_rates, x->rx_rate), "tx_rate",
		                      opt_real(x->has_rates, x->tx_rate))) == 0;
	}
	for (uint32_t i = 0; ok && i < f->n_jobs; i++)
		ok = json_array_append_new(j, job_json(&f->jobs[i])) == 0;
	*gpus = ok ? json_dumps(g, JSON_COMPACT) : NULL;
	*rdma = ok ? json_dumps(r, JSON_COMPACT) : NULL;
	/* 15 significant digits: a parameter the spoke called a number (<= 15 of them) reads back as written. */
	*jobs = ok ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(g);
	json_decref(r);
	json_decref(j);
	if (*gpus == NULL || *rdma == NULL || *jobs == NULL) {
		free(*gpus);
		free(*rdma);
		free(*jobs);
		*gpus = *rdma = *jobs = NULL;
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	return FL_OK;
}

/* --- the write ---------------------------------------------------------------------------------------- */

#define TS(p) "to_timestamp(" p "::bigint / 1000.0)"

static const char SQL_CLAIM[] = "INSERT INTO node_agent (cluster_name, node_name, spoke_id, last_seq, src_sent_ms)"
                                " VALUES ($1, $2, $3, 0, -9223372036854775808) ON CONFLICT DO NOTHING";

static const char SQL_LOCK[] = "SELECT spoke_id, last_seq, src_sent_ms, status FROM node_agent"
                               " WHERE cluster_name = $1 AND node_name = $2 FOR UPDATE";

/* clang-format off */
/* $3 GPUs, $4 RDMA devices (jsonb), $5 recv_ms. A GPU or RDMA device that appeared, disappeared or changed
 * identity; a GPU whose health changed (detail: the new health_detail). */
static const char SQL_CHANGES[] =
    "WITH ng AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(gpu_id int, serial text, health text,"
    " health_detail text)),"
    " og AS (SELECT gpu_id, serial, health FROM node_gpu WHERE cluster_name = $1 AND node_name = $2),"
    " nr AS (SELECT * FROM jsonb_to_recordset($4::jsonb) AS x(name text, node_guid text)),"
    " orr AS (SELECT name, node_guid FROM rdma_device WHERE cluster_name = $1 AND node_name = $2),"
    " ch AS (SELECT 'gpu' AS t, coalesce(n.gpu_id, o.gpu_id)::text AS dev, CASE WHEN o.gpu_id IS NULL THEN"
    " 'added' WHEN n.gpu_id IS NULL THEN 'removed' ELSE 'replaced' END AS change, o.serial AS old_id,"
    " n.serial AS new_id, NULL::text AS detail"
    " FROM ng n FULL JOIN og o ON n.gpu_id = o.gpu_id"
    " WHERE o.gpu_id IS NULL OR n.gpu_id IS NULL OR n.serial IS DISTINCT FROM o.serial"
    " UNION ALL SELECT 'gpu', n.gpu_id::text, 'health', o.health, n.health, n.health_detail FROM ng n"
    " JOIN og o ON n.gpu_id = o.gpu_id WHERE n.health IS DISTINCT FROM o.health"
    " UNION ALL SELECT 'rdma', coalesce(n.name, o.name), CASE WHEN o.name IS NULL THEN 'added' WHEN n.name IS NULL"
    " THEN 'removed' ELSE 'replaced' END, o.node_guid, n.node_guid, NULL FROM nr n FULL JOIN orr o"
    " ON n.name = o.name WHERE o.name IS NULL OR n.name IS NULL OR n.node_guid IS DISTINCT FROM o.node_guid)"
    " INSERT INTO node_device_changelog (cluster_name, node_name, device_type, device, change, old_identity,"
    " new_identity, detail, changed_at) SELECT $1, $2, t, dev, change, old_id, new_id, detail, " TS("$5") " FROM ch";

/* $3 GPUs (jsonb), $4 recv_ms. */
static const char SQL_GPUS[] =
    "WITH ng AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(gpu_id int, gpu_model text, memory bigint,"
    " utilization double precision, temperature double precision, power double precision, serial text, numa int,"
    " memory_used bigint, health text, health_detail text)),"
    " d AS (DELETE FROM node_gpu g WHERE g.cluster_name = $1 AND g.node_name = $2"
    " AND NOT EXISTS (SELECT 1 FROM ng WHERE ng.gpu_id = g.gpu_id))"
    " INSERT INTO node_gpu (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power,"
    " serial, numa, memory_used, health, health_detail, updated_at) SELECT $1, $2, gpu_id, gpu_model, memory,"
    " utilization, temperature, power, serial, numa, memory_used, health, health_detail, " TS("$4") " FROM ng"
    " ON CONFLICT (cluster_name, node_name, gpu_id) DO UPDATE SET gpu_model = EXCLUDED.gpu_model,"
    " memory = EXCLUDED.memory, utilization = EXCLUDED.utilization, temperature = EXCLUDED.temperature,"
    " power = EXCLUDED.power, serial = EXCLUDED.serial, numa = EXCLUDED.numa, memory_used = EXCLUDED.memory_used,"
    " health = EXCLUDED.health, health_detail = EXCLUDED.health_detail, updated_at = EXCLUDED.updated_at";

/* $3 RDMA devices (jsonb), $4 recv_ms. */
static const char SQL_RDMA[] =
    "WITH nr AS (SELECT * FROM jsonb_to_recordset($3::jsonb) AS x(name text, node_guid text, fw_version text,"
    " port_state text, link_layer text, rx_bytes bigint, tx_bytes bigint, rx_rate double precision,"
    " tx_rate double precision)),"
    " d AS (DELETE FROM rdma_device r WHERE r.cluster_name = $1 AND r.node_name = $2"
    " AND NOT EXISTS (SELECT 1 FROM nr WHERE nr.name = r.name))"
    " INSERT INTO rdma_device (cluster_name, node_name, name, node_guid, fw_version, port_state, link_layer,"
    " rx_bytes, tx_bytes, rx_rate, tx_rate, updated_at) SELECT $1, $2, name, node_guid, fw_version, port_state,"
    " link_layer, rx_bytes, tx_bytes, rx_rate, tx_rate, " TS("$4") " FROM nr"
    " ON CONFLICT (cluster_name, node_name, name) DO UPDATE SET node_guid = EXCLUDED.node_guid,"
    " fw_version = EXCLUDED.fw_version, port_state = EXCLUDED.port_state, link_layer = EXCLUDED.link_layer,"
    " rx_bytes = EXCLUDED.rx_bytes, tx_bytes = EXCLUDED.tx_bytes, rx_rate = EXCLUDED.rx_rate,"
    " tx_rate = EXCLUDED.tx_rate, updated_at = EXCLUDED.updated_at";

/* $3 jobs (jsonb), $4 recv_ms, $5 the frame's sent (ms), $6 hub.job_idle_utilization. Upserts the jobs (a
 * sample is idle when the job holds accelerator memory at under $6 % utilization: idle_since keeps its time,
 * or becomes the frame's sent; otherwise NULL), ends the node's live jobs the frame does not list, and appends
 * one gpu_job_sample per job at the frame's sent. Answers (started, ended). */
static const char SQL_JOBS[] =
    "WITH nj AS (SELECT *, (gpu_memory > 0 AND gpu_util < $6::float8) AS idle FROM jsonb_to_recordset($3::jsonb)"
    " AS x(pid bigint, started_ms bigint, ppid bigint, pgid bigint, name text, cmdline text, cwd text,"
    " framework text, pod_uid text, devices text, state text, cpu double precision, rss bigint, threads int,"
    " fds int, gpu_memory bigint, gpu_util double precision, gpu_ids int[], config text, params jsonb, env jsonb)),"
    " ended AS (UPDATE gpu_job g SET status = 'ended', ended_at = " TS("$4") " WHERE g.cluster_name = $1"
    " AND g.node_name = $2 AND g.status <> 'ended'"
    " AND NOT EXISTS (SELECT 1 FROM nj WHERE nj.pid = g.pid AND nj.started_ms = g.started_ms) RETURNING 1),"
    " up AS (INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, ppid, pgid, name, cmdline, cwd,"
    " framework, pod_uid, devices, status, first_seen, last_seen, params, env, config_path, gpu_ids, idle_since)"
    " SELECT $1, $2, pid, started_ms, ppid, pgid, name, cmdline, cwd, framework, pod_uid, devices, 'running', "
    TS("$4") ", " TS("$4") ", params, env, config, gpu_ids, CASE WHEN idle THEN " TS("$5") " END FROM nj"
    " ON CONFLICT (cluster_name, node_name, pid, started_ms) DO UPDATE SET ppid = EXCLUDED.ppid,"
    " pgid = EXCLUDED.pgid, name = EXCLUDED.name, cmdline = EXCLUDED.cmdline, cwd = EXCLUDED.cwd,"
    " framework = EXCLUDED.framework, pod_uid = EXCLUDED.pod_uid, devices = EXCLUDED.devices, status = 'running',"
    " last_seen = EXCLUDED.last_seen, ended_at = NULL, params = EXCLUDED.params, env = EXCLUDED.env,"
    " config_path = EXCLUDED.config_path, gpu_ids = EXCLUDED.gpu_ids, idle_since = CASE WHEN"
    " EXCLUDED.idle_since IS NULL THEN NULL ELSE coalesce(gpu_job.idle_since, EXCLUDED.idle_since) END"
    " RETURNING id, pid, started_ms, (xmax = 0) AS inserted),"
    " s AS (INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads,"
    " fds, gpu_memory_bytes, gpu_utilization) SELECT $1, up.id, " TS("$5") ", nj.state, nj.cpu, nj.rss,"
    " nj.threads, nj.fds, nj.gpu_memory, nj.gpu_util FROM up JOIN nj USING (pid, started_ms))"
    " SELECT (SELECT count(*) FROM up WHERE inserted), (SELECT count(*) FROM ended)";
/* clang-format on */

static const char SQL_AGENT[] =
    "UPDATE node_agent SET spoke_id = $3, last_seq = $4, src_sent_ms = $5, gpu_source = $6, spoke_version = $7,"
    " last_seen = " TS("$8") ", first_seen = CASE WHEN src_sent_ms = -9223372036854775808 THEN " TS(
        "$8") " ELSE"
              " first_seen END, status = 'ok', lost_at = NULL WHERE cluster_name = $1 AND node_name = $2";

/* Whether the frame is newer than what the agent row holds (see hub_node_apply). */
static hub_node_verdict decide(const fl_proto_frame *f, PGresult *row)
{
	const char *spoke = PQgetvalue(row, 0, 0);
	uint64_t last_seq = strtoull(PQgetvalue(row, 0, 1), NULL, 10);
	int64_t sent = strtoll(PQgetvalue(row, 0, 2), NULL, 10);
	if (strcmp(spoke, f->env.spoke_id) == 0)
		return f->env.seq > last_seq ? HUB_NODE_APPLIED : HUB_NODE_DUPLICATE;
	return f->env.sent_at_ms >= sent ? HUB_NODE_APPLIED : HUB_NODE_STALE;
}

/* The frame's three JSON texts (frame_json) and hub.job_idle_utilization. */
typedef struct frame_texts {
	char *gpus, *rdma, *jobs;
	char idle[32];
} frame_texts;

static int write_locked(PGconn *c, const fl_proto_frame *f, int64_t recv_ms, const frame_texts *t, hub_node_result *res,
                        char err[FL_ERR_LEN])
{
	const char *cl = f->env.cluster, *node = f->host.node, *gpus = t->gpus, *rdma = t->rdma, *jobs = t->jobs;
	char seq[24], sent[24], recv[24];
	snprintf(seq, sizeof(seq), "%" PRIu64, f->env.seq);
	snprintf(sent, sizeof(sent), "%" PRId64, f->env.sent_at_ms);
	snprintf(recv, sizeof(recv), "%" PRId64, recv_ms);
	const char *claim[] = {cl, node, f->env.spoke_id};
	int rv = hub_sql_exec(c, SQL_CLAIM, 3, claim, PGRES_COMMAND_OK, NULL, "node agent", err);
	PGresult *row = NULL;
	if (rv == FL_OK)
		rv = hub_sql_exec(c, SQL_LOCK, 2, claim, PGRES_TUPLES_OK, &row, "node agent lock", err);
	if (rv != FL_OK)
		return rv;
	if (PQntuples(row) != 1) {
		PQclear(row);
		return fl_seterr(err, FL_EDB, "node agent lock: no row for %s/%s", cl, node);
	}
	res->first = strcmp(PQgetvalue(row, 0, 2), "-9223372036854775808") == 0;
	res->recovered = strcmp(PQgetvalue(row, 0, 3), "lost") == 0;
	res->verdict = res->first ? HUB_NODE_APPLIED : decide(f, row);
	PQclear(row);
	if (res->verdict != HUB_NODE_APPLIED) {
		res->recovered = false;
		return FL_OK;
	}
	const char *ch[] = {cl, node, gpus, rdma, recv};
	PGresult *r = NULL;
	if ((rv = hub_sql_exec(c, SQL_CHANGES, 5, ch, PGRES_COMMAND_OK, &r, "device changes", err)) != FL_OK)
		return rv;
	res->changes = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	const char *gv[] = {cl, node, gpus, recv}, *rv4[] = {cl, node, rdma, recv},
	           *jv[] = {cl, node, jobs, recv, sent, t->idle};
	if ((rv = hub_sql_exec(c, SQL_GPUS, 4, gv, PGRES_COMMAND_OK, NULL, "node GPUs", err)) != FL_OK ||
	    (rv = hub_sql_exec(c, SQL_RDMA, 4, rv4, PGRES_COMMAND_OK, NULL, "RDMA devices", err)) != FL_OK ||
	    (rv = hub_sql_exec(c, SQL_JOBS, 6, jv, PGRES_TUPLES_OK, &r, "GPU jobs", err)) != FL_OK)
		return rv;
	res->jobs_started = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	res->jobs_ended = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	const char *version = f->has_facts ? f->facts.spoke_version : "";
	const char *av[] = {cl, node, f->env.spoke_id, seq, sent, f->host.gpu_source, version, recv};
	return hub_sql_exec(c, SQL_AGENT, 8, av, PGRES_COMMAND_OK, NULL, "node agent", err);
}

int hub_node_apply(PGconn *c, const fl_proto_frame *f, int64_t recv_ms, double job_idle_utilization,
                   hub_node_result *res, char err[FL_ERR_LEN])
{
	memset(res, 0, sizeof(*res));
	if (f->env.kind != FL_FRAME_NODE || !f->has_host)
		return fl_seterr(err, FL_EINVAL, "not a node frame");
	frame_texts t = {0};
	snprintf(t.idle, sizeof(t.idle), "%.17g", job_idle_utilization);
	int rv = check_frame(f, err);
	if (rv == FL_OK)
		rv = frame_json(f, &t.gpus, &t.rdma, &t.jobs, err);
	if (rv != FL_OK)
		return rv;
	/* gpu_job_sample is locked before any gpu_job row: the partition upkeep locks the history tables, then
	 * deletes old ended jobs (hub_history_maint.c), so the other order could deadlock with it. One round trip. */
	PGresult *b = PQexec(c, "BEGIN; LOCK TABLE gpu_job_sample IN ROW EXCLUSIVE MODE");
	rv = PQresultStatus(b) == PGRES_COMMAND_OK ? FL_OK : hub_sql_fail(c, b, "BEGIN", err);
	if (rv == FL_OK)
		PQclear(b);
	if (rv == FL_OK)
		rv = write_locked(c, f, recv_ms, &t, res, err);
	if (rv == FL_OK)
		rv = hub_sql_exec(c, res->verdict == HUB_NODE_APPLIED ? "COMMIT" : "ROLLBACK", 0, NULL,
		                  PGRES_COMMAND_OK, NULL, "COMMIT", err);
	else
		PQclear(PQexec(c, "ROLLBACK"));
	free(t.gpus);
	free(t.rdma);
	free(t.jobs);
	if (rv != FL_OK)
		memset(res, 0, sizeof(*res));
	return rv;
}

/* --- the lost sweep ------------------------------------------------------------------------------------ */

static const char SQL_SWEEP[] =
    "WITH lost AS (UPDATE node_agent SET status = 'lost', lost_at = now() WHERE status = 'ok'"
    " AND last_seen < " TS(
        "$1") " RETURNING cluster_name, node_name),"
              " j AS (UPDATE gpu_job g SET status = 'lost' FROM lost l WHERE g.cluster_name = l.cluster_name"
              " AND g.node_name = l.node_name AND g.status = 'running' RETURNING 1)"
              " SELECT (SELECT count(*) FROM lost), (SELECT count(*) FROM j),"
              " coalesce((SELECT string_agg(cluster_name || '/' || node_name, ', ') FROM (SELECT * FROM lost"
              " ORDER BY 1, 2 LIMIT 5) x), '')";

int hub_node_sweep(PGconn *c, int64_t cutoff_ms, int64_t *agents, int64_t *jobs, char names[256], char err[FL_ERR_LEN])
{
	*agents = *jobs = 0;
	names[0] = '\0';
	char cut[24];
	snprintf(cut, sizeof(cut), "%" PRId64, cutoff_ms);
	const char *v[] = {cut};
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, SQL_SWEEP, 1, v, PGRES_TUPLES_OK, &r, "lost sweep", err);
	if (rv != FL_OK)
		return rv;
	*agents = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*jobs = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	snprintf(names, 256, "%.200s%s", PQgetvalue(r, 0, 2), *agents > 5 ? ", ..." : "");
	PQclear(r);
	return FL_OK;
}

/* --- reads --------------------------------------------------------------------------------------------- */

#define RFC HUB_SQL_RFC3339

static const char SQL_AGENTS[] =
    "SELECT coalesce(json_agg(json_build_object('cluster_name', a.cluster_name, 'node_name', a.node_name,"
    " 'status', a.status, 'spoke_id', a.spoke_id, 'gpu_source', a.gpu_source, 'spoke_version', a.spoke_version,"
    " 'first_seen', " RFC("a.first_seen") ", 'last_seen', " RFC("a.last_seen") ", 'lost_at', " RFC(
        "a.lost_at") ","
                     " 'gpus', (SELECT count(*) FROM node_gpu g WHERE g.cluster_name = a.cluster_name AND g.node_name "
                     "= a.node_name),"
                     " 'running_jobs', (SELECT count(*) FROM gpu_job j WHERE j.cluster_name = a.cluster_name"
                     " AND j.node_name = a.node_name AND j.status = 'running'),"
                     " 'lost_jobs', (SELECT count(*) FROM gpu_job j WHERE j.cluster_name = a.cluster_name"
                     " AND j.node_name = a.node_name AND j.status = 'lost'),"
                     " 'rdma_devices', (SELECT coalesce(json_agg(json_build_object('name', d.name, 'node_guid', "
                     "d.node_guid,"
                     " 'fw_version', d.fw_version, 'port_state', d.port_state, 'link_layer', d.link_layer, 'rx_bytes', "
                     "d.rx_bytes,"
                     " 'tx_bytes', d.tx_bytes, 'rx_rate', round(d.rx_rate::numeric, 1), 'tx_rate', "
                     "round(d.tx_rate::numeric, 1))"
                     " ORDER BY d.name), '[]') FROM rdma_device d WHERE d.cluster_name = a.cluster_name"
                     " AND d.node_name = a.node_name),"
                     " 'device_changes', (SELECT coalesce(json_agg(json_build_object('device_type', x.device_type, "
                     "'device',"
                     " x.device, 'change', x.change, 'old_identity', x.old_identity, 'new_identity', x.new_identity, "
                     "'detail', x.detail, 'changed_at', " RFC(
                         "x.changed_at") ") ORDER BY x.id DESC), '[]') FROM (SELECT * FROM node_device_changelog l"
                                         " WHERE l.cluster_name = a.cluster_name AND l.node_name = a.node_name ORDER "
                                         "BY l.id DESC LIMIT 20) x))"
                                         " ORDER BY a.cluster_name), '[]')::text FROM node_agent a"
                                         " WHERE a.node_name = $1 AND a.cluster_name IN (SELECT unnest($2::text[]))";

int hub_node_agents_json(PGconn *c, const char *const *clusters, size_t n, const char *node, char **json,
                         char err[FL_ERR_LEN])
{
	return hub_sql_one_text_in(c, SQL_AGENTS, node, clusters, n, "read node agents", json, err);
}

static const char SQL_NODE_GPUS[] =
    "SELECT coalesce(json_agg(json_build_object('cluster_name', cluster_name, 'node_name', node_name, 'gpu_id',"
    " gpu_id, 'gpu_model', gpu_model, 'memory', memory, 'utilization', utilization, 'temperature', temperature,"
    " 'power', power, 'serial', serial, 'numa', numa, 'memory_used', memory_used, 'health', health,"
    " 'health_detail', health_detail, 'source', 'node') ORDER BY gpu_id), '[]')::text"
    " FROM node_gpu WHERE cluster_name = $1 AND node_name = $2";

int hub_node_gpus_json(PGconn *c, const char *cluster, const char *node, char **json, char err[FL_ERR_LEN])
{
	const char *v[] = {cluster, node};
	return hub_sql_one_text(c, SQL_NODE_GPUS, 2, v, "read node GPUs", json, err);
}
