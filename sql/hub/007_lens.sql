-- 007_lens.sql — the history the Lens face (/lens/v1, hub/hub_lens*.c) needs, kept by the hub (issue 12):
-- per-cluster samples (allocation and utilization over time), which pods ran on which node and when, and
-- hourly rollups per cluster, namespace and workload written once per completed hour.

-- The figures of each workload sample that the hourly rollup needs besides utilization.
ALTER TABLE workload_utilization_history ADD COLUMN gpu_request bigint, ADD COLUMN pods bigint;
-- The rollup reads one hour of every series: a BRIN index on the append-ordered time column finds it
-- without scanning the day's whole partition (and costs a few pages per partition).
CREATE INDEX node_utilization_history_time_idx ON node_utilization_history USING brin (sampled_at);
CREATE INDEX workload_utilization_history_time_idx ON workload_utilization_history USING brin (sampled_at);

-- One row per committed frame that carries an overview, at the frame's sent_at; partitioned by UTC day
-- exactly like node_utilization_history (cluster_sample_history_YYYYMMDD, dropped after the retention).
CREATE TABLE cluster_sample_history (
	cluster_name     text NOT NULL,
	sampled_at       timestamptz NOT NULL,
	gpus_allocatable bigint NOT NULL,
	gpus_allocated   bigint NOT NULL,
	allocation_rate  double precision NOT NULL, -- percent, the overview rule
	utilization      double precision          -- percent; NULL when the spoke could not measure it
) PARTITION BY RANGE (sampled_at);
CREATE INDEX cluster_sample_history_idx ON cluster_sample_history (cluster_name, sampled_at);
CREATE INDEX cluster_sample_history_time_idx ON cluster_sample_history USING brin (sampled_at);
CREATE TABLE cluster_sample_history_default PARTITION OF cluster_sample_history DEFAULT;

-- When the hub first stored each pod: its start where the spoke sent no creationTimestamp.
ALTER TABLE gpu_pod ADD COLUMN first_seen timestamptz NOT NULL DEFAULT now();

-- Pods that left gpu_pod (a full frame no longer listed them, a delta removed them): which node they ran
-- on and when. Written by a trigger in the frame's own transaction; deleted after hub.history_retention.
CREATE TABLE gpu_pod_history (
	cluster_name text NOT NULL,
	uid          text NOT NULL,
	namespace    text NOT NULL,
	name         text NOT NULL,
	node_name    text NOT NULL,
	gpus         bigint NOT NULL,
	phase        text NOT NULL,
	workload_uid text NOT NULL,
	created_at   timestamptz,          -- the pod's creationTimestamp
	first_seen   timestamptz,          -- when the hub first stored it
	ended_at     timestamptz NOT NULL, -- when the hub stopped holding it
	PRIMARY KEY (cluster_name, uid)
);
-- /lens/v1/nodes/{name}/workloadsHistory reads one node, newest first.
CREATE INDEX gpu_pod_history_node_idx ON gpu_pod_history (cluster_name, node_name, ended_at DESC);
CREATE INDEX gpu_pod_history_ended_idx ON gpu_pod_history (ended_at);
-- The Lens workload routes read the pods a workload ever had.
CREATE INDEX gpu_pod_history_workload_idx ON gpu_pod_history (cluster_name, workload_uid);

CREATE FUNCTION gpu_pod_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.node_name <> '' THEN
		INSERT INTO gpu_pod_history (cluster_name, uid, namespace, name, node_name, gpus, phase, workload_uid,
		                             created_at, first_seen, ended_at)
		VALUES (OLD.cluster_name, OLD.uid, OLD.namespace, OLD.name, OLD.node_name, OLD.gpus, OLD.phase,
		        OLD.workload_uid, OLD.created_at, OLD.first_seen, now())
		ON CONFLICT (cluster_name, uid) DO UPDATE SET node_name = EXCLUDED.node_name, gpus = EXCLUDED.gpus,
		        phase = EXCLUDED.phase, ended_at = EXCLUDED.ended_at;
	END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER gpu_pod_history_on_delete AFTER DELETE ON gpu_pod FOR EACH ROW EXECUTE FUNCTION gpu_pod_keep_history();
