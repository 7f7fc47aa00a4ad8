#!/usr/bin/env bash
# The PostgreSQL-backed list routes at fleet size (issue 17), checked by their plans: a real PostgreSQL with
# auto_explain logging the plan of every statement (JSON, with actual row counts), a fleet written by SQL
# (100 clusters, 200,000 workloads, their 400,000 pods live or gone, 400,000 workload and 160,000 pod
# samples, 10,000 nodes and node agents, 100,000 GPU jobs; then VACUUM ANALYZE), the real hub (100 clusters configured, no spoke). Every
# filter/order combination GET /v1/workloads accepts (no filter, namespace, kind, status, name and each
# combination of them, times every order_by both ways), GET /v1/jobs (node, framework, status, param, idle and their
# combinations) and the Lens workload list (name, kind, namespace, status and their combinations, both
# orders) is called once; the plans of its list statement must not hold
#   - a Seq Scan of gpu_workload, gpu_pod, gpu_pod_history, gpu_job, node or a partition of the sample tables
#     (workload_utilization_history, pod_utilization_history) that keeps fewer than 1 in 5 of the rows it
#     reads: a selective filter or a join an index should answer (a scan that keeps most of what it reads,
#     such as the count of every workload, or one fifth of them sorted by utilization, is what an index
#     would cost too; an empty partition created ahead reads nothing), or
#   - scans of those tables that read (rows returned + removed by a filter or recheck, times loops) more than
#     10 x (the answer's total + the page) + 200,000 rows (one pass over the workloads is the planner's right
#     choice for some combined filters): a table or an index walked whole per row of a join, or
#   - where the request has no filter but its scope and its order is an index order (everything but
#     order_by=gpu_utilization and Lens's end_at), a Sort fed more than 10 x the page's rows (LIMIT +
#     OFFSET) at once: the page did not walk its index (the page's own pods, a few per row, sort within it).
# A failure names the route, the statement and the plan node. Answers are checked by value too: totals and
# rows against the same questions asked of the tables directly, and LIKE's wildcards (%, _) in a name
# searched literally. sql/hub/012_list_indexes.sql is what makes this pass: without it (or with the list
# statements' old shapes: a materialized CTE, IN (SELECT unnest), strpos) the scans and sorts come back.
# FL_EXPLAIN_KEEP=1 leaves the server and the hub running and prints where, for a look at the plans;
# FL_EXPLAIN_MIGRATIONS=DIR applies the migrations of DIR instead of sql/hub (a copy without 012 shows the
# failures the indexes prevent).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh" # the temp dir, PostgreSQL, the hub's config and start-up

fl_it_setup explain "-c fsync=off -c shared_preload_libraries=auto_explain"
keep_or_clean() {
	if [ -n "${FL_EXPLAIN_KEEP:-}" ]; then
		echo "# kept: $T (hub pid ${HUB_PID:-}, FL_PG_DIR=$FL_PG_DIR)"
		return
	fi
	fl_it_cleanup
}
trap keep_or_clean EXIT
LOG="$T/pg/server.log"
CLUSTERS=$(printf 'c%03d ' $(seq 0 99))
# shellcheck disable=SC2086 # one word per cluster
fl_it_keys $CLUSTERS
{
	cat <<YAML
  history_retention: 3d
  node_lost_after: 1h
  lens:
    default_cluster: c000
YAML
	# shellcheck disable=SC2086
	fl_it_clusters $CLUSTERS
} | fl_it_hub_config "$T/clusters.yaml"
[ -n "${FL_EXPLAIN_MIGRATIONS:-}" ] && fl_it_hub_set "$T/clusters.yaml" migrations_dir "$FL_EXPLAIN_MIGRATIONS"

FL_DIAG_LOGS="$T/hub.log"
fl_it_start_hub
# No hourly rollup may read the samples while the plans are logged: every hour it could roll up is done.
fl_sql "INSERT INTO rollup_hour (stat_hour) SELECT date_trunc('hour', now()) + n * interval '1 hour' FROM generate_series(-80, 3) n ON CONFLICT DO NOTHING"

