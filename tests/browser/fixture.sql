-- fixture.sql — five clusters' rows for the browser test, written straight into the hub's tables
-- (sql/hub/001_init.sql) so the test needs no spoke. Run after the hub has applied its migrations and
-- registered the clusters, then restart the hub so it loads each cluster's last frame time.
--   alpha   online   12 × 8 GPUs, nearly all allocated but barely used (allocated but idle)
--   beta    online   30 × 8 GPUs, two NotReady (faulty), mixed load: three pages of 10 nodes
--   gamma   stale    5 × 4 GPUs, last frame 90 minutes ago (the test's stale_after is 1h)
--   delta   offline  3 × 8 GPUs, last frame 5 hours ago (offline_after is 2h)
--   epsilon never_seen: registered, no rows at all
BEGIN;

UPDATE cluster c SET last_frame_at = now() - v.age, last_sent_at = now() - v.age, k8s_version = v.k8s,
	spoke_version = '0.1.0', source = 'fixture', spoke_id = 'fixture-' || c.name, last_seq = 1
FROM (VALUES ('alpha', interval '5 seconds', 'v1.30.4'), ('beta', interval '3 seconds', 'v1.29.8'),
             ('gamma', interval '90 minutes', 'v1.28.12'), ('delta', interval '5 hours', 'v1.30.1')) AS v(name, age, k8s)
WHERE c.name = v.name;

-- Nodes: (cluster, prefix, count, gpus, model) with deterministic allocation, utilization and health.
INSERT INTO node (cluster_name, name, address, gpu_name, gpu_count, gpu_allocation, gpu_utilization, status,
                  unschedulable, faulty, kubelet_version, os_image, kernel_version, container_runtime, cpu_millis, memory_bytes)
SELECT s.cluster, format('%s-%s', s.prefix, lpad(i::text, 3, '0')), format('10.%s.0.%s', s.net, i), s.model, s.gpus,
	CASE s.cluster
		WHEN 'alpha' THEN CASE WHEN i <= 10 THEN s.gpus ELSE 6 END
		WHEN 'beta' THEN (i * 5) % (s.gpus + 1)
		WHEN 'gamma' THEN CASE WHEN i % 2 = 0 THEN s.gpus ELSE 0 END
		ELSE i % 3 END,
	CASE s.cluster
		WHEN 'alpha' THEN 3 + (i * 7) % 11
		WHEN 'beta' THEN 20 + (i * 13) % 75
		ELSE 10 + (i * 17) % 60 END + 0.25,
	CASE WHEN s.cluster = 'beta' AND i IN (7, 19) THEN 'NotReady' ELSE 'Ready' END,
	false, s.cluster = 'beta' AND i IN (7, 19), 'v1.30.4', 'Ubuntu 22.04.4 LTS', '5.15.0-119-generic', 'containerd://1.7.12',
	192000, 2199023255552
FROM (VALUES ('alpha', 'alpha-gpu', 12, 8, 'NVIDIA H100 80GB HBM3', 1), ('beta', 'beta-node', 30, 8, 'AMD Instinct MI300X', 2),
             ('gamma', 'gamma-a100', 5, 4, 'NVIDIA A100-SXM4-40GB', 3), ('delta', 'delta-gpu', 3, 8, 'AMD Instinct MI250X', 4))
	AS s(cluster, prefix, n, gpus, model, net),
	generate_series(1, s.n) AS i;

-- One row per GPU, figures spread around the node's utilization.
INSERT INTO gpu_device (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power, serial, numa)
SELECT n.cluster_name, n.name, g, n.gpu_name, CASE WHEN n.gpu_name LIKE 'AMD%' THEN 196608 ELSE 81920 END,
	greatest(0, least(100, n.gpu_utilization + (g * 9) % 13 - 6)), 38 + (g * 3 + length(n.name)) % 30, 150 + (g * 41) % 400,
	format('SN-%s-%s', upper(n.name), g), g / 4
FROM node n, generate_series(0, n.gpu_count - 1) AS g;

-- The overview each cluster's spoke would have sent, by the rules in ARCHITECTURE.md.
INSERT INTO cluster_overview_cache (cluster_name, total_nodes, healthy_nodes, faulty_nodes, fully_idle_nodes,
	partially_idle_nodes, busy_nodes, allocation_rate, utilization, gpus_allocatable, gpus_allocated, total_space, used_space,
	usage_percentage, total_inodes, used_inodes, inodes_usage_percentage, read_bandwidth, write_bandwidth, total_tx, total_rx,
	updated_at)
SELECT n.cluster_name, count(*), count(*) FILTER (WHERE NOT faulty), count(*) FILTER (WHERE faulty),
	count(*) FILTER (WHERE NOT faulty AND gpu_allocation = 0),
	count(*) FILTER (WHERE NOT faulty AND gpu_allocation > 0 AND gpu_allocation < gpu_count),
	count(*) FILTER (WHERE NOT faulty AND gpu_allocation >= gpu_count),
	coalesce(100.0 * sum(gpu_allocation) FILTER (WHERE NOT faulty) / nullif(sum(gpu_count) FILTER (WHERE NOT faulty), 0), 0),
	(SELECT avg(d.utilization) FROM gpu_device d WHERE d.cluster_name = n.cluster_name),
	sum(gpu_count) FILTER (WHERE NOT faulty), sum(gpu_allocation) FILTER (WHERE NOT faulty),
	1.2e15, 4.5e14, 37.5, 1e9, 2.5e8, 25, 3.2e9, 1.1e9, 5.5e10, 5.1e10, c.last_frame_at
FROM node n JOIN cluster c ON c.name = n.cluster_name
GROUP BY n.cluster_name, c.last_frame_at;

COMMIT;
