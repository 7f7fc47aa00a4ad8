-- fixture.sql — five clusters' rows for the browser test, written straight into the hub's tables
-- (sql/hub/001_init.sql .. 010_workload_samples.sql) so the test needs no spoke. Run after the hub has
-- applied its migrations and registered the clusters, then restart the hub so it loads each cluster's
-- last frame time. Facts go to the node, gpu_device, gpu_workload and gpu_pod rows; figures are samples
-- (issue 13): each node's newest row in node_utilization_history, at its cluster's last frame time, holds
-- its utilization and its GPUs' utilization, temperature and power, as a spoke's frame would leave them.
--   alpha   online   12 × 8 GPUs, nearly all allocated but barely used (allocated but idle)
--   beta    online   30 × 8 GPUs, two NotReady (faulty), mixed load: three pages of 10 nodes
--   gamma   stale    5 × 4 GPUs, last frame 90 minutes ago (the test's stale_after is 1h)
--   delta   offline  3 × 8 GPUs, last frame 5 hours ago (offline_after is 2h)
--   epsilon never_seen: registered, no rows at all
-- and node agents (spokes in the node role, sql/hub/006_node_agents.sql) in beta:
--   beta-node-001  agent ok: its own 8 GPUs, two RDMA devices (one without rates yet), three device
--                  changes, 13 GPU jobs (11 running, 2 ended: two pages of 10), one command line with markup
--   beta-node-002  agent lost 15 minutes ago: no RDMA devices, 2 lost jobs and 1 ended
--   beta-edge-001  agent ok, but not in the cluster's nodes: its Kubernetes facts are missing
--   every other node has no agent
-- and what the node agents read of each job and GPU (issue 18, sql/hub/013_job_monitor.sql):
--   beta-node-001's jobs  parameters, allowlisted environment and config path from their command lines
--                         (job 4013 with markup in a parameter; 4004 idle for 45 minutes), one GPU each;
--                         a newest sample for each running job, and for 4004 and 4013 a sample a minute over
--                         the last hour, 4013's with a hole from 40 to 15 minutes ago; ended and lost jobs
--                         have none ("no sample yet"), beta-edge-001's has unknown GPU memory
--   node_gpu              memory used and health: beta-node-001's GPU 3 unhealthy (RAS), the others healthy;
--                         beta-edge-001's GPU 1 with neither known; GPU 3's turn to unhealthy in the changes
-- and utilization history with a hole (issue 13), sampled every 30 s but for a 25-minute outage from 40 to
-- 15 minutes ago, where the charts must break their line:
--   alpha-gpu-003         node samples over the last 58 minutes, every 30 s up to alpha's last frame
--   alpha research/train-gap  a Running workload first seen 50 minutes ago (its one pod on alpha-gpu-003),
--                         samples from 30 s after that
BEGIN;

UPDATE cluster c SET last_frame_at = now() - v.age, last_sent_at = now() - v.age, k8s_version = v.k8s,
	spoke_version = '0.1.0', source = 'fixture', spoke_id = 'fixture-' || c.name, last_seq = 1
FROM (VALUES ('alpha', interval '5 seconds', 'v1.30.4'), ('beta', interval '3 seconds', 'v1.29.8'),
             ('gamma', interval '90 minutes', 'v1.28.12'), ('delta', interval '5 hours', 'v1.30.1')) AS v(name, age, k8s)
WHERE c.name = v.name;

-- Nodes: (cluster, prefix, count, gpus, model) with deterministic allocation and health.
INSERT INTO node (cluster_name, name, address, gpu_name, gpu_count, gpu_allocation, status,
                  unschedulable, faulty, kubelet_version, os_image, kernel_version, container_runtime, cpu_millis, memory_bytes)
SELECT s.cluster, format('%s-%s', s.prefix, lpad(i::text, 3, '0')), format('10.%s.0.%s', s.net, i), s.model, s.gpus,
	CASE s.cluster
		WHEN 'alpha' THEN CASE WHEN i <= 10 THEN s.gpus ELSE 6 END
		WHEN 'beta' THEN (i * 5) % (s.gpus + 1)
		WHEN 'gamma' THEN CASE WHEN i % 2 = 0 THEN s.gpus ELSE 0 END
		ELSE i % 3 END,
	CASE WHEN s.cluster = 'beta' AND i IN (7, 19) THEN 'NotReady' ELSE 'Ready' END,
	false, s.cluster = 'beta' AND i IN (7, 19), 'v1.30.4', 'Ubuntu 22.04.4 LTS', '5.15.0-119-generic', 'containerd://1.7.12',
	192000, 2199023255552
FROM (VALUES ('alpha', 'alpha-gpu', 12, 8, 'NVIDIA H100 80GB HBM3', 1), ('beta', 'beta-node', 30, 8, 'AMD Instinct MI300X', 2),
             ('gamma', 'gamma-a100', 5, 4, 'NVIDIA A100-SXM4-40GB', 3), ('delta', 'delta-gpu', 3, 8, 'AMD Instinct MI250X', 4))
	AS s(cluster, prefix, n, gpus, model, net),
	generate_series(1, s.n) AS i;

-- One row per GPU: its facts.
INSERT INTO gpu_device (cluster_name, node_name, gpu_id, gpu_model, memory, serial, numa)
SELECT n.cluster_name, n.name, g, n.gpu_name, CASE WHEN n.gpu_name LIKE 'AMD%' THEN 196608 ELSE 81920 END,
	format('SN-%s-%s', upper(n.name), g), g / 4
FROM node n, generate_series(0, n.gpu_count - 1) AS g;

-- The figures: each node's utilization (deterministic, by cluster and the node's number i) and its GPUs'
-- spread around it, as each node's newest sample at its cluster's last frame time.
CREATE TEMP TABLE fixture_gpu ON COMMIT DROP AS
SELECT n.cluster_name, n.name, n.gpu_count, n.gpu_allocation, c.last_frame_at, g,
	CASE n.cluster_name
		WHEN 'alpha' THEN 3 + (i * 7) % 11
		WHEN 'beta' THEN 20 + (i * 13) % 75
		ELSE 10 + (i * 17) % 60 END + 0.25 AS node_u
