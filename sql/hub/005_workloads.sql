-- 005_workloads.sql — GPU workloads and their pods, as the spokes report them, and per-workload GPU
-- utilization over time (issue 5). proto/FORMAT.md 3.8 and 3.9 define the fields.
--
-- Rows are keyed by (cluster_name, uid) and carry the version of the frame that wrote them (src_sent_ms,
-- src_seq), like node rows: a row is changed only by a newer frame. A full frame deletes the cluster's
-- pods it does not list, and marks the Running or Pending workloads it does not list Deleted (ended_at =
-- the frame's sent_at); ended workloads (Done, Failed, Deleted) stay for hub.history_retention after
-- they ended, then the hub's maintenance deletes them.

CREATE TABLE gpu_workload (
	cluster_name    text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	uid             text NOT NULL,
	kind            text NOT NULL,
	api_version     text NOT NULL DEFAULT '',
	namespace       text NOT NULL DEFAULT '',
	name            text NOT NULL,
	status          text NOT NULL, -- Running, Pending, Done, Failed, Deleted
	gpu_request     bigint NOT NULL DEFAULT 0,
	pods            bigint NOT NULL DEFAULT 0,
	gpu_utilization double precision, -- NULL: no figure
	created_at      timestamptz,      -- when the spoke first saw it
	ended_at        timestamptz,      -- NULL while it has live pods
	updated_at      timestamptz NOT NULL DEFAULT now(),
	src_sent_ms     bigint NOT NULL DEFAULT 0,
	src_seq         bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (cluster_name, uid) -- also serves the API's default order (cluster, then uid ties)
);
-- /v1/workloads filters by namespace and name within a cluster; the SaFE sync reads the live ones.
CREATE INDEX gpu_workload_name_idx ON gpu_workload (cluster_name, namespace, name);
CREATE INDEX gpu_workload_live_idx ON gpu_workload (cluster_name) WHERE status IN ('Running', 'Pending');

CREATE TABLE gpu_pod (
	cluster_name    text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	uid             text NOT NULL,
	namespace       text NOT NULL DEFAULT '',
	name            text NOT NULL,
	node_name       text NOT NULL DEFAULT '', -- '' while not bound
	gpus            bigint NOT NULL DEFAULT 0,
	phase           text NOT NULL DEFAULT '',
	running         boolean NOT NULL DEFAULT false,
	workload_uid    text NOT NULL DEFAULT '',
	gpu_utilization double precision,
	created_at      timestamptz,
	updated_at      timestamptz NOT NULL DEFAULT now(),
	src_sent_ms     bigint NOT NULL DEFAULT 0,
	src_seq         bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (cluster_name, uid)
);
-- /v1/workloads/{uid} lists the workload's pods.
CREATE INDEX gpu_pod_workload_idx ON gpu_pod (cluster_name, workload_uid);

-- One row per Running workload with a figure per committed frame that carried it, at the frame's
-- sent_at. Partitioned by UTC day exactly like node_utilization_history (004_history.sql): day
-- partitions workload_utilization_history_YYYYMMDD are created ahead and dropped after the retention.
CREATE TABLE workload_utilization_history (
	cluster_name    text NOT NULL,
	workload_uid    text NOT NULL,
	sampled_at      timestamptz NOT NULL,
	gpu_utilization double precision NOT NULL
) PARTITION BY RANGE (sampled_at);

-- The SaFE sync reads one cluster's last three hours; a history read one workload's range.
CREATE INDEX workload_utilization_history_idx ON workload_utilization_history (cluster_name, workload_uid, sampled_at);

CREATE TABLE workload_utilization_history_default PARTITION OF workload_utilization_history DEFAULT;
