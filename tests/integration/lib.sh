# tests/integration/lib.sh — the setup the integration tests share: a temp dir with a PostgreSQL in it,
# the hub's and the sim spokes' configuration files, starting and stopping the daemons, and the cleanup at
# exit. Source it after scripts/lib.sh and assert.sh; checks stay in assert.sh, PostgreSQL in scripts/lib.sh.
#
# Names every script relies on after fl_it_setup:
#   T            the test's temp dir (removed at exit); relative key_file/token_file paths resolve in it
#   BIN          the binaries under test (FL_BIN, default build/bin)
#   INGEST_PORT  URL   the hub's ingest port and its nng URL (tcp://127.0.0.1:INGEST_PORT)
#   API_PORT     API   the hub's HTTP port and its base URL (http://127.0.0.1:API_PORT)
#   HUB_PID      SPOKE_PID   set by fl_it_start_hub and fl_it_start_spoke

BIN=${FL_BIN:-$FL_ROOT/build/bin}

# fl_it_setup NAME [SETTINGS]: makes T (/tmp/fl_NAME.XXXXXX, mode 755 so the postgres user can reach its
# socket), starts a PostgreSQL in T/pg (fl_pg_start, with SETTINGS as its server options when given), picks
# the hub's two ports (INGEST_PORT, API_PORT; URL, API) and sets an EXIT trap that runs fl_it_cleanup.
fl_it_setup() {
	T=$(mktemp -d "/tmp/fl_$1.XXXXXX")
	chmod 755 "$T"
	trap fl_it_cleanup EXIT
	fl_pg_start "$T/pg" ${2+"$2"}
	INGEST_PORT=$(fl_free_port)
	API_PORT=$(fl_free_port)
	URL="tcp://127.0.0.1:$INGEST_PORT"
	API="http://127.0.0.1:$API_PORT"
}

# fl_it_cleanup: the EXIT trap fl_it_setup sets. Stops (SIGTERM, then waits for) every background process
# of this shell still running — hubs, spokes, helpers — then the PostgreSQL, and removes T.
fl_it_cleanup() {
	local pids
	pids=$(jobs -pr)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one word per pid
		kill $pids 2>/dev/null
		wait $pids 2>/dev/null
	fi
	fl_pg_stop
	rm -rf "$T"
}

# fl_it_hub_config FILE [INGEST_PORT API_PORT]: writes a clusters.yaml to FILE: the hub: block every test
# shares (ingest_url and api_listen on INGEST_PORT and API_PORT, by default the ones fl_it_setup picked;
# database_url; the tree's migrations_dir and web_dir: lines 1-6), followed by the caller's standard input
# verbatim — more hub: keys (indented two spaces) and the clusters: list (see fl_it_clusters). A key a
# test's error message names by line is on the line of standard input plus 6.
fl_it_hub_config() {
	{
		cat <<YAML
hub:
  ingest_url: tcp://127.0.0.1:${2:-$INGEST_PORT}
  api_listen: 127.0.0.1:${3:-$API_PORT}
  database_url: "$FL_DATABASE_URL"
  migrations_dir: $FL_ROOT/sql/hub
  web_dir: $FL_ROOT/web
YAML
		cat
	} >"$1"
}

# fl_it_hub_set FILE KEY VALUE: in a config fl_it_hub_config wrote, sets one of the keys on its first six lines
# (ingest_url, api_listen, database_url, migrations_dir, web_dir) to VALUE, such as api_listen 0.0.0.0:PORT.
fl_it_hub_set() {
	sed -i "1,6s|^  $2: .*|  $2: $3|" "$1"
}

# fl_it_clusters NAME...: prints a clusters: list registering each NAME with key_file keys/NAME.key; run
# fl_it_keys NAME... for the keys themselves.
fl_it_clusters() {
	local c
	echo "clusters:"
	for c in "$@"; do printf '  - name: %s\n    key_file: keys/%s.key\n' "$c" "$c"; done
}

# fl_it_keys NAME...: a new cluster key in T/keys/NAME.key for each NAME (fl_make_key).
fl_it_keys() {
	local c
	for c in "$@"; do fl_make_key "$T/keys/$c.key"; done
}

# fl_it_token NAME TOKEN: writes TOKEN to T/tokens/NAME (readable only by its owner), an API token for a
# hub.api_tokens entry's token_file tokens/NAME.
fl_it_token() {
	mkdir -p "$T/tokens"
	(umask 077 && printf '%s\n' "$2" >"$T/tokens/$1")
}

