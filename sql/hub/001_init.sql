-- 001_init.sql — the hub database: one row per registered cluster, cluster-keyed node, GPU and
-- overview rows (Lens column names plus cluster_name). Applied once by fleetlens-hub at start-up,
-- inside a transaction, and recorded in schema_migrations.

CREATE TABLE cluster (
	name          text PRIMARY KEY,
	labels        jsonb NOT NULL DEFAULT '{}',
	k8s_version   text,
	spoke_version text,
	source        text,
	spoke_id      text,
	last_seq      bigint,
	last_frame_at timestamptz,
	last_sent_at  timestamptz,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE node (
	id                bigserial PRIMARY KEY,
	cluster_name      text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	name              text NOT NULL,
	address           text,
	gpu_name          text,
	gpu_count         int NOT NULL DEFAULT 0,
	gpu_allocation    int NOT NULL DEFAULT 0,
	gpu_utilization   double precision, -- NULL: no figure
	status            text,
	unschedulable     boolean,
	faulty            boolean,
	taints            jsonb,
	cpu_millis        bigint,
	memory_bytes      bigint,
	kubelet_version   text,
	os_image          text,
	kernel_version    text,
	container_runtime text,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	UNIQUE (cluster_name, name) -- also serves the API's ORDER BY cluster_name, name pages
);

CREATE TABLE gpu_device (
	id           bigserial PRIMARY KEY,
	cluster_name text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	node_name    text NOT NULL,
	gpu_id       int NOT NULL,
	gpu_model    text,
	memory       bigint, -- MiB
	utilization  double precision,
	temperature  double precision,
	power        double precision,
	serial       text,
	numa         int,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	UNIQUE (cluster_name, node_name, gpu_id)
);

CREATE TABLE cluster_overview_cache (
	id                      bigserial PRIMARY KEY,
	cluster_name            text NOT NULL UNIQUE REFERENCES cluster (name) ON DELETE CASCADE,
	total_nodes             int,
	healthy_nodes           int,
	faulty_nodes            int,
	fully_idle_nodes        int,
	partially_idle_nodes    int,
	busy_nodes              int,
	allocation_rate         double precision,
	utilization             double precision,
	gpus_allocatable        int,
	gpus_allocated          int,
	total_space             double precision,
	used_space              double precision,
	usage_percentage        double precision,
	total_inodes            double precision,
	used_inodes             double precision,
	inodes_usage_percentage double precision,
	read_bandwidth          double precision,
	write_bandwidth         double precision,
	total_tx                double precision,
	total_rx                double precision,
	created_at              timestamptz NOT NULL DEFAULT now(),
	updated_at              timestamptz NOT NULL DEFAULT now()
);

-- Indexes for the API reads: node pages (one cluster, or all ordered by cluster_name, name) use
-- node's UNIQUE (cluster_name, name); a cluster's GPUs use gpu_device's UNIQUE (cluster_name, node_name,
-- gpu_id); overviews use cluster_overview_cache's UNIQUE (cluster_name). No further index is needed.
