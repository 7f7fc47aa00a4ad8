#!/usr/bin/env bash
# Key rotation without a gap, by the runbook in deploy/README.md, while a real spoke (sim mode)
# sends every second: the hub gets clusters[].next_key_file and reloads (SIGHUP); the spoke's key file is
# replaced atomically with mv (the spoke re-reads it before its next send); the new key moves to key_file,
# next_key_file goes, the hub reloads again. Zero frames refused along the way; frames signed with the new
# key land, and after the promotion the old key is refused. Real PostgreSQL, real hub, real nng.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup rotate
SPOKE_PORT=$(fl_free_port)
fl_make_key "$T/hub-keys/alpha.key"      # the key in use
fl_make_key "$T/hub-keys/alpha-next.key" # the key it rotates to
mkdir -p "$T/spoke-keys"
cp "$T/hub-keys/alpha.key" "$T/spoke-keys/alpha.key"

# write_config KEY_FILE [NEXT_KEY_FILE]
write_config() {
	fl_it_hub_config "$T/clusters.yaml.new" <<YAML
  config_check_interval: 0
clusters:
  - name: alpha
    key_file: $1
${2:+    next_key_file: $2}
YAML
	mv "$T/clusters.yaml.new" "$T/clusters.yaml"
}
fl_it_spoke_config "$T/alpha.yaml" alpha 4 2 9 "key_file: spoke-keys/alpha.key" "interval: 1s" "ack_timeout: 5s" \
	"metrics_listen: 127.0.0.1:$SPOKE_PORT"

metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'; }
spoke_metric() {
	curl -s "http://127.0.0.1:$SPOKE_PORT/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'
}
reloads() { metric "fleetlens_hub_config_reloads_total{result=\"$1\"}"; }
refused_total() { curl -s "$API/metrics" | awk '$1 ~ /^fleetlens_hub_frames_rejected_total\{/ {s += $2} END {print s + 0}'; }
frames() { fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='alpha'"; }
hup_and_wait() {
	local before
	before=$(reloads ok)
	kill -HUP "$HUB_PID"
	fl_wait_until 60 '[ "$(reloads ok)" -gt "$before" ]'
}
# tool_frame KEY SEQ: a heartbeat of alpha from stream rot-tool signed with KEY; prints the ack's status
tool_frame() {
	"$BIN/fl-frame-tool" make --cluster alpha --spoke rot-tool --seq "$2" --kind heartbeat --key-file "$1" \
		-o "$T/tool.bin" && "$BIN/fl-frame-tool" send "$URL" "$T/tool.bin" 2>/dev/null | jq -r '.status'
}

write_config hub-keys/alpha.key
FL_DIAG_LOGS="$T/hub.log $T/alpha.log"
fl_it_start_hub
fl_it_start_spoke alpha
fl_wait_until 60 '[ "$(frames)" -ge 2 ]'
check_eq "the spoke lands under the current key" true "$([ "$(frames)" -ge 2 ] && echo true || echo false)"

# --- 1. the hub learns the next key ------------------------------------------------------------------------
write_config hub-keys/alpha.key hub-keys/alpha-next.key
hup_and_wait
check_eq "next_key_file applied by one reload" "1 0" "$(reloads ok) $(reloads failed)"
check_contains "the reload says alpha changed" "config reloaded (SIGHUP): changed alpha" "$(cat "$T/hub.log")"
check_eq "during the overlap a frame under the next key is accepted" ok "$(tool_frame "$T/hub-keys/alpha-next.key" 1)"
check_eq "... and one under the current key too" ok "$(tool_frame "$T/hub-keys/alpha.key" 2)"

# --- 2. the spoke gets the new key: its key file replaced atomically -----------------------------------------
cp "$T/hub-keys/alpha-next.key" "$T/spoke-keys/alpha.key.new"
mv "$T/spoke-keys/alpha.key.new" "$T/spoke-keys/alpha.key"
if ! fl_wait_until 60 '[ "$(spoke_metric "fleetlens_spoke_key_reloads_total{result=\"ok\"}")" -ge 1 ]'; then
	echo "# the spoke did not report re-reading its key file (fleetlens_spoke_key_reloads_total{result=\"ok\"})"
fi
check_eq "the spoke re-read its key file once" 1 "$(spoke_metric 'fleetlens_spoke_key_reloads_total{result="ok"}')"
f0=$(frames)
fl_wait_until 60 '[ "$(frames)" -ge $((f0 + 2)) ]'
check_eq "frames signed with the new key land" true "$([ "$(frames)" -ge $((f0 + 2)) ] && echo true || echo false)"

# --- 3. promote: the new key becomes key_file, next_key_file goes --------------------------------------------
write_config hub-keys/alpha-next.key
hup_and_wait
check_eq "the promotion is the second applied reload" "2 0" "$(reloads ok) $(reloads failed)"
f1=$(frames)
fl_wait_until 60 '[ "$(frames)" -ge $((f1 + 2)) ]'
check_eq "the spoke keeps landing under the promoted key" true \
	"$([ "$(frames)" -ge $((f1 + 2)) ] && echo true || echo false)"

# --- the whole rotation: nothing refused ---------------------------------------------------------------------
check_eq "the hub refused no frame during the rotation" 0 "$(refused_total)"
check_eq "the spoke saw no refused or retried frame" 0 "$(grep -cE 'ack=(rejected|retry)' "$T/alpha.log")"
check_eq "the spoke counted no refused frame" 0 \
	"$(curl -s "http://127.0.0.1:$SPOKE_PORT/metrics" |
		awk '$1 ~ /^fleetlens_spoke_frames_refused_total/ {s += $2} END {print s + 0}')"

# The old key is refused once it is gone: the rotation is complete.
check_eq "a frame under the retired key is refused" rejected "$(tool_frame "$T/hub-keys/alpha.key" 3)"
check_eq "... as bad_signature" 1 "$(metric 'fleetlens_hub_frames_rejected_total{reason="bad_signature"}')"
fl_done
