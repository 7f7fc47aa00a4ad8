#!/usr/bin/env bash
# Bad input at the hub's ingest (issue 4): truncated frames, wrong types, oversized counts, deep nesting,
# huge strings, a frame over the size limit, a wrong key, an unknown cluster and replays. Each must be
# refused with the right reason and counted in /metrics, the hub's memory must stay bounded, and a real
# spoke sending good frames at the same time must keep landing. Real PostgreSQL, real hub, real nng.
# Frames are crafted with tests/tools/fl-frame-tool (signed with the cluster's key unless said otherwise).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup bad
fl_it_keys alpha beta other

fl_it_clusters alpha beta | fl_it_hub_config "$T/clusters.yaml"
fl_it_spoke_config "$T/beta.yaml" beta 20 8 3 "interval: 1s" "ack_timeout: 5s"

# A small ASan quarantine, so the RSS check below measures the hub and not the sanitizer's free list.
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8" fl_it_start_hub

# A well-behaved spoke (beta) sends a full frame every second throughout.
fl_it_start_spoke beta

metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'; }
rejected() { metric "fleetlens_hub_frames_rejected_total{reason=\"$1\"}"; }
beta_frames() { fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='beta'"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$HUB_PID/status"; }
tool() { "$BIN/fl-frame-tool" "$@"; }
# send FILE: prints the ack's status ("none" when no ack came)
send() { tool send "$URL" "$1" 2>/dev/null | jq -r '.status' 2>/dev/null || echo none; }

fl_wait_until 60 '[ "$(beta_frames)" -ge 2 ]'
check_eq "the good spoke lands before the attack" true "$([ "$(beta_frames)" -ge 2 ] && echo true || echo false)"
beta_before=$(beta_frames)
rss_before=$(rss_kb)

# --- malformed bytes: each rejected as malformed ------------------------------------------------------
tool make --cluster alpha --spoke s1 --seq 1 --nodes 3 --key-file "$T/keys/alpha.key" -o "$T/good.bin"
check_eq "a good frame is accepted" ok "$(send "$T/good.bin")"
head -c 40 "$T/good.bin" >"$T/truncated.bin"
printf '\x93\x01\x02\x03' >"$T/wrongtypes.bin"                  # [1, 2, 3]: envelope is not a map
printf '\xdd\x01\x00\x00\x00' >"$T/bigcount.bin"                # array header claiming 16,777,216 items
printf '\xdf\xff\xff\xff\xff' >"$T/bigmap.bin"                  # map header claiming 4 billion pairs
printf '\xdb\x7f\xff\xff\xff' >"$T/bigstr.bin"                  # str32 header claiming 2 GiB
head -c 100000 /dev/zero | tr '\0' '\221' >"$T/deep.bin"        # 100,000 nested one-element arrays
{ printf '\x93\x86\xa1v\x01\xa7cluster\xdb\x00\x10\x00\x00'; head -c 1048576 /dev/zero | tr '\0' 'a'; } >"$T/hugename.bin"
printf '\xc1' >"$T/reserved.bin"                                 # the reserved type byte
for f in truncated wrongtypes bigcount bigmap bigstr deep hugename reserved; do
	check_eq "$f frame rejected" rejected "$(send "$T/$f.bin")"
done
check_eq "the one breaking a limit (nesting depth) counted as oversized" 1 "$(rejected oversized)"
check_eq "the other seven counted as malformed" 7 "$(rejected malformed)"

# --- over the size limit: nng drops the message before the hub reads it; the hub lives on ----------------
head -c $((65 * 1024 * 1024)) /dev/zero >"$T/oversized.bin"
check_eq "a 65 MiB frame gets no ack" none "$(send "$T/oversized.bin")"
check_eq "hub still answers after the oversized frame" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")"

# --- wrong key, unknown cluster, replay -----------------------------------------------------------------
tool make --cluster alpha --spoke s1 --seq 2 --nodes 3 --key-file "$T/keys/other.key" -o "$T/wrongkey.bin"
check_eq "frame signed with another cluster's key rejected" rejected "$(send "$T/wrongkey.bin")"
check_eq "bad signature counted" 1 "$(rejected bad_signature)"
# the right key but a byte of the payload changed after signing
perl -0777 -pe 's/node-00001/node-0000X/' "$T/good.bin" >"$T/tampered.bin"
check_eq "the tampered copy differs from the signed frame" 1 "$(cmp -s "$T/good.bin" "$T/tampered.bin"; echo $?)"
check_eq "frame altered after signing rejected" rejected "$(send "$T/tampered.bin")"
check_eq "both bad signatures counted" 2 "$(rejected bad_signature)"
tool make --cluster ghost --spoke s1 --seq 1 --nodes 3 --key-file "$T/keys/alpha.key" -o "$T/ghost.bin"
check_eq "frame of an unknown cluster rejected" rejected "$(send "$T/ghost.bin")"
check_eq "unknown cluster counted" 1 "$(rejected unknown_cluster)"
check_eq "no rows for the unknown cluster" 0 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='ghost'")"

check_eq "the same frame again is a duplicate" duplicate "$(send "$T/good.bin")"
check_eq "alpha has one ingest_log entry for seq 1" 1 \
	"$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='alpha' AND spoke_id='s1' AND seq=1")"
now=$(($(date +%s) * 1000))
tool make --cluster alpha --spoke s2 --seq 10 --nodes 5 --sent-ms "$now" --key-file "$T/keys/alpha.key" -o "$T/new.bin"
check_eq "a newer stream (spoke s2) is accepted" ok "$(send "$T/new.bin")"
tool make --cluster alpha --spoke s0 --seq 1 --nodes 1 --sent-ms $((now - 3600000)) --key-file "$T/keys/alpha.key" \
	-o "$T/old.bin"
check_eq "an hour-old frame of another stream is a replay" rejected "$(send "$T/old.bin")"
check_eq "replay counted" 1 "$(rejected replay)"
check_eq "the replay did not overwrite alpha's rows (5 nodes from s2)" 5 \
	"$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"

# --- a barrage: 200 bad frames of every kind, then the hub's memory and the good spoke -----------------
for i in $(seq 25); do
	for f in truncated wrongtypes bigcount deep hugename wrongkey ghost old; do
		tool send "$URL" "$T/$f.bin" >/dev/null 2>&1
	done
done
rss_after=$(rss_kb)
check_eq "hub RSS grew by less than 32 MiB over the barrage" true \
	"$([ $((rss_after - rss_before)) -lt 32768 ] && echo true || echo "false ($rss_before -> $rss_after kB)")"
fl_wait_until 60 '[ "$(beta_frames)" -gt "$beta_before" ]'
check_eq "the good spoke kept landing during the barrage" true \
	"$([ "$(beta_frames)" -gt "$beta_before" ] && echo true || echo "false ($beta_before -> $(beta_frames))")"
check_eq "beta's rows are intact" 22 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='beta'")"
check_eq "hub is still alive" 0 "$(kill -0 "$HUB_PID" 2>/dev/null; echo $?)"
check_contains "the hub logged the reason" "bad_signature" "$(cat "$T/hub.log")"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -40 "$T/hub.log"; }
fl_done