# --- the fleet ----------------------------------------------------------------------------------------------------
# Workload i: cluster i % 100, namespace ns-NN (i / 100 % 20), kind by i / 7 % 4, status by i / 3 % 20 (8 in
# 20 Running, 1 Pending, 7 Done, 1 Failed, 3 Deleted), name <verb>-<model>-<i> (verb by i / 11 % 5, model by
# i / 13 % 7), one in 50 without created_at: every cluster has every namespace, kind and status.
# Two pods each: in gpu_pod while it is live, in gpu_pod_history once it ended. Five samples per Running
# workload (every tenth workload's without a figure), one per Running pod. 100 nodes and node agents per
# cluster (last seen a day ahead: none goes lost), 10 jobs per node; job j: 3 in 10 running,
# 1 lost, 6 ended (by j / 3 % 10), framework by j % 7 % 4.
psql -h "$FL_PG_DIR" -U postgres -d fleetlens -q -v ON_ERROR_STOP=1 >"$T/load.log" 2>&1 <<'SQL'
INSERT INTO cluster (name) SELECT format('c%s', lpad(c::text, 3, '0')) FROM generate_series(0, 99) c
ON CONFLICT (name) DO NOTHING;
UPDATE cluster SET last_frame_at = now();
INSERT INTO gpu_workload (cluster_name, uid, kind, api_version, namespace, name, status, gpu_request, pods,
                          created_at, ended_at, updated_at, src_sent_ms, src_seq)
SELECT format('c%s', lpad((i % 100)::text, 3, '0')), format('wl-%s', lpad(i::text, 6, '0')),
       (ARRAY['Deployment', 'Job', 'PyTorchJob', 'StatefulSet'])[i / 7 % 4 + 1], 'v1',
       format('ns-%s', lpad((i / 100 % 20)::text, 2, '0')),
       format('%s-%s-%s', (ARRAY['train', 'infer', 'eval', 'bench', 'serve'])[i / 11 % 5 + 1],
              (ARRAY['llama', 'mistral', 'qwen', 'gemma', 'phi', 'falcon', 'bert'])[i / 13 % 7 + 1], i),
       s, (i * 7) % 65, CASE WHEN s IN ('Running', 'Pending') THEN 2 ELSE 0 END,
       CASE WHEN i % 50 <> 7 THEN now() - make_interval(secs => (i * 37) % 172800) END,
       CASE WHEN s IN ('Done', 'Failed', 'Deleted') THEN now() - make_interval(secs => (i * 13) % 3600) END,
       now() - interval '10 minutes', 1, 1
FROM (SELECT i, CASE WHEN i / 3 % 20 < 8 THEN 'Running' WHEN i / 3 % 20 = 8 THEN 'Pending' WHEN i / 3 % 20 < 16
                     THEN 'Done' WHEN i / 3 % 20 = 16 THEN 'Failed' ELSE 'Deleted' END AS s
      FROM generate_series(0, 199999) i) x;
INSERT INTO gpu_pod (cluster_name, uid, namespace, name, node_name, gpus, phase, running, workload_uid, created_at,
                     src_sent_ms, src_seq)
SELECT w.cluster_name, w.uid || '-p' || k, w.namespace, w.name || '-' || k,
       format('node-%s', lpad((abs(hashtext(w.uid || k)) % 100)::text, 3, '0')), 4, w.status,
       w.status = 'Running', w.uid, w.created_at, 1, 1
FROM gpu_workload w, generate_series(0, 1) k WHERE w.status IN ('Running', 'Pending');
INSERT INTO gpu_pod_history (cluster_name, uid, namespace, name, node_name, gpus, phase, workload_uid, created_at,
                             first_seen, ended_at)
SELECT w.cluster_name, w.uid || '-p' || k, w.namespace, w.name || '-' || k,
       format('node-%s', lpad((abs(hashtext(w.uid || k)) % 100)::text, 3, '0')), 4, 'Succeeded', w.uid, w.created_at,
       w.created_at, w.ended_at
