-- 002_delivery.sql — exactly-once, ordered delivery (issue 4), safe across hub restarts and several
-- hubs on one database.
--
-- ingest_log: one row per committed frame, written in the same transaction as the frame's rows; its
-- primary key makes a repeat of (cluster, spoke stream, seq) impossible to commit twice. Rows older
-- than hub.ingest_log_retention are deleted by the hub from time to time (received_at index).
--
-- Row versions: every node, gpu_device and cluster_overview_cache row carries the version of the frame
-- that wrote it, (src_sent_ms, src_seq); a frame changes or deletes a row only where the stored version
-- is older than its own, so an older frame never overwrites what a newer one wrote, whatever order
-- they commit in. Rows written before this migration get version (0, 0): any frame is newer.
-- cluster keeps the version and stream of its newest frame (the replay baseline) and the version of its
-- newest full frame: a frame older than that one writes no rows (a deleted row leaves no version behind,
-- so without it an older delta could bring back a node the full frame removed).

CREATE TABLE ingest_log (
	cluster_name text NOT NULL REFERENCES cluster (name) ON DELETE CASCADE,
	spoke_id     text NOT NULL,
	seq          bigint NOT NULL,
	kind         text NOT NULL,        -- full, delta, heartbeat
	sent_at      timestamptz NOT NULL, -- the spoke's clock, as sent
	version_ms   bigint NOT NULL,      -- the version time its rows got (sent_at, never below the stream's previous)
	received_at  timestamptz NOT NULL, -- the hub's clock
	node_rows    int NOT NULL,         -- node rows it inserted or updated
	PRIMARY KEY (cluster_name, spoke_id, seq) -- also serves "highest seq of this stream" (backward scan)
);
CREATE INDEX ingest_log_received_at_idx ON ingest_log (received_at);

ALTER TABLE cluster
	ADD COLUMN src_sent_ms  bigint, -- version of the newest committed frame (NULL: none yet)
	ADD COLUMN src_seq      bigint,
	ADD COLUMN full_sent_ms bigint, -- version of the newest committed full frame (NULL: none yet)
	ADD COLUMN full_seq     bigint;
UPDATE cluster SET src_sent_ms = (extract(epoch FROM last_sent_at) * 1000)::bigint, src_seq = last_seq
	WHERE last_sent_at IS NOT NULL AND last_seq IS NOT NULL;

ALTER TABLE node
	ADD COLUMN src_sent_ms bigint NOT NULL DEFAULT 0,
	ADD COLUMN src_seq     bigint NOT NULL DEFAULT 0;
ALTER TABLE gpu_device
	ADD COLUMN src_sent_ms bigint NOT NULL DEFAULT 0,
	ADD COLUMN src_seq     bigint NOT NULL DEFAULT 0;
ALTER TABLE cluster_overview_cache
	ADD COLUMN src_sent_ms bigint NOT NULL DEFAULT 0,
	ADD COLUMN src_seq     bigint NOT NULL DEFAULT 0;
