-- 013_job_monitor.sql — the GPU job monitor (issue 18): what each GPU job runs with and what it is doing, and
-- the health and memory in use of each node GPU, as the node role reports them (proto/FORMAT.md 3.5, 3.10).
--
-- What:
--   - gpu_job gains the job's facts from its command line and environment: params (its training parameters,
--     {"batch_size": 32, "lr": 0.001}, numbers as numbers), env (the allowlisted environment variables the
--     spoke sends, {"RANK": "0"}), config_path (the config file its command line names: the path only), the
--     node GPUs it uses (gpu_ids) and idle_since (since when it holds accelerator memory under
--     hub.job_idle_utilization; NULL: not idle). Written by every applied node frame (hub/hub_node.c).
--   - gpu_job_sample: the job's process metrics, one row per job per applied node frame at the frame's sent,
--     partitioned by UTC day like the other history tables (day partitions gpu_job_sample_YYYYMMDD created
--     ahead and dropped after hub.history_retention by the hub; DEFAULT as the safety net). A job's figures
--     in /v1/jobs are its newest sample; /v1/jobs/{id}/metrics averages them per step.
--   - node_gpu gains memory_used (MiB; NULL: the node did not say), health ("healthy", "warning",
--     "unhealthy"; "": no source says) and health_detail (why, in a few words).
--   - node_device_changelog gains detail: a GPU whose health changes between two frames is logged as
--     change 'health', old/new identity the old/new health, detail the new health_detail.
--
-- Why: the samples change every cycle and the facts rarely, so they are kept apart as in 009/010 (samples
-- appended in bulk, retention by dropping whole partitions); the parameter filter of /v1/jobs
-- (params @> {"KEY": VALUE}) reads a GIN index, and the idle filter (running jobs idle since before a time)
-- a partial index of the running jobs.

ALTER TABLE gpu_job
	ADD COLUMN params jsonb NOT NULL DEFAULT '{}',
	ADD COLUMN env jsonb NOT NULL DEFAULT '{}',
	ADD COLUMN config_path text NOT NULL DEFAULT '',
	ADD COLUMN gpu_ids int[] NOT NULL DEFAULT '{}',
	ADD COLUMN idle_since timestamptz;
CREATE INDEX gpu_job_params_idx ON gpu_job USING gin (params jsonb_path_ops);
CREATE INDEX gpu_job_idle_idx ON gpu_job (idle_since) WHERE status = 'running';

CREATE TABLE gpu_job_sample (
	cluster_name     text NOT NULL,
	job_id           bigint NOT NULL,   -- gpu_job.id (no foreign key: samples go with their partition)
	sampled_at       timestamptz NOT NULL, -- the node frame's sent
	state            text NOT NULL DEFAULT '', -- /proc/PID/stat's state letter; "": not sent
	cpu_percent      double precision, -- 100 = one core; NULL: no figure (first cycle)
	rss_bytes        bigint,
	threads          int,
	fds              int,
	gpu_memory_bytes bigint,           -- NULL: no driver list names the process
	gpu_utilization  double precision  -- mean of its GPUs' figures; NULL: none
) PARTITION BY RANGE (sampled_at);
-- A job's newest sample, and one job's time range, read this index.
CREATE INDEX gpu_job_sample_idx ON gpu_job_sample (job_id, sampled_at);
CREATE TABLE gpu_job_sample_default PARTITION OF gpu_job_sample DEFAULT;

ALTER TABLE node_gpu
	ADD COLUMN memory_used bigint, -- MiB; NULL: unknown
	ADD COLUMN health text NOT NULL DEFAULT '',
	ADD COLUMN health_detail text NOT NULL DEFAULT '';

ALTER TABLE node_device_changelog ADD COLUMN detail text; -- change 'health': the new health_detail
COMMENT ON COLUMN node_device_changelog.change IS 'added, removed, replaced, health (013: old/new identity hold the health)';