FROM gpu_workload w, generate_series(0, 1) k WHERE w.ended_at IS NOT NULL;
INSERT INTO node (cluster_name, name, gpu_name, gpu_count, status)
SELECT format('c%s', lpad((n % 100)::text, 3, '0')), format('node-%s', lpad((n / 100)::text, 3, '0')),
       (ARRAY['AMD Instinct MI300X', 'NVIDIA H100'])[n % 2 + 1], 8, 'Ready'
FROM generate_series(0, 9999) n;
INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request, pods)
SELECT w.cluster_name, w.uid, now() - make_interval(mins => 12 * k),
       CASE WHEN substr(w.uid, 9, 1) <> '7' THEN abs(hashtext(w.uid || k)) % 10000 / 100.0 END, w.gpu_request, w.pods
FROM gpu_workload w, generate_series(0, 4) k WHERE w.status = 'Running';
INSERT INTO pod_utilization_history (cluster_name, pod_uid, sampled_at, gpu_utilization)
SELECT p.cluster_name, p.uid, now() - interval '1 minute', abs(hashtext(p.uid)) % 10000 / 100.0
FROM gpu_pod p WHERE p.phase = 'Running';
INSERT INTO node_agent (cluster_name, node_name, spoke_id, last_seq, src_sent_ms, last_seen)
SELECT format('c%s', lpad((n % 100)::text, 3, '0')), format('node-%s', lpad((n / 100)::text, 3, '0')), 's', 1, 1,
       now() + interval '1 day'
FROM generate_series(0, 9999) n;
INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, name, cmdline, framework, status, first_seen, last_seen,
                     ended_at, params, idle_since)
SELECT format('c%s', lpad((j % 100)::text, 3, '0')), format('node-%s', lpad((j % 10000 / 100)::text, 3, '0')),
       1000 + j, 1700000000000 + j, 'python', 'python train.py --job ' || j,
       (ARRAY['pytorch', 'jax', 'tensorflow', ''])[j % 7 % 4 + 1],
       CASE WHEN j / 3 % 10 < 3 THEN 'running' WHEN j / 3 % 10 = 3 THEN 'lost' ELSE 'ended' END,
       now() - make_interval(secs => (j * 17) % 86400), now(), CASE WHEN j / 3 % 10 >= 4 THEN now() END,
       jsonb_build_object('batch_size', j % 512, 'lr', 0.001, 'model', 'm' || j % 7),
       CASE WHEN j / 3 % 10 < 3 AND j % 50 = 0 THEN now() - make_interval(mins => j % 120) END
FROM generate_series(0, 99999) j;
-- Three samples per running job, the newest a minute ago (013: the job object's figures).
INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads, fds)
SELECT cluster_name, id, now() - make_interval(mins => 1 + k), 'R', 50, 1073741824, 8, 64
FROM gpu_job, generate_series(0, 2) k WHERE status = 'running';
VACUUM ANALYZE;
SQL
check_eq "the fleet loads" 0 $?
check_eq "200,000 workloads, two pods each (live or gone), 100,000 jobs" "200000 400000 100000" \
	"$(fl_sql "SELECT (SELECT count(*) FROM gpu_workload) || ' ' || (SELECT count(*) FROM gpu_pod) + (SELECT count(*) FROM gpu_pod_history) || ' ' || (SELECT count(*) FROM gpu_job)")"

# From here on every statement's plan is logged (the hub's connections take it at their next statement).
fl_sql "ALTER SYSTEM SET auto_explain.log_min_duration = 0" >/dev/null
fl_sql "ALTER SYSTEM SET auto_explain.log_analyze = on" >/dev/null
fl_sql "ALTER SYSTEM SET auto_explain.log_timing = off" >/dev/null
fl_sql "ALTER SYSTEM SET auto_explain.log_format = 'json'" >/dev/null
fl_sql "SELECT pg_reload_conf()" >/dev/null
check_eq "auto_explain logs the hub's statements" 0 \
	"$(fl_wait_until 60 'curl -s -o /dev/null "$API/v1/jobs?page_size=1"; grep -q "Query Text" "$LOG"'; echo $?)"

