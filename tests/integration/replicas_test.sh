#!/usr/bin/env bash
# Two hub replicas on one PostgreSQL (issue 8): spokes land on either and move between them, and both
# hubs' APIs follow every frame, whichever replica committed it (LISTEN/NOTIFY, hub_peers). Real
# PostgreSQL, two real hubs, real spokes (sim source) and fl-frame-tool frames. Checked: a frame
# committed by one hub reaches the other's /v1 answers (nodes, overview, status, last frame time); a
# spoke moved from A to B mid-stream (same spool_dir: its sequence continues) leaves every seq committed
# once and both APIs equal to the database; an older frame sent to the other replica overwrites nothing
# anywhere; after the database restarts, the listener reconnects and catches up.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup replicas # hub A on fl_it_setup's ports
fl_it_keys alpha beta
ING_A=$INGEST_PORT; API_A=$API_PORT; ING_B=$(fl_free_port); API_B=$(fl_free_port)
A="http://127.0.0.1:$API_A"
B="http://127.0.0.1:$API_B"
hub_yaml() { # hub_yaml FILE INGEST API
	fl_it_clusters alpha beta | fl_it_hub_config "$1" "$2" "$3"
}
hub_yaml "$T/a.yaml" "$ING_A" "$API_A"
hub_yaml "$T/b.yaml" "$ING_B" "$API_B"
spoke_yaml() { # spoke_yaml FILE CLUSTER INGEST_PORT INTERVAL [SPOOL_DIR]
	fl_it_spoke_config "$1" "$2" 6 8 11 "hub_url: tcp://127.0.0.1:$3" "interval: $4" "ack_timeout: 10s" \
		${5:+"spool_dir: $5"}
}
FL_DIAG_LOGS="$T/a.log $T/b.log $T/spoke.log"
fl_it_start_hub "$T/a.yaml" "$T/a.log" "$A"
HUB_A=$HUB_PID
fl_it_start_hub "$T/b.yaml" "$T/b.log" "$B"
HUB_B=$HUB_PID

# What a hub's API says of a cluster, compact: node rows, overview figures, status and last frame time.
nodes_of() { curl -s "$1/v1/nodes?cluster=$2&page_size=1000" | jq -c '[.data.data[] | [.name, .gpu_allocation, .gpu_utilization, .status]]'; }
# (updatedAt left out: the committing hub stamps its receive time, the others the commit's database time.)
ov_of() { curl -s "$1/v1/clusters/overview?cluster=$2" | jq -c '.data | del(.ageSeconds, .updatedAt)'; }
seen_of() { curl -s "$1/v1/clusters" | jq -r --arg c "$2" '.data[] | select(.name == $c) | "\(.status) \(.lastFrameAt)"'; }
db_nodes() { fl_sql "SELECT coalesce(json_agg(json_build_array(name, gpu_allocation, round(gpu_utilization::numeric, 2), status) ORDER BY name), '[]') FROM node_latest_sample WHERE cluster_name='$1'" | jq -c '[.[] | [.[0], .[1], .[2], .[3]]]'; }
same() { [ "$(nodes_of "$A" "$1")" = "$(nodes_of "$B" "$1")" ] && [ "$(ov_of "$A" "$1")" = "$(ov_of "$B" "$1")" ] && [ "$(seen_of "$A" "$1")" = "$(seen_of "$B" "$1")" ]; }

# --- a frame committed by A reaches B's API, and the other way round --------------------------------------------------
spoke_yaml "$T/alpha_a.yaml" alpha "$ING_A" 30s
"$BIN/fleetlens-spoke" --config "$T/alpha_a.yaml" --once >"$T/spoke.log" 2>&1
check_eq "alpha --once to hub A is acknowledged" 0 $?
fl_wait_until 60 'same alpha'
check_num "hub B serves alpha's nodes without having received a frame" 7 "$(nodes_of "$B" alpha | jq length)"
check_eq "... the same rows, overview, status and last frame time as hub A" 1 "$(same alpha && echo 1 || echo 0)"
check_eq "... online on both" "online online" "$(seen_of "$A" alpha | cut -d' ' -f1) $(seen_of "$B" alpha | cut -d' ' -f1)"
check_eq "... and equal to the database" "$(db_nodes alpha)" \
	"$(nodes_of "$B" alpha | jq -c '[.[] | [.[0], .[1], (if .[2] == null then null else (.[2] * 100 | round / 100) end), .[3]]]')"