FROM node n JOIN cluster c ON c.name = n.cluster_name, LATERAL (SELECT right(n.name, 3)::int AS i) x,
	generate_series(0, n.gpu_count - 1) AS g;
INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count, gpu_allocation,
                                      gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers)
SELECT cluster_name, name, last_frame_at, min(node_u), min(gpu_count), min(gpu_allocation), array_agg(g ORDER BY g),
	array_agg(greatest(0, least(100, node_u + (g * 9) % 13 - 6)) ORDER BY g),
	array_agg(38 + (g * 3 + length(name)) % 30 ORDER BY g), array_agg(150 + (g * 41) % 400 ORDER BY g)
FROM fixture_gpu GROUP BY cluster_name, name, last_frame_at;

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
	(SELECT avg(greatest(0, least(100, f.node_u + (f.g * 9) % 13 - 6))) FROM fixture_gpu f WHERE f.cluster_name = n.cluster_name),
	sum(gpu_count) FILTER (WHERE NOT faulty), sum(gpu_allocation) FILTER (WHERE NOT faulty),
	1.2e15, 4.5e14, 37.5, 1e9, 2.5e8, 25, 3.2e9, 1.1e9, 5.5e10, 5.1e10, c.last_frame_at
FROM node n JOIN cluster c ON c.name = n.cluster_name
GROUP BY n.cluster_name, c.last_frame_at;

-- Node agents in beta (issue 7). last_seen of the ok agents is recent: the hub's lost sweep
-- (node_lost_after, 5 minutes by default) leaves them ok for the test's length.
INSERT INTO node_agent (cluster_name, node_name, status, spoke_id, last_seq, src_sent_ms, gpu_source, spoke_version,
                        first_seen, last_seen, lost_at)
VALUES ('beta', 'beta-node-001', 'ok', 'node-beta-node-001', 42, (extract(epoch FROM now()) * 1000)::bigint, 'amd', '0.2.0',
        now() - interval '2 days', now() - interval '4 seconds', NULL),
       ('beta', 'beta-node-002', 'lost', 'node-beta-node-002', 17, (extract(epoch FROM now() - interval '20 minutes') * 1000)::bigint,
        'amd', '0.2.0', now() - interval '3 days', now() - interval '20 minutes', now() - interval '15 minutes'),
       ('beta', 'beta-edge-001', 'ok', 'node-beta-edge-001', 5, (extract(epoch FROM now()) * 1000)::bigint, 'nvml', '0.2.0',
        now() - interval '1 hour', now() - interval '6 seconds', NULL);