# --- the calls ----------------------------------------------------------------------------------------------------
# call KIND PAGE URL: requests URL, keeps the body in $T/calls/N.json and the log written meanwhile (the plans
# of its statements) in $T/calls/N.log, and records "N<TAB>KIND<TAB>PAGE<TAB>URL". KIND is "ordered" when the
# page must walk an index (no Sort of more than PAGE rows), "any" otherwise.
mkdir -p "$T/calls"
N=0
call() {
	local before after
	N=$((N + 1))
	before=$(stat -c %s "$LOG")
	curl -s -o "$T/calls/$N.json" "$API$3"
	after=$(stat -c %s "$LOG")
	tail -c +"$((before + 1))" "$LOG" | head -c "$((after - before))" >"$T/calls/$N.log"
	printf '%s\t%s\t%s\t%s\n' "$N" "$1" "$2" "$3" >>"$T/calls/index"
}

ORDERS="cluster_name name namespace kind status gpu_request gpu_utilization created_at ended_at"
WL_FILTERS=("" "namespace=ns-07" "kind=PyTorchJob" "status=Running" "status=Failed,Deleted" "name=mistral-1"
	"namespace=ns-07&kind=Job" "namespace=ns-07&status=Running" "namespace=ns-07&name=qwen"
	"kind=Job&status=Pending" "kind=Deployment&name=llama" "status=Running&name=gemma-1"
	"namespace=ns-03&kind=Job&status=Done" "namespace=ns-03&kind=Job&name=phi"
	"namespace=ns-03&status=Running&name=bert" "kind=StatefulSet&status=Running&name=falcon"
	"namespace=ns-11&kind=Deployment&status=Running&name=eval")
for f in "${WL_FILTERS[@]}"; do
	for o in $ORDERS; do
		for d in false true; do
			kind=any
			[ -z "$f" ] && [ "$o" != gpu_utilization ] && kind=ordered
			call "$kind" 100 "/v1/workloads?page_size=100&order_by=$o&desc=$d${f:+&$f}"
		done
	done
done
# Deeper pages of the unfiltered list walk further along the same index.
call ordered 1000 "/v1/workloads?page_size=100&page_num=10&order_by=name"
call ordered 1000 "/v1/workloads?page_size=100&page_num=10&order_by=created_at&desc=true"

JOB_FILTERS=("" "node=node-042" "framework=jax" "status=running" "status=lost,ended" "node=node-042&framework=pytorch"
	"node=node-042&status=running" "framework=tensorflow&status=running" "node=node-007&framework=jax&status=ended"
	"param=batch_size=7" "param=batch_size=7&param=model=m3" "idle=true" "idle=true&framework=jax" "idle=false")
for f in "${JOB_FILTERS[@]}"; do
	kind=any
	[ -z "$f" ] && kind=ordered
	call "$kind" 100 "/v1/jobs?page_size=100${f:+&$f}"
done
call ordered 500 "/v1/jobs?page_size=100&page_num=5"

LENS_FILTERS=("" "name=llama" "kind=Job" "namespace=ns-05" "status=Running" "name=qwen&kind=Job"
	"name=phi&namespace=ns-05" "name=gemma&status=Done" "kind=PyTorchJob&namespace=ns-05"
	"kind=Deployment&status=Running" "namespace=ns-05&status=Failed" "name=infer&kind=Job&namespace=ns-05"
	"name=train&kind=PyTorchJob&status=Running" "name=bert&namespace=ns-05&status=Deleted"
	"kind=StatefulSet&namespace=ns-05&status=Running" "name=eval&kind=Job&namespace=ns-05&status=Done")
for f in "${LENS_FILTERS[@]}"; do
	for o in start_at end_at; do
		kind=any
		[ -z "$f" ] && [ "$o" = start_at ] && kind=ordered
		call "$kind" 50 "/lens/v1/workloads?cluster=c042&page_size=50&order_by=$o${f:+&$f}"
	done
done

