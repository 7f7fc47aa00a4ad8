#!/usr/bin/env bash
# The spoke can be watched: metrics_listen serves /healthz and /metrics. A sim spoke at interval 1s
# against a real hub: healthy with sent >= acked >= 1 and nothing refused; the hub stops: /healthz 503 "no ack
# for N s (limit 3 s)", frames pile up in the spool; the hub starts again on the same port and database:
# healthy, spool empty, acked grows. A spoke with a wrong key counts refused{reason="bad_signature"}. Key
# rotation: key_file replaced (mv) by the hub's next key is re-read (key_reloads_total{result="ok"} 1) and
# frames are acked by a hub that knows only the new key; garbage in key_file is refused
# (result="failed" 1) and the spoke keeps signing with the key it had. Real PostgreSQL, hub and nng.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup spoke_metrics
M=$(fl_free_port)     # the good spoke's metrics_listen
MBAD=$(fl_free_port)  # the wrong-key spoke's
fl_it_keys alpha alpha-next beta other
mkdir -p "$T/spoke"
cp "$T/keys/alpha.key" "$T/spoke/alpha.key" # the spoke's own copy, replaced by mv below

# hub_config FILE ALPHA_KEY [NEXT_KEY]
hub_config() {
	fl_it_hub_config "$1" <<YAML
clusters:
  - name: alpha
    key_file: $2
${3:+    next_key_file: $3}
  - name: beta
    key_file: keys/beta.key
YAML
}
hub_config "$T/clusters.yaml" keys/alpha.key keys/alpha-next.key
hub_config "$T/clusters-next.yaml" keys/alpha-next.key

fl_it_spoke_config "$T/alpha.yaml" alpha 10 8 5 "key_file: spoke/alpha.key" "interval: 1s" "ack_timeout: 2s" \
	"max_backoff: 1s" "metrics_listen: 127.0.0.1:$M"
fl_it_spoke_config "$T/beta.yaml" beta 10 8 6 "key_file: keys/other.key" "interval: 1s" "ack_timeout: 2s" \
	"metrics_listen: 127.0.0.1:$MBAD"

# A bad metrics_listen is a configuration error naming its line.
sed "s/^metrics_listen: .*/metrics_listen: localhost:$M/" "$T/alpha.yaml" >"$T/bad.yaml"
out=$("$BIN/fleetlens-spoke" --config "$T/bad.yaml" --once --dry-run 2>&1 >/dev/null)
check_eq "a bad metrics_listen exits 2" 2 "$?"
check_contains "and names file, line and key" "bad.yaml:7:17: key 'metrics_listen': expected IPv4:port" "$out"

HUB_N=0
start_hub() {
	HUB_N=$((HUB_N + 1))
	fl_it_start_hub "$1" "$T/hub.$HUB_N.log"
}
start_hub "$T/clusters.yaml"
fl_it_start_spoke alpha
FL_DIAG_LOGS="$T/alpha.log $T/beta.log $T/hub.1.log $T/hub.2.log $T/hub.3.log"

# metric PORT SERIES: its value, -1 when absent
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2; f=1} END {if (!f) print -1}'; }
# ge A B: A >= B as numbers
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
health_code() { curl -s -o "$T/healthz.body" -w '%{http_code}' "http://127.0.0.1:$1/healthz"; }
acked() { metric "$M" fleetlens_spoke_frames_acked_total; }
spool() { metric "$M" fleetlens_spoke_spool_frames; }
refused_sum() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1 ~ /^fleetlens_spoke_frames_refused_total/ {s += $2} END {print s + 0}'; }
hub_rejected() {
	curl -s "http://127.0.0.1:$API_PORT/metrics" |
		awk -v m="fleetlens_hub_frames_rejected_total{reason=\"$1\"}" '$1 == m {print $2}'
}

# --- healthy ---------------------------------------------------------------------------------------------
fl_wait_until 60 'ge "$(acked)" 1'
fl_wait_until 60 '[ "$(spool)" = 0 ]'
check_eq "/healthz answers 200 ok" "200 ok" "$(health_code "$M") $(cat "$T/healthz.body")"
sent=$(metric "$M" fleetlens_spoke_frames_sent_total)
a=$(acked)
check_eq "frames acked >= 1" true "$(ge "$a" 1 && echo true || echo "false ($a)")"
check_eq "frames sent >= acked" true "$(ge "$sent" "$a" && echo true || echo "false ($sent < $a)")"
check_eq "nothing refused" 0 "$(refused_sum "$M")"
check_eq "spool empty" 0 "$(spool)"
check_eq "spool bytes 0" 0 "$(metric "$M" fleetlens_spoke_spool_bytes)"
check_eq "the info line names the cluster and role" 1 \
	"$(curl -s "http://127.0.0.1:$M/metrics" | grep -c '^fleetlens_spoke_info{cluster="alpha",role="cluster",version="')"
check_eq "healthy gauge 1" 1 "$(metric "$M" fleetlens_spoke_healthy)"
check_eq "collect time observed" true "$(ge "$(metric "$M" fleetlens_spoke_collect_seconds_count)" 1 && echo true)"
check_eq "encode time observed" true "$(ge "$(metric "$M" fleetlens_spoke_encode_seconds_count)" 1 && echo true)"
check_eq "source not failing" "0.000" "$(metric "$M" fleetlens_spoke_source_failing_seconds)"
check_eq "TYPE line of the refused family" 1 \
	"$(curl -s "http://127.0.0.1:$M/metrics" | grep -c '^# TYPE fleetlens_spoke_frames_refused_total counter$')"
check_eq "another path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$M/")"