-- The agents' own view of their GPUs (the cluster role's gpu_device rows stay as they are).
INSERT INTO node_gpu (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power, serial, numa)
SELECT 'beta', n, g, m, mem, CASE WHEN g = 5 THEN NULL ELSE 30 + g * 7.5 END, 40 + g, 300 + g * 10,
	format('AGENT-%s-%s', upper(n), g), g / 4
FROM (VALUES ('beta-node-001', 'AMD Instinct MI300X', 196608, 8), ('beta-edge-001', 'NVIDIA L4', 23034, 2)) AS x(n, m, mem, k),
	generate_series(0, x.k - 1) AS g;

INSERT INTO rdma_device (cluster_name, node_name, name, node_guid, fw_version, port_state, link_layer, rx_bytes, tx_bytes,
                         rx_rate, tx_rate)
VALUES ('beta', 'beta-node-001', 'mlx5_0', 'b8ce:f603:00a1:4e20', '28.39.1002', 'ACTIVE', 'InfiniBand', 918273645500, 812345678900,
        1342177280, 987654321.5),
       ('beta', 'beta-node-001', 'mlx5_1', 'b8ce:f603:00a1:4e21', '28.39.1002', 'DOWN', 'Ethernet', 0, 0, NULL, NULL),
       ('beta', 'beta-edge-001', 'mlx5_0', '0c42:a103:0077:1f00', '22.36.1010', 'ACTIVE', 'Ethernet', 1000, 2000, 51200, 0);

INSERT INTO node_device_changelog (cluster_name, node_name, device_type, device, change, old_identity, new_identity, changed_at)
VALUES ('beta', 'beta-node-001', 'gpu', '0', 'added', NULL, 'AGENT-BETA-NODE-001-0', now() - interval '2 days'),
       ('beta', 'beta-node-001', 'gpu', '3', 'replaced', 'OLD-SERIAL-3', 'AGENT-BETA-NODE-001-3', now() - interval '1 day'),
       ('beta', 'beta-node-001', 'rdma', 'mlx5_1', 'added', NULL, 'b8ce:f603:00a1:4e21', now() - interval '5 hours');

-- GPU jobs: started_ms spaced a minute apart, first_seen likewise (the API lists newest first).
INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, ppid, pgid, name, cmdline, cwd, framework, pod_uid, devices,
                     status, first_seen, last_seen, ended_at)
SELECT 'beta', 'beta-node-001', 4000 + i, (extract(epoch FROM now() - make_interval(mins => 60 - i)) * 1000)::bigint,
	1, 4000 + i, CASE WHEN i % 3 = 0 THEN 'torchrun' ELSE 'python3' END,
	CASE WHEN i = 13 THEN 'python3 train.py --run "<img src=x onerror=alert(1)>" --note a&b --data /datasets/imagenet/train --epochs 90 --batch-size 256 --lr 0.1'
	     ELSE format('python3 -m torch.distributed.run --nproc-per-node 8 train_llm.py --config configs/run-%s.yaml --seed %s', i, i) END,
	'/workspace', CASE WHEN i % 4 = 0 THEN 'jax' ELSE 'pytorch' END,
	CASE WHEN i % 5 = 0 THEN '' ELSE format('5f0c%s-1d2e-4b3a-9c8d-00000000%s', lpad(i::text, 4, '0'), lpad(i::text, 4, '0')) END,
	format('/dev/dri/renderD%s', 128 + i % 8), CASE WHEN i IN (2, 5) THEN 'ended' ELSE 'running' END,
	now() - make_interval(mins => 60 - i), now() - interval '4 seconds',
	CASE WHEN i IN (2, 5) THEN now() - make_interval(mins => 30 - i) END