# --- the plans ----------------------------------------------------------------------------------------------------
# One line per call: "N<TAB>ok" or "N<TAB>what is wrong". A call's list statement is the one whose text builds
# {'data': ..., 'total': ...}; each call must have exactly one.
python3 - "$T/calls" >"$T/verdicts" <<'PY'
import json, re, sys
d = sys.argv[1]
TABLES = ("gpu_workload", "gpu_pod", "gpu_pod_history", "gpu_job", "node")
SAMPLES = ("workload_utilization_history", "pod_utilization_history", "gpu_job_sample")
START = re.compile(r"^\S.*LOG:  duration: [0-9.]+ ms  plan:\s*$")

def plans(path):
    """The JSON plans auto_explain wrote to one call's piece of the server log."""
    out, cur = [], None
    for line in open(path, errors="replace"):
        if START.match(line):
            if cur is not None:
                out.append("".join(cur))
            cur = []
        elif cur is not None:
            if re.match(r"^\S", line) and not line.startswith(("{", "}")):  # the next log line
                out.append("".join(cur))
                cur = None
            else:
                cur.append(line)
    if cur is not None:
        out.append("".join(cur))
    return [json.loads(t) for t in out if t.strip()]

def nodes(n, loops_above=1):
    yield n
    for c in n.get("Plans", []):
        yield from nodes(c)

def problems(plan, kind, page, total):
    scanned = 0
    for n in nodes(plan["Plan"]):
        rel = n.get("Relation Name", "")
        if rel in TABLES or rel.startswith(SAMPLES):
            scanned += (n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)
                        + n.get("Rows Removed by Index Recheck", 0)) * n.get("Actual Loops", 1)
        loops = n.get("Actual Loops", 1)
        kept = n.get("Actual Rows", 0) * loops
        read = kept + n.get("Rows Removed by Filter", 0) * loops
        if n["Node Type"] == "Seq Scan" and (rel in TABLES or rel.startswith(SAMPLES)) and read > 5 * kept:
            yield "Seq Scan on %s keeps %d of the %d rows it reads" % (rel, kept, read)
        # Per loop: a subplan sorting one workload's few samples per row is no page sort; nor are the sorts
        # of the page's own pods (a few per row): 10 x the page allows them.
        if n["Node Type"] == "Sort" and kind == "ordered":
            fed = sum(c.get("Actual Rows", 0) for c in n.get("Plans", []))
            if fed > 10 * page:
                yield "Sort of %d rows for a page of %d (key %s)" % (fed, page, ", ".join(n.get("Sort Key", []))[:120])
    budget = 10 * (total + page) + 200000
    if scanned > budget:
        yield "its scans read %d rows, more than 10 x (total %d + page %d) + 200,000" % (scanned, total, page)

for line in open(d + "/index"):
    num, kind, page, url = line.rstrip("\n").split("\t")
    try:
        ps = [p for p in plans("%s/%s.log" % (d, num)) if "'data'" in p.get("Query Text", "")]
    except ValueError as e:
        print("%s\tunreadable plan: %s" % (num, e))
        continue
    if len(ps) != 1:
        print("%s\t%d list statements logged, not 1" % (num, len(ps)))
        continue
    try:
        total = int(json.load(open("%s/%s.json" % (d, num)))["data"]["total"])
    except (ValueError, KeyError, TypeError):
        print("%s\tno total in the answer" % num)
        continue
    bad = list(problems(ps[0], kind, int(page), total))
    stmt = " ".join(ps[0]["Query Text"].split())[:90]
    print("%s\t%s" % (num, "ok" if not bad else "%s; statement: %s..." % ("; ".join(bad), stmt)))
PY
while IFS=$'\t' read -r num kind page url; do
	check_eq "$url: its plan reads indexes ($kind)" ok "$(awk -F'\t' -v n="$num" '$1 == n {print $2}' "$T/verdicts")"
done <"$T/calls/index"

