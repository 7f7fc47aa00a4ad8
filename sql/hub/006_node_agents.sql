-- 006_node_agents.sql — what spokes in the node role (one per node, a DaemonSet) report about their node
-- (issue 7; proto/FORMAT.md 3.10): the agent itself, the node's GPUs and RDMA devices as the node sees
-- them, a change log of devices that appeared, disappeared or were replaced, and the GPU jobs (processes
-- that hold GPU device files).
--
-- A node frame replaces the node's device rows; only a newer frame (by sent, then seq within one spoke
-- stream) is applied. Kubernetes facts stay in `node` (the cluster role); the API merges both and shows
-- whichever is missing as missing.

CREATE TABLE node_agent (
	cluster_name  text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	node_name     text NOT NULL,
	status        text NOT NULL DEFAULT 'ok', -- ok, lost (no frame for hub.node_lost_after)
	spoke_id      text NOT NULL,
	last_seq      bigint NOT NULL,
	src_sent_ms   bigint NOT NULL,           -- the newest applied frame's sent
	gpu_source    text NOT NULL DEFAULT '',  -- amd, nvml, none
	spoke_version text NOT NULL DEFAULT '',
	first_seen    timestamptz NOT NULL DEFAULT now(),
	last_seen     timestamptz NOT NULL DEFAULT now(), -- when the hub received its newest frame
	lost_at       timestamptz,
	PRIMARY KEY (cluster_name, node_name)
);
CREATE INDEX node_agent_seen_idx ON node_agent (last_seen) WHERE status = 'ok';

CREATE TABLE node_gpu (
	cluster_name text NOT NULL,
	node_name    text NOT NULL,
	gpu_id       int NOT NULL,
	gpu_model    text NOT NULL DEFAULT '',
	memory       bigint NOT NULL DEFAULT 0, -- MiB
	utilization  double precision,          -- NULL: no figure
	temperature  double precision,
	power        double precision,
	serial       text NOT NULL DEFAULT '',
	numa         int NOT NULL DEFAULT -1,
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, node_name, gpu_id),
	FOREIGN KEY (cluster_name, node_name) REFERENCES node_agent ON DELETE CASCADE
);

CREATE TABLE rdma_device (
	cluster_name text NOT NULL,
	node_name    text NOT NULL,
	name         text NOT NULL,
	node_guid    text NOT NULL DEFAULT '',
	fw_version   text NOT NULL DEFAULT '',
	port_state   text NOT NULL DEFAULT '',
	link_layer   text NOT NULL DEFAULT '',
	rx_bytes     bigint NOT NULL DEFAULT 0,
	tx_bytes     bigint NOT NULL DEFAULT 0,
	rx_rate      double precision, -- bytes/s; NULL: not yet known
	tx_rate      double precision,
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_name, node_name, name),
	FOREIGN KEY (cluster_name, node_name) REFERENCES node_agent ON DELETE CASCADE
);

CREATE TABLE node_device_changelog (
	id           bigserial PRIMARY KEY,
	cluster_name text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	node_name    text NOT NULL,
	device_type  text NOT NULL, -- gpu, rdma
	device       text NOT NULL, -- the GPU's index, the RDMA device's name
	change       text NOT NULL, -- added, removed, replaced
	old_identity text,          -- serial (GPU) or node GUID (RDMA); NULL when added
	new_identity text,          -- NULL when removed
	changed_at   timestamptz NOT NULL
);
CREATE INDEX node_device_changelog_node_idx ON node_device_changelog (cluster_name, node_name, changed_at);

CREATE TABLE gpu_job (
	id           bigserial PRIMARY KEY,
	cluster_name text NOT NULL,
	node_name    text NOT NULL,
	pid          bigint NOT NULL,
	started_ms   bigint NOT NULL, -- with pid the process's identity on its node
	ppid         bigint NOT NULL DEFAULT 0,
	pgid         bigint NOT NULL DEFAULT 0,
	name         text NOT NULL DEFAULT '',
	cmdline      text NOT NULL DEFAULT '',
	cwd          text NOT NULL DEFAULT '',
	framework    text NOT NULL DEFAULT '',
	pod_uid      text NOT NULL DEFAULT '',
	devices      text NOT NULL DEFAULT '',
	status       text NOT NULL DEFAULT 'running', -- running, lost (its agent is lost), ended
	first_seen   timestamptz NOT NULL DEFAULT now(),
	last_seen    timestamptz NOT NULL DEFAULT now(),
	ended_at     timestamptz,
	UNIQUE (cluster_name, node_name, pid, started_ms),
	FOREIGN KEY (cluster_name, node_name) REFERENCES node_agent ON DELETE CASCADE
);
-- /v1/jobs filters by status within clusters; the lost sweep and each node frame touch the node's live ones.
CREATE INDEX gpu_job_status_idx ON gpu_job (cluster_name, status, id);
CREATE INDEX gpu_job_live_idx ON gpu_job (cluster_name, node_name) WHERE status <> 'ended';
