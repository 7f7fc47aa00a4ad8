-- 003_overview_unknown.sql — overview figures nobody could measure (issue 3).
--
-- A spoke whose Prometheus is down or slow still sends its frame, and lists in the overview's
-- `unknown` the figures it could not measure (FORMAT.md 3.6), e.g. {utilization}. The hub stores that
-- list here and NULL in each column it names, so neither the API nor a reader of this table takes
-- the missing figure for a 0. Rows written before this migration know every figure.

ALTER TABLE cluster_overview_cache
	ADD COLUMN unknown text[] NOT NULL DEFAULT '{}';