# The job filters of 013 read their own indexes: param= the GIN index on params, idle=true the partial index of
# the running jobs' idle_since.
for u in "/v1/jobs?page_size=100&param=batch_size=7" "/v1/jobs?page_size=100&idle=true"; do
	n=$(awk -F'\t' -v u="$u" '$4 == u {print $1; exit}' "$T/calls/index")
	ix=gpu_job_params_idx
	[[ "$u" == *idle=true ]] && ix=gpu_job_idle_idx
	check_eq "$u: its plan reads $ix" 1 "$(grep -c -m1 "\"Index Name\": \"$ix\"" "$T/calls/$n.log")"
done

# --- the answers --------------------------------------------------------------------------------------------------
body() { cat "$T/calls/$1.json"; }
num_of() { awk -F'\t' -v u="$1" '$4 == u {print $1; exit}' "$T/calls/index"; }
total() { jq -r '.data.total' "$T/calls/$(num_of "$1").json"; }
uids() { jq -r '[.data.data[] | .uid // .id] | join(",")' "$T/calls/$(num_of "$1").json"; }
check_num "/v1/workloads: every workload" 200000 "$(total "/v1/workloads?page_size=100&order_by=cluster_name&desc=false")"
check_num "/v1/workloads?status=Running" "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE status = 'Running'")" "$(total "/v1/workloads?page_size=100&order_by=name&desc=false&status=Running")"
check_num "/v1/workloads?name=mistral-1: the names holding it" \
	"$(fl_sql "SELECT count(*) FROM gpu_workload WHERE strpos(name, 'mistral-1') > 0")" \
	"$(total "/v1/workloads?page_size=100&order_by=name&desc=false&name=mistral-1")"
check_eq "/v1/workloads?status=Running&order_by=gpu_request&desc=true: the page" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY gpu_request DESC, cluster_name DESC, namespace DESC, name DESC, uid DESC) FROM (SELECT * FROM gpu_workload WHERE status = 'Running' ORDER BY gpu_request DESC, cluster_name DESC, namespace DESC, name DESC, uid DESC LIMIT 100) x")" \
	"$(uids "/v1/workloads?page_size=100&order_by=gpu_request&desc=true&status=Running")"
check_eq "/v1/workloads?order_by=created_at&desc=true page 10: rows 901..1000" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY n) FROM (SELECT uid, row_number() OVER (ORDER BY created_at DESC NULLS LAST, cluster_name DESC, namespace DESC, name DESC, uid DESC) AS n FROM gpu_workload) x WHERE n BETWEEN 901 AND 1000")" \
	"$(uids "/v1/workloads?page_size=100&page_num=10&order_by=created_at&desc=true")"
check_eq "/v1/workloads?order_by=gpu_utilization&desc=true&namespace=ns-07&kind=Job: the page (newest sample)" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY u DESC NULLS LAST, cluster_name DESC, namespace DESC, name DESC, uid DESC) FROM (SELECT w.*, CASE WHEN w.status = 'Running' THEN (SELECT s.gpu_utilization FROM workload_utilization_history s WHERE s.cluster_name = w.cluster_name AND s.workload_uid = w.uid ORDER BY s.sampled_at DESC LIMIT 1) END AS u FROM gpu_workload w WHERE namespace = 'ns-07' AND kind = 'Job' ORDER BY u DESC NULLS LAST, cluster_name DESC, namespace DESC, name DESC, uid DESC LIMIT 100) x")" \
	"$(uids "/v1/workloads?page_size=100&order_by=gpu_utilization&desc=true&namespace=ns-07&kind=Job")"
# LIKE's wildcards in a name are searched as themselves: no name holds "n_l" ("n-l" is in every train-llama).
check_eq "/v1/workloads?name=n_l: '_' is no wildcard" "200 0" \
	"$(curl -s -o "$T/b" -w '%{http_code}' "$API/v1/workloads?name=n_l"; echo " $(jq .data.total "$T/b")")"
check_eq "/lens/v1/workloads?name=%: '%' is no wildcard" 0 \
	"$(curl -s "$API/lens/v1/workloads?cluster=c042&name=%25" | jq .data.total)"
check_eq "/lens/v1/workloads/hierarchy?name=n_l: '_' is no wildcard" 4004 \
	"$(curl -s "$API/lens/v1/workloads/hierarchy?cluster=c042&kind=PyTorchJob&name=n_l" | jq .meta.code)"
