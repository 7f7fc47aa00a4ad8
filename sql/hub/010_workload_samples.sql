-- 010_workload_samples.sql — pod and workload facts apart from their samples (issue 13).
--
-- What: gpu_pod and gpu_workload rows hold facts only (names, node, phase, status, GPUs requested, pod
-- count, times); their utilization moves to history tables, one sample row per Running pod and per
-- Running workload per committed frame that carries it, at the frame's sent_at:
--   - workload_utilization_history (005, 007) takes a NULL figure: the frame carried the Running workload
--     without one (the spoke could not measure it);
--   - pod_utilization_history is new, partitioned by UTC day exactly like the other history tables
--     (day partitions pod_utilization_history_YYYYMMDD created ahead and dropped after
--     hub.history_retention by the hub; DEFAULT as the safety net).
-- The latest figure of a workload or pod is its newest sample (the reads in hub_workload.c,
-- hub_lens_workloads.c), shown while it runs.
--
-- Why: a frame rewrote every pod and workload row in full although per cycle only their utilization
-- moves; with the figures gone from the rows, a row is written only when one of its facts changes, and
-- the samples are appended in bulk (one statement per table per frame) to tables built for time-range
-- reads and cheap retention (whole partitions dropped).
--
-- The figures the rows hold now become one sample each, at the row's updated_at (when the hub last wrote
-- it, so it is the newest sample): for the Running workloads and the pods in phase Running, the ones whose
-- figure the API shows, NULL included (a NULL figure is what the API answers for them). Then the columns
-- are dropped, not left to go stale. gpu_pod_history and its trigger (007_lens.sql) never held
-- utilization, so they stay as they are.

ALTER TABLE workload_utilization_history ALTER COLUMN gpu_utilization DROP NOT NULL;

CREATE TABLE pod_utilization_history (
	cluster_name    text NOT NULL,
	pod_uid         text NOT NULL,
	sampled_at      timestamptz NOT NULL,
	gpu_utilization double precision -- NULL: the frame carried the Running pod without a figure
) PARTITION BY RANGE (sampled_at);
-- A pod's latest sample, and one pod's time range, read this index.
CREATE INDEX pod_utilization_history_idx ON pod_utilization_history (cluster_name, pod_uid, sampled_at);
CREATE TABLE pod_utilization_history_default PARTITION OF pod_utilization_history DEFAULT;

INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request, pods)
SELECT cluster_name, uid, updated_at, gpu_utilization, gpu_request, pods FROM gpu_workload WHERE status = 'Running';

INSERT INTO pod_utilization_history (cluster_name, pod_uid, sampled_at, gpu_utilization)
SELECT cluster_name, uid, updated_at, gpu_utilization FROM gpu_pod WHERE phase = 'Running';

ALTER TABLE gpu_workload DROP COLUMN gpu_utilization;
ALTER TABLE gpu_pod DROP COLUMN gpu_utilization;
