#!/usr/bin/env bash
# Reload without a restart: four real spokes (sim mode) send every second while clusters.yaml is
# reloaded under them — a cluster added (its spoke lands, /v1/clusters lists it), one removed (its frames
# refused as unknown_cluster, the API stops listing it), a token replaced and its scope changed (the old
# token 401, the new one sees exactly its clusters), a broken file (refused with FILE:LINE:COL, counted,
# everything served as before), then a change picked up by the file watch without SIGHUP (the removed
# cluster back on its old slot). At the end the hub refused no frame but the removed cluster's.
# Real PostgreSQL, real hub, real nng.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup reload
declare -A SPOKE_PIDS=()
fl_it_keys alpha beta gamma delta
fl_it_token ops ops-token-0123456789abcdef
fl_it_token team team-token-0123456789abcdef
fl_it_token team2 team-token-2-0123456789abcdef
OPS="Authorization: Bearer ops-token-0123456789abcdef"
TEAM="Authorization: Bearer team-token-0123456789abcdef"
TEAM2="Authorization: Bearer team-token-2-0123456789abcdef"

# write_config CHECK_INTERVAL TEAM_TOKEN_FILE TEAM_CLUSTERS CLUSTER...: clusters.yaml, replaced atomically.
# Not fl_it_hub_config: the hub takes its database from FLEETLENS_DATABASE_URL, so config_check_interval is
# on line 6, which a check below names.
write_config() {
	local check=$1 team_file=$2 team_clusters=$3 c
	shift 3
	{
		cat <<YAML
hub:
  ingest_url: $URL
  api_listen: 127.0.0.1:$API_PORT
  migrations_dir: $FL_ROOT/sql/hub
  web_dir: $FL_ROOT/web
  config_check_interval: $check
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: team
      token_file: $team_file
      clusters: [$team_clusters]
clusters:
YAML
		for c in "$@"; do
			printf '  - name: %s\n    key_file: keys/%s.key\n    labels: {team: t-%s}\n' "$c" "$c" "$c"
		done
	} >"$T/clusters.yaml.new"
	mv "$T/clusters.yaml.new" "$T/clusters.yaml"
}

start_spoke() {
	fl_it_spoke_config "$T/$1.yaml" "$1" 4 2 5 "interval: 1s" "ack_timeout: 5s"
	fl_it_start_spoke "$1"
	SPOKE_PIDS[$1]=$SPOKE_PID
}

