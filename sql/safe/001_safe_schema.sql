-- 001_safe_schema.sql — SaFE's own tables, exactly as SaFE defines them (issue 5), for TESTS and the
-- benchmark only. FleetLens never migrates the SaFE database: it writes into these tables as they are.
-- Neither table has a unique key (nor any index); fleetlens-hub serializes its writers with an
-- advisory lock instead.

CREATE TABLE node_statistic (
	id              serial,
	cluster         varchar(64) NOT NULL,
	node_name       varchar(128) NOT NULL,
	gpu_utilization decimal(5,2),
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz,
	deleted_at      timestamptz
);

CREATE TABLE workload_statistic (
	id                serial,
	workload_id       varchar(64) NOT NULL,
	workload_uid      varchar(36),
	cluster           varchar(64),
	workspace         varchar(64),
	statistic_type    varchar(32) NOT NULL,
	avg_gpu_usage_3h  decimal(5,2),
	max_gpu_usage_3h  decimal(5,2),
	data_points_count int,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz
);