check_eq "/lens/v1/workloads/hierarchy?name=al-m: the newest match" \
	"$(fl_sql "SELECT uid FROM gpu_workload WHERE cluster_name = 'c042' AND kind = 'PyTorchJob' AND strpos(name, 'al-m') > 0 ORDER BY created_at DESC NULLS LAST, uid DESC LIMIT 1")" \
	"$(curl -s "$API/lens/v1/workloads/hierarchy?cluster=c042&kind=PyTorchJob&name=al-m" | jq -r .data.uid)"
check_num "/v1/jobs?status=running" "$(fl_sql "SELECT count(*) FROM gpu_job WHERE status = 'running'")" "$(total "/v1/jobs?page_size=100&status=running")"
check_num "/v1/jobs?param=batch_size=7&param=model=m3" \
	"$(fl_sql "SELECT count(*) FROM gpu_job WHERE params @> '{\"batch_size\": 7, \"model\": \"m3\"}'")" \
	"$(total "/v1/jobs?page_size=100&param=batch_size=7&param=model=m3")"
check_num "/v1/jobs?idle=true (idle for the default 30m)" \
	"$(fl_sql "SELECT count(*) FROM gpu_job WHERE status = 'running' AND idle_since <= now() - interval '30 minutes'")" \
	"$(total "/v1/jobs?page_size=100&idle=true")"
check_num "/v1/jobs?framework=tensorflow&status=running" \
	"$(fl_sql "SELECT count(*) FROM gpu_job WHERE framework = 'tensorflow' AND status = 'running'")" \
	"$(total "/v1/jobs?page_size=100&framework=tensorflow&status=running")"
check_eq "/v1/jobs page 5: newest first, rows 401..500" \
	"$(fl_sql "SELECT string_agg(id::text, ',' ORDER BY n) FROM (SELECT id, row_number() OVER (ORDER BY first_seen DESC, id DESC) AS n FROM gpu_job) x WHERE n BETWEEN 401 AND 500")" \
	"$(uids "/v1/jobs?page_size=100&page_num=5")"
check_num "/lens/v1/workloads?name=llama in c042" \
	"$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name = 'c042' AND strpos(name, 'llama') > 0")" \
	"$(total "/lens/v1/workloads?cluster=c042&page_size=50&order_by=start_at&name=llama")"
check_eq "/lens/v1/workloads in c042: newest first" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY created_at DESC NULLS LAST, uid DESC) FROM (SELECT * FROM gpu_workload WHERE cluster_name = 'c042' ORDER BY created_at DESC NULLS LAST, uid DESC LIMIT 50) x")" \
	"$(uids "/lens/v1/workloads?cluster=c042&page_size=50&order_by=start_at")"

# --- latency: a few shapes, the best of three (ms, with auto_explain off) ------------------------------------------
fl_sql "ALTER SYSTEM RESET ALL" >/dev/null
fl_sql "SELECT pg_reload_conf()" >/dev/null
ms() {
	local best=999999 t i
	for i in 1 2 3; do
		t=$(curl -s -o /dev/null -w '%{time_total}' "$API$1")
		best=$(awk -v a="$best" -v b="$t" 'BEGIN {b *= 1000; print (b < a ? b : a)}')
	done
	printf '# %8.1f ms  %s\n' "$best" "$1"
}
for u in "/v1/workloads?page_size=100" "/v1/workloads?page_size=100&name=mistral-1" \
	"/v1/workloads?page_size=100&status=Running&order_by=gpu_request&desc=true" "/v1/workloads?page_size=100&namespace=ns-07" \
	"/v1/workloads?page_size=100&order_by=gpu_utilization&desc=true" \
	"/v1/workloads?page_size=100&order_by=gpu_utilization&desc=true&namespace=ns-07&kind=Job" \
	"/v1/jobs?page_size=100&status=running" "/v1/jobs?page_size=100" "/lens/v1/workloads?cluster=c042&page_size=50&name=llama"; do
	ms "$u"
done

fl_done