metric() { curl -s -H "$OPS" "$API/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'; }
reloads() { metric "fleetlens_hub_config_reloads_total{result=\"$1\"}"; }
rejected() { metric "fleetlens_hub_frames_rejected_total{reason=\"$1\"}"; }
frames() { fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='$1'"; }
db_nodes() { fl_sql "SELECT count(*) FROM node WHERE cluster_name='$1'"; }
# names AUTH: the cluster names /v1/clusters lists for that Authorization header, comma-separated
names() { curl -s -H "$1" "$API/v1/clusters" | jq -r '[.data[].name] | sort | join(",")'; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "$1" "$API/v1/clusters"; }
# hup_and_wait RESULT: SIGHUP, then waits until reloads_total{result=RESULT} moved by one
hup_and_wait() {
	hub_alive
	local before want=$1 # fl_wait_until's eval sees its own $1: name the result
	before=$(reloads "$want")
	kill -HUP "$HUB_PID"
	fl_wait_until 60 '[ "$(reloads "$want")" -gt "$before" ]'
}

write_config 0 tokens/team alpha alpha beta gamma
FL_DIAG_LOGS="$T/hub.log $T/alpha.log $T/beta.log $T/gamma.log $T/delta.log"
hub_alive() { kill -0 "$HUB_PID" 2>/dev/null || { echo "hub died"; tail -20 "$T/hub.log"; exit 1; }; }
fl_it_start_hub
for c in alpha beta gamma; do start_spoke "$c"; done
fl_wait_until 60 '[ "$(frames alpha)" -ge 2 ] && [ "$(frames beta)" -ge 2 ] && [ "$(frames gamma)" -ge 2 ]'
check_eq "three spokes land before any reload" alpha,beta,gamma "$(names "$OPS")"
check_eq "the team token sees alpha" alpha "$(names "$TEAM")"
check_eq "no reload yet" "0 0" "$(reloads ok) $(reloads failed)"
ts0=$(metric fleetlens_hub_config_last_reload_success_timestamp_seconds)
check_eq "the success timestamp is set at start" true "$(awk -v t="$ts0" 'BEGIN {print (t > 1.6e9) ? "true" : "false"}')"

# --- 1. add delta (SIGHUP) -------------------------------------------------------------------------------
write_config 0 tokens/team alpha alpha beta gamma delta
hup_and_wait ok
check_eq "adding a cluster is one applied reload" "1 0" "$(reloads ok) $(reloads failed)"
check_contains "the reload says what changed" "config reloaded (SIGHUP): added delta" "$(cat "$T/hub.log")"
check_eq "delta is registered in PostgreSQL" 1 "$(fl_sql "SELECT count(*) FROM cluster WHERE name='delta'")"
check_eq "the API lists delta at once (never seen)" never_seen \
	"$(curl -s -H "$OPS" "$API/v1/clusters?cluster=delta" | jq -r '.data[0].status')"
start_spoke delta
fl_wait_until 60 '[ "$(frames delta)" -ge 2 ]'
check_eq "delta's frames are accepted" true "$([ "$(frames delta)" -ge 2 ] && echo true || echo false)"
fl_wait_until 60 '[ "$(curl -s -H "$OPS" "$API/v1/clusters?cluster=delta" | jq -r ".data[0].status")" = online ]'
check_eq "delta is online in /v1/clusters with its labels" "online t-delta" \
	"$(curl -s -H "$OPS" "$API/v1/clusters?cluster=delta" | jq -r '.data[0] | "\(.status) \(.labels.team)"')"
check_eq "delta's nodes are in the view" "$(db_nodes delta)" \
	"$(curl -s -H "$OPS" "$API/v1/nodes?cluster=delta" | jq '.data.total')"
ts1=$(metric fleetlens_hub_config_last_reload_success_timestamp_seconds)
check_eq "the success timestamp moved" true "$(awk -v a="$ts0" -v b="$ts1" 'BEGIN {print (b > a) ? "true" : "false"}')"

# --- 2. remove gamma (SIGHUP): its frames are refused, the API forgets it ---------------------------------
write_config 0 tokens/team alpha alpha beta delta
hup_and_wait ok
check_contains "the reload names the removed cluster" "removed gamma" "$(cat "$T/hub.log")"
check_eq "gamma is gone from /v1/clusters" alpha,beta,delta "$(names "$OPS")"
check_eq "gamma's nodes are gone from the API" 0 "$(curl -s -H "$OPS" "$API/v1/nodes?page_size=100" |
	jq '[.data.data[]? | select(.cluster_name == "gamma")] | length')"
check_eq "?cluster=gamma is 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "$OPS" "$API/v1/clusters/overview?cluster=gamma")"
fl_wait_until 60 '[ "$(rejected unknown_cluster)" -ge 2 ]'
check_eq "gamma's frames are refused as unknown_cluster" true \
	"$([ "$(rejected unknown_cluster)" -ge 2 ] && echo true || echo false)"
check_eq "gamma's metric series are gone" 0 \
	"$(curl -s -H "$OPS" "$API/metrics" | grep -c 'fleetlens_cluster_up{cluster="gamma"')"
# The spoke resends at once after a refusal (a spoke matter, not the hub's): stopped here to spare the CPU,
# started again for step 5.
fl_it_stop "${SPOKE_PIDS[gamma]}"
unset 'SPOKE_PIDS[gamma]'
mv "$T/gamma.log" "$T/gamma.refused.log" # the spoke started again writes a new gamma.log

# --- 3. replace the team token and change its scope (SIGHUP) ----------------------------------------------
write_config 0 tokens/team2 "beta, delta" alpha beta delta
hup_and_wait ok
check_eq "the old team token is refused" 401 "$(code "$TEAM")"
check_eq "the new team token is let in" 200 "$(code "$TEAM2")"
check_eq "the new token sees exactly its clusters" beta,delta "$(names "$TEAM2")"
check_eq "its node list is scoped too" $(($(db_nodes beta) + $(db_nodes delta))) \
	"$(curl -s -H "$TEAM2" "$API/v1/nodes" | jq '.data.total')"
check_eq "ops still sees every cluster" alpha,beta,delta "$(names "$OPS")"
check_contains "the reload counts the tokens" "2 api tokens" "$(cat "$T/hub.log")"

# --- 4. a broken file is refused whole; everything is served as before ------------------------------------
cp "$T/clusters.yaml" "$T/good.yaml"
sed 's/^  config_check_interval: 0$/  config_check_interval: soon/' "$T/good.yaml" >"$T/clusters.yaml.new"
printf '  - name: epsilon\n    key_file: keys/alpha.key\n' >>"$T/clusters.yaml.new"
mv "$T/clusters.yaml.new" "$T/clusters.yaml"
ok_before=$(reloads ok)
hup_and_wait failed
check_eq "the broken file counts one failed reload, no applied one" "1 $ok_before" "$(reloads failed) $(reloads ok)"
check_eq "last reload successful: 0" 0 "$(metric fleetlens_hub_config_last_reload_successful)"
check_contains "the refusal names FILE:LINE:COL" "$T/clusters.yaml:6:26: key 'config_check_interval'" \
	"$(grep 'config reload (SIGHUP) refused' "$T/hub.log")"
check_eq "the new token still works, with its scope" beta,delta "$(names "$TEAM2")"
check_eq "the old token is still refused" 401 "$(code "$TEAM")"
check_eq "epsilon (in the broken file) is not registered" alpha,beta,delta "$(names "$OPS")"
a0=$(frames alpha)
fl_wait_until 60 '[ "$(frames alpha)" -gt "$a0" ]'
check_eq "frames keep landing" true "$([ "$(frames alpha)" -gt "$a0" ] && echo true || echo false)"

# Back to a good file, now with the file watch on (a reload applies config_check_interval).
write_config 1s tokens/team2 "beta, delta" alpha beta delta
hup_and_wait ok
check_eq "last reload successful: 1 again" 1 "$(metric fleetlens_hub_config_last_reload_successful)"

# --- 5. the file watch: gamma comes back without SIGHUP -----------------------------------------------------
ok_before=$(reloads ok)
g0=$(frames gamma)
write_config 1s tokens/team2 "beta, delta" alpha beta delta gamma
fl_wait_until 60 '[ "$(reloads ok)" -gt "$ok_before" ]'
start_spoke gamma
check_eq "the watch applied the change once" $((ok_before + 1)) "$(reloads ok)"
check_contains "... logged as a watched change" "config reloaded (a watched file changed): added gamma" \
	"$(cat "$T/hub.log")"
fl_wait_until 60 '[ "$(frames gamma)" -gt "$g0" ]'
check_eq "gamma's frames land again" true "$([ "$(frames gamma)" -gt "$g0" ] && echo true || echo false)"
check_eq "gamma is listed again" alpha,beta,delta,gamma "$(names "$OPS")"
check_eq "gamma's nodes are back in the view (read back from PostgreSQL)" "$(db_nodes gamma)" \
	"$(curl -s -H "$OPS" "$API/v1/nodes?cluster=gamma" | jq '.data.total')"
# a key file is watched too: a new key for delta is picked up (the spoke still signs with it: same bytes)
cp "$T/keys/delta.key" "$T/keys/delta.key.new" && mv "$T/keys/delta.key.new" "$T/keys/delta.key"
ok_before=$(reloads ok)
fl_wait_until 60 '[ "$(reloads ok)" -gt "$ok_before" ]'
check_eq "replacing a key file triggers a reload" $((ok_before + 1)) "$(reloads ok)"

# --- the whole run: nothing refused but the removed cluster's frames ----------------------------------------
d0=$(frames delta)
fl_wait_until 60 '[ "$(frames delta)" -gt "$d0" ]'
for r in malformed oversized bad_signature replay db_error wrong_key_role; do
	check_eq "no frame refused as $r" 0 "$(rejected "$r")"
done
check_eq "every unknown_cluster refusal the hub logged was gamma's" 0 \
	"$(grep "unknown cluster '" "$T/hub.log" | grep -vc "unknown cluster 'gamma'")"
for c in alpha beta delta; do
	check_eq "spoke $c saw no refused or retried frame" 0 "$(grep -cE 'ack=(rejected|retry)' "$T/$c.log")"
done
check_eq "gamma's spoke saw only unknown_cluster refusals while removed" 0 \
	"$(grep 'ack=rejected' "$T/gamma.refused.log" | grep -vc "unknown cluster")"
check_eq "gamma's spoke saw none once back" 0 "$(grep -cE 'ack=(rejected|retry)' "$T/gamma.log")"
check_eq "the hub is still the same process" 0 "$(kill -0 "$HUB_PID" 2>/dev/null; echo $?)"
fl_done