FROM generate_series(1, 13) AS i;
INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, name, cmdline, framework, pod_uid, status, first_seen, last_seen, ended_at)
VALUES ('beta', 'beta-node-002', 7001, (extract(epoch FROM now() - interval '2 hours') * 1000)::bigint, 'python3', 'python3 serve.py --port 8000',
        'vllm', 'aa11bb22-0000-4000-8000-000000000001', 'lost', now() - interval '2 hours', now() - interval '20 minutes', NULL),
       ('beta', 'beta-node-002', 7002, (extract(epoch FROM now() - interval '90 minutes') * 1000)::bigint, 'python3', 'python3 bench.py',
        'pytorch', '', 'lost', now() - interval '90 minutes', now() - interval '20 minutes', NULL),
       ('beta', 'beta-node-002', 7003, (extract(epoch FROM now() - interval '3 hours') * 1000)::bigint, 'rocm-smi', 'rocm-smi --showuse',
        '', '', 'ended', now() - interval '3 hours', now() - interval '170 minutes', now() - interval '170 minutes');
INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, name, cmdline, framework, status, first_seen, last_seen)
VALUES ('beta', 'beta-edge-001', 900, (extract(epoch FROM now() - interval '10 minutes') * 1000)::bigint, 'python3', 'python3 infer.py',
        'pytorch', 'running', now() - interval '10 minutes', now() - interval '6 seconds');

-- Issue 18: what the node agents read of each job and GPU.
UPDATE gpu_job j SET
	params = CASE WHEN x.i = 13 THEN '{"run": "<img src=x onerror=alert(1)>", "note": "a&b", "data": "/datasets/imagenet/train", "epochs": 90, "batch-size": 256, "lr": 0.1}'::jsonb
	              ELSE jsonb_build_object('nproc-per-node', 8, 'config', format('configs/run-%s.yaml', x.i), 'seed', x.i) END,
	config_path = CASE WHEN x.i = 13 THEN '' ELSE format('configs/run-%s.yaml', x.i) END,
	env = CASE WHEN x.i = 13 THEN '{"HIP_VISIBLE_DEVICES": "5", "WORLD_SIZE": "16", "RANK": "3", "LOCAL_RANK": "1", "MASTER_ADDR": "10.2.0.1", "MASTER_PORT": "29500"}'::jsonb
	           WHEN x.i % 2 = 0 THEN jsonb_build_object('HIP_VISIBLE_DEVICES', (x.i % 8)::text) ELSE '{}'::jsonb END,
	gpu_ids = ARRAY[x.i % 8],
	idle_since = CASE WHEN x.i = 4 THEN now() - interval '45 minutes' END
FROM (SELECT id, pid - 4000 AS i FROM gpu_job WHERE cluster_name = 'beta' AND node_name = 'beta-node-001') x
WHERE j.id = x.id;
UPDATE gpu_job SET gpu_ids = '{0}', env = '{"CUDA_VISIBLE_DEVICES": "0"}' WHERE cluster_name = 'beta' AND node_name = 'beta-edge-001';

-- Samples: the running jobs' newest, 4 s ago; 4004 (idle: memory held, 0-3 % used) and 4013 (a hole from
-- 40 to 15 minutes ago) a minute apart over the last hour, as the hub's 60 s buckets keep them.
INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads, fds, gpu_memory_bytes, gpu_utilization)
SELECT 'beta', id, date_trunc('second', now()) - interval '4 seconds', CASE WHEN i % 3 = 0 THEN 'S' ELSE 'R' END, 100 + i * 12.5,
	i * 1073741824::bigint + 123456789, 10 + i, 40 + i, i * 2147483648::bigint, 50 + i * 3.25
FROM (SELECT id, pid - 4000 AS i FROM gpu_job WHERE node_name = 'beta-node-001' AND status = 'running' AND pid NOT IN (4004, 4013)) x;
INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads, fds, gpu_memory_bytes, gpu_utilization)
SELECT 'beta', j.id, date_trunc('second', now()) - make_interval(secs => s), 'S', 1.5, 2147483648, 24, 61, 8589934592, (s / 60) % 4
FROM gpu_job j, generate_series(4, 3484, 60) AS s WHERE j.node_name = 'beta-node-001' AND j.pid = 4004;
INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads, fds, gpu_memory_bytes, gpu_utilization)
SELECT 'beta', j.id, date_trunc('second', now()) - make_interval(secs => s), 'R', 250 + (s / 60) % 20 * 5,
	34359738368 + (s / 60) % 10 * 104857600, 96, 212, 68719476736, 70 + (s / 60) % 25