# --- the hub stops ---------------------------------------------------------------------------------------
fl_it_stop_hub
fl_wait_until 60 '[ "$(health_code "$M")" = 503 ]'
check_eq "/healthz 503 once no ack came for 3 x interval" 503 "$(health_code "$M")"
check_contains "with the reason" "(limit 3 s)" "$(cat "$T/healthz.body")"
check_contains "no ack for N s" "no ack for " "$(cat "$T/healthz.body")"
fl_wait_until 60 'ge "$(spool)" 1'
check_eq "frames wait in the spool" true "$(ge "$(spool)" 1 && echo true || echo "false ($(spool))")"
since=$(metric "$M" fleetlens_spoke_seconds_since_last_ack)
check_eq "seconds since last ack >= 3" true "$(ge "$since" 3 && echo true || echo "false ($since)")"
check_eq "healthy gauge 0" 0 "$(metric "$M" fleetlens_spoke_healthy)"
code=$(curl -s -o "$T/livez.body" -w '%{http_code}' "http://127.0.0.1:$M/livez")
check_eq "/livez stays 200 ok with the hub away (the loop still ends its cycles)" "200 ok" "$code $(cat "$T/livez.body")"

# --- the hub starts again on the same port and database -------------------------------------------------
a0=$(acked)
start_hub "$T/clusters.yaml"
fl_wait_until 60 '[ "$(health_code "$M")" = 200 ]'
check_eq "/healthz 200 again" 200 "$(health_code "$M")"
fl_wait_until 60 '[ "$(spool)" = 0 ]'
check_eq "spool drained" 0 "$(spool)"
check_eq "acked grew" true "$(ge "$(acked)" $((a0 + 1)) && echo true || echo "false ($a0 -> $(acked))")"
check_eq "still nothing refused" 0 "$(refused_sum "$M")"

# --- a spoke with the wrong key ---------------------------------------------------------------------------
bad_start=$(date +%s)
fl_it_start_spoke beta
BAD_PID=$SPOKE_PID
bs='fleetlens_spoke_frames_refused_total{reason="bad_signature"}'
fl_wait_until 60 'ge "$(metric "$MBAD" "$bs")" 1'
check_eq "wrong key: refused{bad_signature} > 0" true "$(ge "$(metric "$MBAD" "$bs")" 1 && echo true)"
check_eq "wrong key: nothing acked" 0 "$(metric "$MBAD" fleetlens_spoke_frames_acked_total)"
fl_wait_until 60 '[ "$(health_code "$MBAD")" = 503 ]'
check_contains "wrong key: unhealthy, no ack" "no ack for " "$(cat "$T/healthz.body")"
# Refused frames are dropped, and a heartbeat is due heartbeat after the last answer (a refusal too): one
# frame per interval (1 s) plus one heartbeat per heartbeat, not a resend per ack (thousands a second).
# The bound allows 3 frames a second over the time measured here, which a busy machine only lowers.
sent_bad=$(metric "$MBAD" fleetlens_spoke_frames_sent_total)
elapsed=$(($(date +%s) - bad_start + 1))
check_eq "wrong key: at most 3 frames a second ($sent_bad in ${elapsed} s)" true \
	"$(ge $((3 * elapsed + 3)) "$sent_bad" && echo true || echo false)"
fl_it_stop "$BAD_PID"

# --- key rotation: key_file replaced by the hub's next key ------------------------------------------------
bad0=$(hub_rejected bad_signature)
cp "$T/keys/alpha-next.key" "$T/spoke/alpha.key.new"
mv "$T/spoke/alpha.key.new" "$T/spoke/alpha.key"
ok='fleetlens_spoke_key_reloads_total{result="ok"}'
failed='fleetlens_spoke_key_reloads_total{result="failed"}'
fl_wait_until 60 '[ "$(metric "$M" "$ok")" = 1 ]'
check_eq "key re-read once" 1 "$(metric "$M" "$ok")"
check_eq "no failed re-read" 0 "$(metric "$M" "$failed")"
check_contains "logged" "signing with the new key from now on" "$(cat "$T/alpha.log")"
a1=$(acked)
fl_wait_until 60 'ge "$(acked)" $((a1 + 2))'
fl_wait_until 60 '[ "$(spool)" = 0 ]'
check_eq "the hub refused nothing while the key changed" "$bad0" "$(hub_rejected bad_signature)"
# a hub that knows only the new key: the spoke's frames land, so they are signed with it
fl_it_stop_hub
start_hub "$T/clusters-next.yaml"
a2=$(acked)
fl_wait_until 60 'ge "$(acked)" $((a2 + 2))'
check_eq "acked by a hub with only the new key" true "$(ge "$(acked)" $((a2 + 2)) && echo true || echo "false ($a2 -> $(acked))")"
check_eq "refused none" 0 "$(refused_sum "$M")"

# --- garbage in key_file: the key in use stays -------------------------------------------------------------
printf 'not a key\n' >"$T/spoke/alpha.key.new"
mv "$T/spoke/alpha.key.new" "$T/spoke/alpha.key"
fl_wait_until 60 '[ "$(metric "$M" "$failed")" = 1 ]'
check_eq "the bad key is counted failed once" 1 "$(metric "$M" "$failed")"
a3=$(acked)
fl_wait_until 60 'ge "$(acked)" $((a3 + 3))'
check_eq "frames still acked with the key in use" true "$(ge "$(acked)" $((a3 + 3)) && echo true || echo "false ($a3 -> $(acked))")"
check_eq "still one failed re-read (not one per cycle)" 1 "$(metric "$M" "$failed")"
check_eq "ok count unchanged" 1 "$(metric "$M" "$ok")"
check_eq "refused none after the bad key" 0 "$(refused_sum "$M")"
check_eq "one warning logged" 1 "$(grep -c 'key_file changed but cannot be used' "$T/alpha.log")"
check_eq "/healthz 200 at the end" 200 "$(health_code "$M")"

fl_done