# fl_it_spoke_config FILE CLUSTER NODES GPUS_PER_NODE SEED [LINE...]: writes a sim spoke's spoke.yaml to
# FILE: cluster CLUSTER, hub_url URL, key_file keys/CLUSTER.key, then each LINE (like "interval: 1s"; a
# LINE "hub_url: ..." or "key_file: ..." replaces the default in its place), then the sim source with
# NODES, GPUS_PER_NODE and SEED. Lines 1-3 are cluster, hub_url and key_file; the LINEs follow from line 4.
fl_it_spoke_config() {
	local file=$1 cluster=$2 nodes=$3 gpus=$4 seed=$5 hub="hub_url: $URL" key="key_file: keys/$2.key" l
	shift 5
	for l in "$@"; do
		case $l in
		hub_url:*) hub=$l ;;
		key_file:*) key=$l ;;
		esac
	done
	{
		printf 'cluster: %s\n%s\n%s\n' "$cluster" "$hub" "$key"
		for l in "$@"; do [[ "$l" == hub_url:* || "$l" == key_file:* ]] || printf '%s\n' "$l"; done
		printf 'sources:\n  sim: {nodes: %s, gpus_per_node: %s, seed: %s}\n' "$nodes" "$gpus" "$seed"
	} >"$file"
}

# fl_it_node_config FILE CLUSTER NODE HOST_ROOT [LINE...]: writes the spoke.yaml of a spoke in the node role to
# FILE: cluster CLUSTER, hub_url URL, key_file keys/CLUSTER.key, node_name NODE, host_root HOST_ROOT, no NVML and
# no DCMI (libraries that do not exist in T), interval 30s, ack_timeout 10s; each LINE (like "interval: 1s" or
# "nvml_library: /path") replaces the line of its key, or is added.
fl_it_node_config() {
	local file=$1 l k i
	local lines=("cluster: $2" "hub_url: $URL" "key_file: keys/$2.key" "role: node" "node_name: $3" "host_root: $4"
		"nvml_library: $T/no-such-libnvidia-ml.so.1" "dcmi_library: $T/no-such-libdcmi.so" "interval: 30s"
		"ack_timeout: 10s")
	shift 4
	for l in "$@"; do
		k=${l%%:*}
		for i in "${!lines[@]}"; do [[ ${lines[$i]} == "$k:"* ]] && lines[$i]=$l && continue 2; done
		lines+=("$l")
	done
	printf '%s\n' "${lines[@]}" >"$file"
}

# fl_it_start_hub [CONFIG [LOG [BASE_URL]]]: starts fleetlens-hub on CONFIG (default T/clusters.yaml) with
# FLEETLENS_DATABASE_URL set to the test's database, appending its output to LOG (default T/hub.log);
# sets HUB_PID and waits up to 60 s for BASE_URL/healthz (default API). A hub that does not answer fails
# the test there: the end of LOG, a failed check "hub answers /healthz", the tally, exit 1. Variables
# assigned before the call (ASAN_OPTIONS=... fl_it_start_hub) reach the hub.
fl_it_start_hub() {
	local config=${1:-$T/clusters.yaml} log=${2:-$T/hub.log} base=${3:-$API}
	FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" "$BIN/fleetlens-hub" --config "$config" >>"$log" 2>&1 &
	HUB_PID=$!
	fl_wait_http "$base/healthz" 60 && return 0
	tail -50 "$log"
	check_eq "hub answers /healthz" 200 none
	fl_done
	exit 1
}

# fl_it_stop PID: stops PID (SIGTERM) and waits for it; nothing if PID is empty or gone.
fl_it_stop() {
	[ -n "${1:-}" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
	return 0
}

# fl_it_stop_hub: stops the hub fl_it_start_hub started (fl_it_stop) and clears HUB_PID.
fl_it_stop_hub() {
	fl_it_stop "${HUB_PID:-}"
	HUB_PID=""
}

# fl_it_start_spoke NAME [ARG...]: starts fleetlens-spoke in the background on T/NAME.yaml with ARGs,
# appending its output to T/NAME.log (a restarted spoke's log keeps its earlier runs); sets SPOKE_PID.
fl_it_start_spoke() {
	local name=$1
	shift
	"$BIN/fleetlens-spoke" --config "$T/$name.yaml" "$@" >>"$T/$name.log" 2>&1 &
	SPOKE_PID=$!
}
