-- 004_history.sql — per-node GPU utilization over time (issue 5).
--
-- One row per node per committed frame that carried the node with a figure, appended in the frame's own
-- transaction; sampled_at is the frame's sent_at (when the spoke measured it). Partitioned by UTC day on
-- sampled_at: fleetlens-hub creates the partitions node_utilization_history_YYYYMMDD ahead (today and the
-- next 2 days) and DROPS whole partitions older than hub.history_retention — never row-by-row deletes.
-- The DEFAULT partition is a safety net for samples no day partition covers yet (a spoke clock far off,
-- partitions not created yet): the hub moves its rows into a day partition when it creates one, and
-- deletes its rows older than the retention.

CREATE TABLE node_utilization_history (
	cluster_name    text NOT NULL,
	node_name       text NOT NULL,
	sampled_at      timestamptz NOT NULL,
	gpu_utilization double precision NOT NULL
) PARTITION BY RANGE (sampled_at);

-- The history route reads one node of one cluster over a time range.
CREATE INDEX node_utilization_history_node_idx ON node_utilization_history (cluster_name, node_name, sampled_at);

CREATE TABLE node_utilization_history_default PARTITION OF node_utilization_history DEFAULT;
