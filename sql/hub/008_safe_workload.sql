-- 008_safe_workload.sql — which SaFE workload a workload belongs to (issue 12): the value of the label
-- primus-safe.workload.id on its pods, as the spoke sends it (proto/FORMAT.md 3.9, safe_workload_id);
-- '' for a workload SaFE did not create, and for every row written before this migration or by an older
-- spoke. The SaFE sync writes workload_statistic rows for these workloads only (hub/hub_safe.c).
ALTER TABLE gpu_workload ADD COLUMN safe_workload_id text NOT NULL DEFAULT '';

-- The SaFE sync reads the live SaFE workloads of its clusters, then every workload (any status: an earlier
-- dispatch counts toward the last three hours) of each SaFE workload id.
CREATE INDEX gpu_workload_safe_idx ON gpu_workload (cluster_name, safe_workload_id) WHERE safe_workload_id <> '';
