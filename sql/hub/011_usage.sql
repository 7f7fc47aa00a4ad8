-- 011_usage.sql — GPU-hours (issue 13): hourly rollups per node, and GPU-hours allocated, used and idle in
-- every hourly rollup, so /v1/usage answers "who holds GPUs and leaves them idle" across clusters from
-- small hourly rows kept for hub.rollup_retention (default 400 days) while the raw samples they come from
-- keep hub.history_retention. Written by hub/hub_rollup.c, which defines the figures:
--   each sample weighs the time to its series' next sample, at most 300 s (a spoke outage counts nothing
--   beyond that), within the hour; allocated = Σ allocation × weight ÷ 3600; used = Σ allocation ×
--   utilization/100 × weight ÷ 3600; idle = Σ allocation × weight ÷ 3600 over the samples whose utilization
--   is under hub.idle_threshold. A sample without a utilization figure counts as allocated, neither used
--   nor idle. Nodes weigh gpu_allocation (009), workloads gpu_request; namespaces are the sum of their
--   workloads, clusters the sum of their nodes.
-- Relies on 009 (node samples carry gpu_count and gpu_allocation) and 010 (utilization may be NULL).

-- One row per node per completed UTC hour with samples (stat_hour = the hour's start).
CREATE TABLE node_hourly_stats (
	cluster_name        text NOT NULL,
	node_name           text NOT NULL,
	stat_hour           timestamptz NOT NULL,
	gpu_capacity        bigint,           -- the hour's largest gpu_count; NULL: only samples written before 009
	allocated_gpu_count double precision, -- mean gpu_allocation over the hour's samples; NULL: as above
	avg_utilization     double precision, -- percent, over the hour's samples with a figure; NULL: none had one
	max_utilization     double precision,
	min_utilization     double precision,
	p50_utilization     double precision,
	p95_utilization     double precision,
	sample_count        bigint NOT NULL,  -- the node's samples in the hour with a utilization figure
	gpu_hours_allocated double precision, -- NULL: no sample of the hour knew the allocation (before 009)
	gpu_hours_used      double precision,
	gpu_hours_idle      double precision,
	created_at          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, stat_hour, node_name)
);
-- /v1/usage reads a time range across clusters (and the retention deletes by time).
CREATE INDEX node_hourly_stats_hour_idx ON node_hourly_stats (stat_hour);

-- Rows rolled up before this migration hold NULL: not measured (they are left out of /v1/usage).
ALTER TABLE cluster_hourly_stats
	ADD COLUMN gpu_hours_allocated double precision, -- the sum of the cluster's node rows of the hour
	ADD COLUMN gpu_hours_used double precision,
	ADD COLUMN gpu_hours_idle double precision;
ALTER TABLE namespace_hourly_stats
	ADD COLUMN gpu_hours_allocated double precision, -- the sum of the namespace's workload rows of the hour
	ADD COLUMN gpu_hours_used double precision,
	ADD COLUMN gpu_hours_idle double precision;
ALTER TABLE workload_hourly_stats
	ADD COLUMN gpu_hours_allocated double precision, -- from the workload's samples (gpu_request)
	ADD COLUMN gpu_hours_used double precision,
	ADD COLUMN gpu_hours_idle double precision;

-- Since 010 a sample may carry no utilization: an hour whose samples of a namespace or workload all lack
-- one has no figure (NULL), rather than failing the hour's rollup.
ALTER TABLE namespace_hourly_stats
	ALTER COLUMN avg_utilization DROP NOT NULL, ALTER COLUMN max_utilization DROP NOT NULL,
	ALTER COLUMN min_utilization DROP NOT NULL, ALTER COLUMN p50_utilization DROP NOT NULL,
	ALTER COLUMN p95_utilization DROP NOT NULL;
ALTER TABLE workload_hourly_stats
	ALTER COLUMN avg_utilization DROP NOT NULL, ALTER COLUMN max_utilization DROP NOT NULL,
	ALTER COLUMN min_utilization DROP NOT NULL, ALTER COLUMN p50_utilization DROP NOT NULL,
	ALTER COLUMN p95_utilization DROP NOT NULL;
-- The cluster, namespace and workload rows are read by time range through their stat_hour indexes (007).

-- The idle threshold (percent) the hour was rolled up with; NULL for hours rolled up before 011.
ALTER TABLE rollup_hour ADD COLUMN idle_threshold double precision;
