-- 012_list_indexes.sql — the indexes behind the PostgreSQL-backed list routes at fleet size (issue 17):
-- GET /v1/workloads (name, namespace, kind, status, order_by), the Lens workload list and GET /v1/jobs.
--
-- The statements (hub/hub_workload.c, hub_lens_workloads.c, hub_node.c) scope by cluster_name = ANY (the
-- clusters the caller may see), read a page as ORDER BY <key>, <ties> LIMIT/OFFSET and a total as count(*)
-- over the same filters, each planned apart with the request's values. So that neither reads the whole
-- table:
--   - every order_by of /v1/workloads has a btree in exactly its ORDER BY (the key, then the ties cluster,
--     namespace, name, uid); the descending order is the same index read backwards. A page walks it and
--     stops after LIMIT + OFFSET matching rows. The leading column also answers the equality filter of the
--     same name (namespace, kind, status) and its count from the index alone;
--   - the name filter (a substring, LIKE '%...%') reads a pg_trgm GIN index. A search of one or two
--     characters has no trigram and reads the whole index (still no table scan);
--   - order_by=gpu_utilization (the newest sample of each Running workload) has no index order: it looks up
--     the newest sample of every matching Running workload (one probe of workload_utilization_history_idx
--     per partition) and sorts them. Fine when filters are selective; over a whole fleet it costs one probe
--     per Running workload per day partition (measured in explain_test.sh's comments and the README);
--   - the Lens list (one cluster, newest first) has its own (cluster_name, created_at, uid);
--   - /v1/jobs pages newest first: (first_seen, id), with framework as its own leading column for the
--     framework filter; node and status already have indexes (006_node_agents.sql).
-- tests/integration/explain_test.sh checks every route's plans on a fleet-sized data set with auto_explain
-- and fails on a sequential scan of these tables or a sort of more than a page where an order was expected.
--
-- pg_trgm is a trusted extension (PostgreSQL 13 and later): the database owner may create it. Debian ships
-- it in postgresql-15 itself.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The default order (cluster, namespace, name, uid) exactly; replaces 005's (cluster_name, namespace, name),
-- which ended before the uid tie and so left every page to an extra sort step.
CREATE INDEX gpu_workload_default_idx ON gpu_workload (cluster_name, namespace, name, uid);
DROP INDEX gpu_workload_name_idx;

CREATE INDEX gpu_workload_by_name_idx ON gpu_workload (name, cluster_name, namespace, uid);
CREATE INDEX gpu_workload_by_namespace_idx ON gpu_workload (namespace, cluster_name, name, uid);
CREATE INDEX gpu_workload_by_kind_idx ON gpu_workload (kind, cluster_name, namespace, name, uid);
CREATE INDEX gpu_workload_by_status_idx ON gpu_workload (status, cluster_name, namespace, name, uid);
CREATE INDEX gpu_workload_by_request_idx ON gpu_workload (gpu_request, cluster_name, namespace, name, uid);
CREATE INDEX gpu_workload_by_created_idx ON gpu_workload (created_at NULLS FIRST, cluster_name, namespace, name, uid);
CREATE INDEX gpu_workload_by_ended_idx ON gpu_workload (ended_at NULLS FIRST, cluster_name, namespace, name, uid);
CREATE INDEX gpu_workload_name_trgm_idx ON gpu_workload USING gin (name gin_trgm_ops);
-- Lens: one cluster's workloads, created_at DESC NULLS LAST, uid DESC (this index read backwards).
CREATE INDEX gpu_workload_lens_created_idx ON gpu_workload (cluster_name, created_at NULLS FIRST, uid);

-- /v1/jobs: newest first (first_seen DESC, id DESC: read backwards).
CREATE INDEX gpu_job_seen_idx ON gpu_job (first_seen, id);
CREATE INDEX gpu_job_framework_idx ON gpu_job (framework, cluster_name, status);