-- The cluster going away (ON DELETE CASCADE) takes its history with it.
CREATE INDEX gpu_pod_node_idx ON gpu_pod (cluster_name, node_name);

-- Hourly rollups: one row per key per completed UTC hour (stat_hour = the hour's start), written once by
-- the hub's maintenance (hub_rollup) from the samples of that hour; deleted after hub.history_retention.
CREATE TABLE cluster_hourly_stats (
	id                  bigserial UNIQUE,
	cluster_name        text NOT NULL,
	stat_hour           timestamptz NOT NULL,
	total_gpu_capacity  bigint NOT NULL,           -- the hour's largest allocatable GPU count
	allocated_gpu_count double precision NOT NULL, -- mean over the hour's samples
	allocation_rate     double precision NOT NULL, -- percent, mean over the hour's samples
	avg_utilization     double precision,          -- percent, over the hour's node samples; NULL: none
	max_utilization     double precision,
	min_utilization     double precision,
	p50_utilization     double precision,
	p95_utilization     double precision,
	sample_count        bigint NOT NULL,           -- node utilization samples
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, stat_hour)
);
CREATE INDEX cluster_hourly_stats_hour_idx ON cluster_hourly_stats (stat_hour);

CREATE TABLE namespace_hourly_stats (
	id                  bigserial UNIQUE,
	cluster_name        text NOT NULL,
	namespace           text NOT NULL,
	stat_hour           timestamptz NOT NULL,
	allocated_gpu_count double precision NOT NULL, -- GPUs its Running workloads requested, mean per sample time
	avg_utilization     double precision NOT NULL,
	max_utilization     double precision NOT NULL,
	min_utilization     double precision NOT NULL,
	p50_utilization     double precision NOT NULL,
	p95_utilization     double precision NOT NULL,
	sample_count        bigint NOT NULL,
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, stat_hour, namespace)
);
CREATE INDEX namespace_hourly_stats_hour_idx ON namespace_hourly_stats (stat_hour);

CREATE TABLE workload_hourly_stats (
	id                  bigserial UNIQUE,
	cluster_name        text NOT NULL,
	workload_uid        text NOT NULL,
	namespace           text NOT NULL,
	workload_name       text NOT NULL,
	workload_type       text NOT NULL, -- the kind
	workload_status     text NOT NULL, -- its status when the hour was rolled up
	stat_hour           timestamptz NOT NULL,
	allocated_gpu_count double precision NOT NULL, -- mean of its samples' gpu_request
	requested_gpu_count bigint NOT NULL,           -- largest gpu_request in the hour
	avg_utilization     double precision NOT NULL,
	max_utilization     double precision NOT NULL,
	min_utilization     double precision NOT NULL,
	p50_utilization     double precision NOT NULL,
	p95_utilization     double precision NOT NULL,
	avg_replica_count   double precision NOT NULL,
	max_replica_count   bigint NOT NULL,
	min_replica_count   bigint NOT NULL,
	sample_count        bigint NOT NULL,
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, stat_hour, workload_uid)
);
CREATE INDEX workload_hourly_stats_ns_idx ON workload_hourly_stats (cluster_name, namespace, workload_name, stat_hour);
CREATE INDEX workload_hourly_stats_uid_idx ON workload_hourly_stats (cluster_name, workload_uid, stat_hour);
CREATE INDEX workload_hourly_stats_hour_idx ON workload_hourly_stats (stat_hour);

-- The hours already rolled up: a completed hour is rolled up once, by one hub.
CREATE TABLE rollup_hour (
	stat_hour  timestamptz PRIMARY KEY,
	rolled_at  timestamptz NOT NULL DEFAULT now()
);