FROM gpu_job j, generate_series(4, 3484, 60) AS s WHERE j.node_name = 'beta-node-001' AND j.pid = 4013 AND s NOT BETWEEN 900 AND 2400;
INSERT INTO gpu_job_sample (cluster_name, job_id, sampled_at, state, cpu_percent, rss_bytes, threads, fds, gpu_memory_bytes, gpu_utilization)
SELECT 'beta', id, date_trunc('second', now()) - interval '6 seconds', 'R', 99.5, 3221225472, 12, 33, NULL, NULL
FROM gpu_job WHERE node_name = 'beta-edge-001';

UPDATE node_gpu SET memory_used = 1024 + gpu_id * 4096, health = CASE WHEN gpu_id = 3 THEN 'unhealthy' ELSE 'healthy' END,
	health_detail = CASE WHEN gpu_id = 3 THEN 'ras ue 2 ce 7' ELSE 'ras ue 0 ce 0' END
WHERE cluster_name = 'beta' AND node_name = 'beta-node-001';
UPDATE node_gpu SET memory_used = CASE WHEN gpu_id = 0 THEN 20480 END, health = CASE WHEN gpu_id = 0 THEN 'healthy' ELSE '' END
WHERE cluster_name = 'beta' AND node_name = 'beta-edge-001';
INSERT INTO node_device_changelog (cluster_name, node_name, device_type, device, change, old_identity, new_identity, detail, changed_at)
VALUES ('beta', 'beta-node-001', 'gpu', '3', 'health', 'healthy', 'unhealthy', 'ras ue 2 ce 7', now() - interval '2 hours');

-- History with a hole: every 30 s back from the node's newest sample above (alpha's last frame, 5 s
-- ago), as a spoke's 30 s frames leave them, none from 2400 to 900 s before it. Every spacing is a whole
-- number of 30 s, so the hub's 15 s buckets (aligned to the epoch) keep it exactly whatever second now()
-- is: the charts see one 30 s cadence and one hole. (Samples 60 s, 90 s, ... before now() left 55 s up to
-- the newest one, which the buckets made 45 s or 60 s by where now() fell in its 15 s: 60 s is twice the
-- cadence, a second gap in two runs of three.) The workload's samples below are all 30 s apart too.
INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count, gpu_allocation)
SELECT 'alpha', 'alpha-gpu-003', c.last_frame_at - make_interval(secs => s), 20 + (s / 30) % 40, 8, 8
FROM cluster c, generate_series(30, 3450, 30) AS s WHERE c.name = 'alpha' AND s NOT BETWEEN 900 AND 2400;
INSERT INTO gpu_workload (cluster_name, uid, kind, api_version, namespace, name, status, gpu_request, pods,
                          created_at, src_sent_ms, src_seq)
VALUES ('alpha', 'fixture-wl-gap', 'PyTorchJob', 'kubeflow.org/v1', 'research', 'train-gap', 'Running', 8, 1,
        date_trunc('second', now()) - interval '3000 seconds', (extract(epoch FROM now()) * 1000)::bigint, 1);
INSERT INTO gpu_pod (cluster_name, uid, namespace, name, node_name, gpus, phase, running, workload_uid,
                     created_at, src_sent_ms, src_seq)
VALUES ('alpha', 'fixture-pod-gap', 'research', 'train-gap-worker-0', 'alpha-gpu-003', 8, 'Running', true, 'fixture-wl-gap',
        date_trunc('second', now()) - interval '3000 seconds', (extract(epoch FROM now()) * 1000)::bigint, 1);
INSERT INTO pod_utilization_history (cluster_name, pod_uid, sampled_at, gpu_utilization)
VALUES ('alpha', 'fixture-pod-gap', now() - interval '60 seconds', 32);
INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request, pods)
SELECT 'alpha', 'fixture-wl-gap', now() - make_interval(secs => s), 30 + (s / 30) % 25, 8, 1
FROM generate_series(60, 2970, 30) AS s WHERE s NOT BETWEEN 900 AND 2400;

COMMIT;