spoke_yaml "$T/beta_b.yaml" beta "$ING_B" 30s
"$BIN/fleetlens-spoke" --config "$T/beta_b.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "beta --once to hub B is acknowledged" 0 $?
fl_wait_until 60 'same beta'
check_eq "hub A serves beta as hub B does" 1 "$(same beta && echo 1 || echo 0)"
notes=$(curl -s "$B/metrics" | awk '$1 == "fleetlens_hub_peer_notifications_total" {print $2}')
check_eq "hub B counted A's frame as a peer notification" 1 "$([ "${notes:-0}" -ge 1 ] && echo 1 || echo 0)"
check_eq "both hubs listen" "1 1" "$(for h in "$A" "$B"; do curl -s "$h/metrics" | awk '$1 == "fleetlens_hub_peer_connected" {print $2}'; done | paste -sd' ')"

# --- a spoke moves from A to B mid-stream ---------------------------------------------------------------------------
spoke_yaml "$T/run_a.yaml" alpha "$ING_A" 1s spool
spoke_yaml "$T/run_b.yaml" alpha "$ING_B" 1s spool
fl_it_start_spoke run_a
# Each spoke runs until its hub has acknowledged two frames (not for a fixed time a loaded machine may not meet).
fl_wait_until 60 '[ "$(grep -c "ack=ok" "$T/run_a.log")" -ge 2 ]'
fl_it_stop "$SPOKE_PID"
fl_it_start_spoke run_b
fl_wait_until 60 '[ "$(grep -c "ack=ok" "$T/run_b.log")" -ge 2 ]'
fl_it_stop "$SPOKE_PID"
SID=$(fl_sql "SELECT spoke_id FROM cluster WHERE name='alpha'")
check_eq "one spoke stream across both hubs, every seq committed once, none missing" \
	"$(fl_sql "SELECT max(seq) || ' ' || max(seq) FROM ingest_log WHERE spoke_id='$SID'")" \
	"$(fl_sql "SELECT count(DISTINCT seq) || ' ' || count(*) FROM ingest_log WHERE spoke_id='$SID'")"
check_eq "... hub A acknowledged some of them, hub B the rest" "1 1" \
	"$([ "$(grep -c 'ack=ok' "$T/run_a.log")" -ge 1 ] && echo 1 || echo 0) $([ "$(grep -c 'ack=ok' "$T/run_b.log")" -ge 1 ] && echo 1 || echo 0)"
fl_wait_until 60 'same alpha'
check_eq "after the move both APIs agree" 1 "$(same alpha && echo 1 || echo 0)"
check_eq "... and equal the database" "$(db_nodes alpha)" \
	"$(nodes_of "$A" alpha | jq -c '[.[] | [.[0], .[1], (if .[2] == null then null else (.[2] * 100 | round / 100) end), .[3]]]')"

# --- an older frame on the other replica overwrites nothing ---------------------------------------------------------
BEFORE_DB=$(db_nodes alpha)
BEFORE_API=$(nodes_of "$A" alpha)
NEWEST=$(fl_sql "SELECT src_sent_ms FROM cluster WHERE name='alpha'")
"$BIN/fl-frame-tool" make --cluster alpha --spoke old-stream --seq 1 --nodes 3 --gpus-per-node 2 \
	--sent-ms $((NEWEST - 2000)) --key-file "$T/keys/alpha.key" -o "$T/old.frame"
check_contains "an older full frame sent to hub A is acknowledged" '"status":"ok"' \
	"$("$BIN/fl-frame-tool" send "tcp://127.0.0.1:$ING_A" "$T/old.frame")"
sleep 1.5
check_eq "the database keeps the newer rows" "$BEFORE_DB" "$(db_nodes alpha)"
check_eq "hub A's API keeps them" "$BEFORE_API" "$(nodes_of "$A" alpha)"
check_eq "hub B's API keeps them" "$BEFORE_API" "$(nodes_of "$B" alpha)"

# --- the database restarts: the listeners reconnect and catch up ----------------------------------------------------
fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$FL_PG_DIR/data" -m fast -w stop >/dev/null
sleep 1
fl_pg_start "$FL_PG_DIR"
fl_wait_until 60 '[ "$(curl -s "$B/metrics" | awk '"'"'$1 == "fleetlens_hub_peer_connected" {print $2}'"'"')" = 1 ]'
spoke_yaml "$T/beta_a.yaml" beta "$ING_A" 30s
fl_wait_until 60 '"$BIN/fleetlens-spoke" --config "$T/beta_a.yaml" --once >>"$T/spoke.log" 2>&1'
check_eq "after the restart a frame to hub A is acknowledged" 0 $?
fl_wait_until 60 'same beta'
check_eq "... and hub B follows it again" 1 "$(same beta && echo 1 || echo 0)"

fl_it_stop "$HUB_A"
fl_it_stop "$HUB_B"
check_eq "no sanitizer report in the hubs' logs" "" "$(grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$T/a.log" "$T/b.log")"
fl_done
