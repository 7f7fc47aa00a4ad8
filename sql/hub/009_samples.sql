-- 009_samples.sql — samples apart from facts (issue 13).
--
-- A node's facts (name, address, GPU model and count, allocation, status, taints, versions; a GPU's
-- model, memory, serial, NUMA node) rarely change; its samples (node and per-GPU utilization, GPU
-- temperature and power) change every cycle. Until now every frame rewrote each node row and each of
-- its GPU rows in full to store the samples: an UPDATE of nine rows with their indexes and dead tuples
-- per node per 30 s. From here on the node and gpu_device rows hold facts only and are written when a
-- fact changes; the samples are appended (one COPY per frame) to node_utilization_history, which keeps
-- its name and its day partitions (node_utilization_history_YYYYMMDD exist at deployed sites) and becomes
-- the node SAMPLE table: one row per node the frame carries, at the frame's sent_at, with
--   gpu_utilization   the node's figure, NULL when the frame carried the node without one;
--   gpu_count, gpu_allocation  the node's values at that sample (the hourly rollups' GPU-hours);
--   gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers  one element per GPU of the node in the
--                     frame, ordered by gpu_id (NULL elements: no figure).
-- The hub's view holds the latest sample for the API; start-up and peer refreshes read each node's
-- newest row through node_utilization_history_node_idx.
--
-- cluster.rows_gen counts the committed frames that wrote a cluster's rows: a hub compares it with the
-- generation its view reflects to know whether the view is the baseline it may diff a frame against.

-- ALTER on the partitioned parent reaches every partition, the DEFAULT one included.
ALTER TABLE node_utilization_history ALTER COLUMN gpu_utilization DROP NOT NULL;
ALTER TABLE node_utilization_history
	ADD COLUMN gpu_count int,
	ADD COLUMN gpu_allocation int,
	ADD COLUMN gpu_ids int[],
	ADD COLUMN gpu_utilizations double precision[],
	ADD COLUMN gpu_temperatures double precision[],
	ADD COLUMN gpu_powers double precision[];

-- Every node's current figures become its newest sample before the columns holding them go: at the row's
-- updated_at, or just after the node's newest sample should that be later (a spoke clock ahead of the
-- database's), so the upgraded hub loads exactly the figures it served before.
INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count,
	gpu_allocation, gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers)
SELECT n.cluster_name, n.name, greatest(n.updated_at, h.last + interval '1 millisecond'), n.gpu_utilization,
	n.gpu_count, n.gpu_allocation, coalesce(g.ids, '{}'), coalesce(g.u, '{}'), coalesce(g.t, '{}'),
	coalesce(g.p, '{}')
FROM node n
LEFT JOIN (SELECT cluster_name, node_name, array_agg(gpu_id ORDER BY gpu_id) AS ids,
		array_agg(utilization ORDER BY gpu_id) AS u, array_agg(temperature ORDER BY gpu_id) AS t,
		array_agg(power ORDER BY gpu_id) AS p
	FROM gpu_device GROUP BY cluster_name, node_name) g
	ON g.cluster_name = n.cluster_name AND g.node_name = n.name
LEFT JOIN LATERAL (SELECT max(sampled_at) AS last FROM node_utilization_history x
	WHERE x.cluster_name = n.cluster_name AND x.node_name = n.name) h ON true;

-- Dropped, not left stale: a reader still looking for a figure here fails loudly.
ALTER TABLE node DROP COLUMN gpu_utilization;
ALTER TABLE gpu_device DROP COLUMN utilization, DROP COLUMN temperature, DROP COLUMN power;

ALTER TABLE cluster ADD COLUMN rows_gen bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN node.updated_at IS 'when a fact of the row last changed (not when the node was last seen)';
COMMENT ON COLUMN gpu_device.updated_at IS 'when a fact of the row last changed (not when the GPU was last seen)';
COMMENT ON COLUMN cluster.rows_gen IS 'committed frames that wrote the cluster''s rows (issue 13)';

-- Each node with its newest sample (NULL figures without one), for readers outside the hub's view: the SaFE
-- sync, tests, an operator's psql. One index probe per node (node_utilization_history_node_idx).
CREATE VIEW node_latest_sample AS
SELECT n.cluster_name, n.name, n.gpu_count, n.gpu_allocation, n.status, s.sampled_at, s.gpu_utilization,
	s.gpu_ids, s.gpu_utilizations, s.gpu_temperatures, s.gpu_powers
FROM node n
LEFT JOIN LATERAL (SELECT h.sampled_at, h.gpu_utilization, h.gpu_ids, h.gpu_utilizations, h.gpu_temperatures,
		h.gpu_powers
	FROM node_utilization_history h WHERE h.cluster_name = n.cluster_name AND h.node_name = n.name
	ORDER BY h.sampled_at DESC LIMIT 1) s ON true;
