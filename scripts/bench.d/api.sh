#!/usr/bin/env bash
# scripts/bench.d/api.sh — the API benchmark (issues 6, 12 and 17; results and how to read them:
# BENCHMARKS.md), run by `scripts/bench api`.
#
# Starts a private PostgreSQL and fleetlens-hub, loads it, then measures GET requests with wrk
# (FL_BENCH_THREADS 2 threads, a 2 s warm-up, then FL_BENCH_DURATION 10s with --latency, wrk --timeout 30s)
# and prints Markdown tables; the tables (results.md), one line per request (api.tsv) and every wrk
# output are kept in FL_BENCH_OUT (default .state/bench/).
#
# Load (FL_BENCH_LOAD):
#   storm   (default) fl-load-bench's storm: FL_BENCH_CLUSTERS (100) clusters load-000 … each send one
#           full frame of FL_BENCH_NODES (5,000) nodes × 8 GPUs at once, signed and committed spoke → hub
#           → PostgreSQL → view, with --variety (bench/load_bench.c: ~2 % NotReady, ~1 % Unknown, three
#           GPU products, allocation and utilization spread by a hash, ~3 % without a utilization figure,
#           node names node-IIIII-cCCC): 500,000 nodes.
#   spokes  issue 6's load: FL_BENCH_CLUSTERS (100) clusters bench-000 …, each loaded by one
#           `fleetlens-spoke --once` of the sim source with FL_BENCH_NODES (50) GPU nodes + 5 CPU-only.
# Then, with the hub's CPU settled after every run:
#   shapes  (issue 17; wrk -c FL_BENCH_CONNS, default 16) /v1/nodes?page_size=100 in the default order,
#           with order_by each key both ways, status=NotReady, gpu_name=<cluster X's product>, name=
#           (a substring matching a handful of nodes per cluster, and one node's whole name), two
#           combinations; /v1/clusters, /v1/fleet/overview, /v1/clusters/gpuHeatmap?cluster=X,
#           /v1/nodes/gpuAllocation?cluster=X; each route's ceiling: fl-bench-server --mode fixed
#           (civetweb sending the hub's own answer as fixed bytes, tests/bench/roundtrip_server.c).
#           Columns: req/s, p50, p99, ratio to the default page, ratio to the ceiling, hub CPU per
#           request, the issue's target met or missed; FL_BENCH_BEFORE=<an earlier run's api.tsv> adds
#           that run's req/s and p99 and the ratio after / before.
#   issue 6 (FL_BENCH_ISSUE6=1, the default; wrk -c FL_BENCH_CONNS6, default 32) the overview and node
#           pages against fl-bench-server --mode roundtrip (one PostgreSQL query per request, the design
#           FleetLens replaces; its rows checked equal to the hub's first) and the ceiling, and the Lens
#           face beside its native routes (issue 12).
# Binaries (one command drives any build, e.g. a worktree of an older commit):
#   FL_BIN            fleetlens-hub and fleetlens-spoke (default: build build-bench/ RelWithDebInfo here)
#   FL_BENCH_TOOLS    fl-load-bench (must know --variety) and fl-bench-server (default FL_BIN if its
#                     fl-load-bench knows --variety, else build-bench/ built from this tree)
#   FL_BENCH_SRC      the tree whose sql/hub migrations and web/ the hub is given (default FL_BIN/../..
#                     when that holds sql/hub, else this tree)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$FL_ROOT"

LOAD=${FL_BENCH_LOAD:-storm}
case "$LOAD" in
storm) NODES=${FL_BENCH_NODES:-5000} PREFIX=load ;;
spokes) NODES=${FL_BENCH_NODES:-50} PREFIX=bench ;;
*) fl_die "FL_BENCH_LOAD must be storm or spokes" ;;
esac
CLUSTERS=${FL_BENCH_CLUSTERS:-100}
GPUS=8
THREADS=${FL_BENCH_THREADS:-2}
CONNS=${FL_BENCH_CONNS:-16}
CONNS6=${FL_BENCH_CONNS6:-32}
DURATION=${FL_BENCH_DURATION:-10s}
ISSUE6=${FL_BENCH_ISSUE6:-1}
OUT=${FL_BENCH_OUT:-$FL_ROOT/.state/bench}
X=$(printf '%s-%03d' "$PREFIX" $((CLUSTERS / 2)))

FL_PACKAGES="$FL_PACKAGES $FL_BENCH_PACKAGES" fl_install_deps
build_here() {
	fl_say "building build-bench/ (RelWithDebInfo)"
	fl_build build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo
}
if [ -n "${FL_BIN:-}" ]; then
	BIN=$FL_BIN
else
	build_here
	BIN=$FL_ROOT/build-bench/bin
fi
[ -x "$BIN/fleetlens-hub" ] || fl_die "no fleetlens-hub in $BIN"
knows_variety() {
	local said
	[ -x "$1/fl-load-bench" ] || return 1
	said=$("$1/fl-load-bench" load --variety 2>&1 || true)
	[[ $said != *unrecognized* ]]
}
if [ -n "${FL_BENCH_TOOLS:-}" ]; then
	TOOLS=$FL_BENCH_TOOLS
elif knows_variety "$BIN"; then
	TOOLS=$BIN
else
	[ -x "$FL_ROOT/build-bench/bin/fl-load-bench" ] || build_here
	TOOLS=$FL_ROOT/build-bench/bin
fi
[ "$LOAD" = spokes ] || knows_variety "$TOOLS" || fl_die "$TOOLS/fl-load-bench does not know --variety (set FL_BENCH_TOOLS)"
SRC=${FL_BENCH_SRC:-$(cd "$BIN/../.." && pwd)}
[ -d "$SRC/sql/hub" ] || SRC=$FL_ROOT

T=$(mktemp -d /tmp/fl_bench.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$OUT"
rm -f "$OUT"/wrk-*.txt

fl_pg_start "$T/pg" "-c fsync=off -c max_wal_size=4GB"
INGEST_PORT=$(fl_free_port)
HUB_PORT=$(fl_free_port)
HUB="http://127.0.0.1:$HUB_PORT"

# --- the hub and its load -------------------------------------------------------------------------------
{
	cat <<YAML
hub:
  ingest_url: tcp://127.0.0.1:$INGEST_PORT
  api_listen: 127.0.0.1:$HUB_PORT
  database_url: "$FL_DATABASE_URL"
  stale_after: 24h
  offline_after: 48h
  migrations_dir: $SRC/sql/hub
  web_dir: $SRC/web
  log_level: warn
clusters:
YAML
	for ((i = 0; i < CLUSTERS; i++)); do
		c=$(printf '%s-%03d' "$PREFIX" "$i")
		fl_make_key "$T/keys/$c.key"
		printf '  - name: %s\n    labels: {region: r%d}\n    key_file: keys/%s.key\n' "$c" $((i % 4)) "$c"
		[ "$LOAD" = spokes ] || continue
		cat >"$T/spoke-$c.yaml" <<YAML
cluster: $c
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: keys/$c.key
ack_timeout: 30s
log_level: warn
sources:
  sim: {nodes: $NODES, gpus_per_node: $GPUS, seed: $((i + 1))}
YAML
	done
} >"$T/clusters.yaml"
"$BIN/fleetlens-hub" --config "$T/clusters.yaml" >"$OUT/hub.log" 2>&1 &
HUB_PID=$!
PIDS+=("$HUB_PID")
fl_wait_http "$HUB/healthz" 60 || { tail -20 "$OUT/hub.log" >&2; fl_die "the hub did not start"; }
if [ "$LOAD" = spokes ]; then
	fl_say "loading $CLUSTERS clusters × $NODES GPU nodes with fleetlens-spoke --once (sim)"
	printf "%s\n" "$T"/spoke-*.yaml | xargs -P 4 -I{} "$BIN/fleetlens-spoke" --config {} --once >>"$OUT/spokes.log" 2>&1 ||
		fl_die "a spoke's frame was not acknowledged (see $OUT/spokes.log)"
else
	fl_say "loading $CLUSTERS clusters × $NODES nodes × $GPUS GPUs with fl-load-bench's storm (--variety)"
	"$TOOLS/fl-load-bench" load --url "tcp://127.0.0.1:$INGEST_PORT" --clusters "$CLUSTERS" --nodes "$NODES" \
		--gpus "$GPUS" --key-dir "$T/keys" --cycles 0 --no-reconnect --variety >"$OUT/load.jsonl" ||
		{ tail -20 "$OUT/hub.log" >&2; fl_die "fl-load-bench: not every frame was acknowledged"; }
	jq -r '"storm: \(.node_rows) node rows in \(.seconds) s (\(.node_rows_per_s) /s), ack p99 \(.p99_ms) ms"' "$OUT/load.jsonl" >&2
fi
fl_wait_until 120 "[ \"\$(curl -s '$HUB/v1/fleet/overview' | jq '.data.clustersReporting')\" = $CLUSTERS ]" ||
	fl_die "the hub has $(curl -s "$HUB/v1/fleet/overview" | jq '.data.clustersReporting') clusters reporting, not $CLUSTERS"
TOTAL=$(curl -s "$HUB/v1/nodes?page_size=1" | jq '.data.total')
fl_say "hub view: $CLUSTERS clusters, $TOTAL nodes, $(curl -s "$HUB/v1/fleet/overview" | jq '.data.gpusAllocatable') GPUs"

# cpu_ticks PID: the process's utime + stime in clock ticks (USER_HZ, 100 here).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# settle: waits (up to 120 s) until the hub spends under 10 % of a core over a second: a run's abandoned
# requests, or work the load left behind, must not bleed into the next run.
settle() {
	local a b i
	for ((i = 0; i < 120; i++)); do
		a=$(cpu_ticks "$HUB_PID")
		sleep 1
		b=$(cpu_ticks "$HUB_PID")
		[ $((b - a)) -lt 10 ] && return 0
	done
	fl_say "the hub did not settle in 120 s (still busy); measuring anyway"
}
settle
VIEW_BYTES=$(curl -s "$HUB/metrics" | awk '$1 == "fleetlens_hub_view_bytes" {print $2}')
RSS_KIB=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$HUB_PID/status")

# bench_server VAR PROBE ARGS...: starts fl-bench-server ARGS on a free port (another one if that was taken
# meanwhile) and sets VAR to its base URL and VAR_PID to its pid once PROBE answers there.
bench_server() {
	local var=$1 probe=$2 port pid
	shift 2
	for _ in 1 2 3; do
		port=$(fl_free_port)
		"$TOOLS/fl-bench-server" --listen "127.0.0.1:$port" "$@" 2>>"$OUT/bench-server.log" &
		pid=$!
		if fl_wait_http "http://127.0.0.1:$port$probe" 30; then
			PIDS+=("$pid")
			printf -v "$var" 'http://127.0.0.1:%s' "$port"
			printf -v "${var}_PID" '%s' "$pid"
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	fl_die "fl-bench-server $* did not start (see $OUT/bench-server.log)"
}
# ceiling VAR PATH: a fixed-bytes server sending the hub's answer to PATH (saved as $T/VAR.json).
ceiling() {
	curl -sf "$HUB$2" >"$T/$1.json" || fl_die "the hub did not answer $2"
	bench_server "$1" / --mode fixed --body "$T/$1.json"
}

# --- measure ----------------------------------------------------------------------------------------------
# to_ms "1.23ms" | "456.00us" | "1.02s" | "1.50m" → milliseconds
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
declare -A RPS P50 P99 CPU ERR URL
measure() { # measure KEY URL CONNS PID: PID is the server's, for its CPU per request
	local f="$OUT/wrk-$1.txt" t0 t1 n
	wrk -t"$THREADS" -c"$3" -d2s --timeout 30s "$2" >/dev/null 2>&1 || true # warm-up: connections, threads, caches
	settle
	t0=$(cpu_ticks "$4")
	wrk -t"$THREADS" -c"$3" -d"$DURATION" --timeout 30s --latency "$2" >"$f" 2>&1 || fl_die "$1: wrk failed (see $f)"
	t1=$(cpu_ticks "$4")
	grep -q 'Non-2xx' "$f" && fl_die "$1: answers other than 2xx (see $f)"
	URL[$1]=$2
	ERR[$1]=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$f")
	n=$(awk '/requests in/ {print $1}' "$f")
	RPS[$1]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
	P50[$1]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$f")")
	P99[$1]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")
	CPU[$1]=$(awk -v d=$((t1 - t0)) -v n="$n" 'BEGIN { printf "%.0f", (n > 0 ? d * 10000 / n : 0) }') # µs
	fl_say "$1: ${RPS[$1]} req/s, p50 ${P50[$1]} ms, p99 ${P99[$1]} ms, ${CPU[$1]} µs CPU/request${ERR[$1]:+, socket errors ${ERR[$1]}}"
	settle
}
# ratio A B: A / B, two decimals, or two significant digits below 0.1 (0.00035, not 0.00).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { r = (b > 0 ? a / b : 0); printf (r >= 0.1 || r == 0 ? "%.2f" : "%.2g"), r }'; }
met() { awk "BEGIN { exit !($1) }" && echo met || echo MISSED; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- issue 17: every query shape beside the default page and the ceiling --------------------------------
N="/v1/nodes?page_size=100"
PRODUCT=$(curl -s "$HUB/v1/nodes?cluster=$X&page_size=100" | jq -r '[.data.data[] | select(.gpu_count > 0)][0].gpu_name')
PRODUCT_Q=$(jq -rn --arg p "$PRODUCT" '$p | @uri')
LONG=$(curl -s "$HUB/v1/nodes?cluster=$X&page_size=1&page_num=$((NODES * 86 / 100 + 1))" | jq -r '.data.data[0].name')
SHAPES=(default "$N")
for k in name gpu_count gpu_allocation gpu_utilization status cluster_name; do
	SHAPES+=("$k-asc" "$N&order_by=$k&desc=false" "$k-desc" "$N&order_by=$k&desc=true")
done
SHAPES+=(status "$N&status=NotReady" gpu_name "$N&gpu_name=$PRODUCT_Q" name-short "$N&name=node-0001"
	name-long "$N&name=$LONG" combined-1 "$N&status=Ready&order_by=gpu_utilization&desc=true"
	combined-2 "$N&name=node-00&gpu_name=$PRODUCT_Q&order_by=gpu_allocation")
ROUTES=(clusters /v1/clusters fleet /v1/fleet/overview heatmap "/v1/clusters/gpuHeatmap?cluster=$X"
	alloc "/v1/nodes/gpuAllocation?cluster=$X")
declare -A TOT BYTES
for ((i = 0; i < ${#SHAPES[@]}; i += 2)); do
	body=$(curl -sf "$HUB${SHAPES[i + 1]}") || fl_die "the hub did not answer ${SHAPES[i + 1]}"
	TOT[${SHAPES[i]}]=$(jq '.data.total' <<<"$body")
	BYTES[${SHAPES[i]}]=${#body}
done
for ((i = 0; i < ${#ROUTES[@]}; i += 2)); do
	ceiling "CEIL_${ROUTES[i]^^}" "${ROUTES[i + 1]}"
	BYTES[${ROUTES[i]}]=$(stat -c %s "$T/CEIL_${ROUTES[i]^^}.json")
done
ceiling CEIL_DEFAULT "$N"
BYTES[ceiling-nodes]=$(stat -c %s "$T/CEIL_DEFAULT.json")
fl_say "shapes: wrk -t$THREADS -c$CONNS -d$DURATION; X = $X, gpu_name = $PRODUCT, long name = $LONG"
measure ceiling-nodes "$CEIL_DEFAULT$N" "$CONNS" "$CEIL_DEFAULT_PID"
for ((i = 0; i < ${#SHAPES[@]}; i += 2)); do
	measure "${SHAPES[i]}" "$HUB${SHAPES[i + 1]}" "$CONNS" "$HUB_PID"
done
for ((i = 0; i < ${#ROUTES[@]}; i += 2)); do
	v="CEIL_${ROUTES[i]^^}"
	p="${v}_PID"
	measure "ceiling-${ROUTES[i]}" "${!v}${ROUTES[i + 1]}" "$CONNS" "${!p}"
	measure "${ROUTES[i]}" "$HUB${ROUTES[i + 1]}" "$CONNS" "$HUB_PID"
done
measure default-again "$HUB$N" "$CONNS" "$HUB_PID"

# --- issue 6 and 12: the round trip and the Lens face -----------------------------------------------------
if [ "$ISSUE6" = 1 ]; then
	OV="/v1/clusters/overview?cluster=$X"
	NC="/v1/nodes?cluster=$X&page_size=100"
	NA=$N
	bench_server RT "$OV" --mode roundtrip --database "$FL_DATABASE_URL"
	ceiling CEIL_OV "$OV"
	# Same requests, same rows: otherwise the comparison means nothing.
	same() { [ "$(curl -s "$HUB$2" | jq -c "$3")" = "$(curl -s "$RT$2" | jq -c "$3")" ] || fl_die "round trip and hub differ on $1 ($2)"; }
	same "overview figures" "$OV" '.data | {totalNodes, healthyNodes, gpusAllocatable, gpusAllocated, allocationRate}'
	same "node page of one cluster" "$NC" '[.data.total, [.data.data[] | [.cluster_name, .name, .gpu_count, .gpu_allocation, .status]]]'
	same "node page of every cluster" "$NA" '[.data.total, [.data.data[] | [.cluster_name, .name, .gpu_count, .gpu_allocation, .status]]]'
	# The Lens face answers the same figures as the native routes (it lists GPU nodes only, by name).
	LOV="/lens/v1/clusters/overview?cluster=$X"
	LN="/lens/v1/nodes?cluster=$X&page_size=100"
	[ "$(curl -s "$HUB$OV" | jq -c '.data | [.totalNodes, .allocationRate, .utilization]')" = \
		"$(curl -s "$HUB$LOV" | jq -c '.data | [.totalNodes, .allocationRate, .utilization]')" ] ||
		fl_die "the Lens overview differs from /v1's ($LOV)"
	[ "$(curl -s "$HUB$NC" | jq -c '[.data.data[] | select(.gpu_count > 0) | .name]')" = \
		"$(curl -s "$HUB$LN" | jq -c '[.data.data[].name]')" ] || fl_die "the Lens node page differs from /v1's ($LN)"
	fl_say "issue 6: wrk -t$THREADS -c$CONNS6 -d$DURATION"
	measure i6-ceiling-overview "$CEIL_OV$OV" "$CONNS6" "$CEIL_OV_PID"
	measure i6-hub-overview "$HUB$OV" "$CONNS6" "$HUB_PID"
	measure i6-roundtrip-overview "$RT$OV" "$CONNS6" "$RT_PID"
	measure i6-ceiling-nodes "$CEIL_DEFAULT$NA" "$CONNS6" "$CEIL_DEFAULT_PID"
	measure i6-hub-nodes-cluster "$HUB$NC" "$CONNS6" "$HUB_PID"
	measure i6-roundtrip-nodes-cluster "$RT$NC" "$CONNS6" "$RT_PID"
	measure i6-hub-nodes-all "$HUB$NA" "$CONNS6" "$HUB_PID"
	measure i6-roundtrip-nodes-all "$RT$NA" "$CONNS6" "$RT_PID"
	measure i6-lens-overview "$HUB$LOV" "$CONNS6" "$HUB_PID"
	measure i6-lens-nodes-cluster "$HUB$LN" "$CONNS6" "$HUB_PID"
fi

# --- report -----------------------------------------------------------------------------------------------
# One line per run: key, req/s, p50, p99, µs CPU/request, socket errors, total rows, answer bytes, URL path.
for k in "${!RPS[@]}"; do
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${CPU[$k]}" \
		"${ERR[$k]:-0}" "${TOT[$k]:-}" "${BYTES[$k]:-}" "${URL[$k]#http://127.0.0.1:*/}"
done | sort >"$OUT/api.tsv"
declare -A B_RPS B_P99
if [ -n "${FL_BENCH_BEFORE:-}" ]; then
	while IFS=$'\t' read -r k r _ p _; do B_RPS[$k]=$r B_P99[$k]=$p; done <"$FL_BENCH_BEFORE"
fi
# shape_row KEY REQUEST CEILING_KEY TARGET: TARGET "third" (of the default page, p99 < 5 ms) or "half"
# (of the ceiling).
shape_row() {
	local k=$1 c=$3 t before=""
	if [ "$4" = third ]; then
		t=$(met "${RPS[$k]} * 3 >= ${RPS[default]} && ${P99[$k]} < 5")
	else
		t=$(met "${RPS[$k]} * 2 >= ${RPS[$c]}")
	fi
	[ -n "${FL_BENCH_BEFORE:-}" ] && before=" ${B_RPS[$k]:-—} (${B_P99[$k]:-—}) | $(ratio "${RPS[$k]}" "${B_RPS[$k]:-0}") |"
	printf '| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |%s\n' "$2" "${TOT[$k]:-}" "${BYTES[$k]:-}" \
		"${RPS[$k]}" "${P50[$k]}" "${P99[$k]}${ERR[$k]:+ (${ERR[$k]} socket errors)}" "$(ratio "${RPS[$k]}" "${RPS[default]}")" \
		"$(ratio "${RPS[$k]}" "${RPS[$c]}")" "${CPU[$k]}" "$t" "$before"
}
{
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(uname -sr); load average (1/5/15 min) before the runs $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "hub $BIN/fleetlens-hub ($(git -C "$SRC" log -1 --format=%h 2>/dev/null || echo '?')); load $LOAD: $CLUSTERS clusters, $TOTAL nodes; view $((${VIEW_BYTES:-0} / 1048576)) MiB ($((${VIEW_BYTES:-0} / (TOTAL > 0 ? TOTAL : 1))) B/node), hub RSS $((RSS_KIB / 1024)) MiB after loading; X = $X, gpu_name = $PRODUCT"
	echo
	echo "Issue 17 — wrk -t$THREADS -c$CONNS -d$DURATION --latency; N = \`$N\`; ratio to the default page (req/s); ratio to the ceiling: the fixed bytes of that route's own answer (the default page's for node queries)"
	echo
	h="| request | total | bytes | req/s | p50 ms | p99 ms | / default | / ceiling | hub µs CPU/req | target |"
	s="| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	pad=""
	[ -n "${FL_BENCH_BEFORE:-}" ] && h="$h before req/s (p99 ms) | after / before |" s="$s ---: | ---: |" pad=" | |"
	echo "$h"
	echo "$s"
	printf '| ceiling: default page, fixed bytes | | %s | %s | %s | %s | %s | 1.00 | %s | |%s\n' "${BYTES[ceiling-nodes]}" \
		"${RPS[ceiling-nodes]}" "${P50[ceiling-nodes]}" "${P99[ceiling-nodes]}" "$(ratio "${RPS[ceiling-nodes]}" "${RPS[default]}")" "${CPU[ceiling-nodes]}" "$pad"
	shape_row default "N" ceiling-nodes half
	for ((i = 2; i < ${#SHAPES[@]}; i += 2)); do
		shape_row "${SHAPES[i]}" "${SHAPES[i + 1]#"$N&"}" ceiling-nodes third
	done
	for ((i = 0; i < ${#ROUTES[@]}; i += 2)); do
		k=${ROUTES[i]}
		printf '| ceiling: `%s`, fixed bytes | | %s | %s | %s | %s | %s | 1.00 | %s | |%s\n' "${ROUTES[i + 1]}" "${BYTES[$k]}" \
			"${RPS[ceiling-$k]}" "${P50[ceiling-$k]}" "${P99[ceiling-$k]}" "$(ratio "${RPS[ceiling-$k]}" "${RPS[default]}")" "${CPU[ceiling-$k]}" "$pad"
		shape_row "$k" "${ROUTES[i + 1]}" "ceiling-$k" half
	done
	shape_row default-again "N (again, last)" ceiling-nodes half
	echo
	echo "Targets (issue 17): node queries at least 1/3 of the default page's req/s with p99 under 5 ms; /v1/clusters and the fleet routes at least 1/2 of their ceiling (\"target\" column)."
	if [ "$ISSUE6" = 1 ]; then
		row() { printf '| %s | `%s` | %s | %s | %s |\n' "$1" "$2" "${RPS[$3]}" "${P50[$3]}" "${P99[$3]}"; }
		echo
		echo "Issue 6 and 12 — wrk -t$THREADS -c$CONNS6 -d$DURATION --latency"
		echo
		echo "| server | request | req/s | p50 ms | p99 ms |"
		echo "| --- | --- | ---: | ---: | ---: |"
		row ceiling "GET $OV (fixed bytes)" i6-ceiling-overview
		row "FleetLens hub" "GET $OV" i6-hub-overview
		row "round trip" "GET $OV" i6-roundtrip-overview
		row ceiling "GET $NA (fixed bytes)" i6-ceiling-nodes
		row "FleetLens hub" "GET $NC" i6-hub-nodes-cluster
		row "round trip" "GET $NC" i6-roundtrip-nodes-cluster
		row "FleetLens hub" "GET $NA" i6-hub-nodes-all
		row "round trip" "GET $NA" i6-roundtrip-nodes-all
		row "FleetLens hub, Lens face" "GET $LOV" i6-lens-overview
		row "FleetLens hub, Lens face" "GET $LN" i6-lens-nodes-cluster
		echo
		echo "| ratio | overview | nodes, one cluster | nodes, all clusters |"
		echo "| --- | ---: | ---: | ---: |"
		echo "| FleetLens / ceiling, req/s | $(ratio "${RPS[i6-hub-overview]}" "${RPS[i6-ceiling-overview]}") | $(ratio "${RPS[i6-hub-nodes-cluster]}" "${RPS[i6-ceiling-nodes]}") | $(ratio "${RPS[i6-hub-nodes-all]}" "${RPS[i6-ceiling-nodes]}") |"
		echo "| FleetLens / round trip, req/s | $(ratio "${RPS[i6-hub-overview]}" "${RPS[i6-roundtrip-overview]}") | $(ratio "${RPS[i6-hub-nodes-cluster]}" "${RPS[i6-roundtrip-nodes-cluster]}") | $(ratio "${RPS[i6-hub-nodes-all]}" "${RPS[i6-roundtrip-nodes-all]}") |"
		echo "| round trip / FleetLens, p99 | $(ratio "${P99[i6-roundtrip-overview]}" "${P99[i6-hub-overview]}") | $(ratio "${P99[i6-roundtrip-nodes-cluster]}" "${P99[i6-hub-nodes-cluster]}") | $(ratio "${P99[i6-roundtrip-nodes-all]}" "${P99[i6-hub-nodes-all]}") |"
		echo "| Lens face / native route, req/s | $(ratio "${RPS[i6-lens-overview]}" "${RPS[i6-hub-overview]}") | $(ratio "${RPS[i6-lens-nodes-cluster]}" "${RPS[i6-hub-nodes-cluster]}") | — |"
		echo
		echo "Targets (issue 6):"
		echo "- overview within 2× of the ceiling: $(met "${RPS[i6-hub-overview]} * 2 >= ${RPS[i6-ceiling-overview]}")"
		echo "- overview p99 under 2 ms: $(met "${P99[i6-hub-overview]} < 2")"
		for k in nodes-cluster nodes-all; do
			echo "- $k: at least 2× the round trip's req/s: $(met "${RPS[i6-hub-$k]} >= 2 * ${RPS[i6-roundtrip-$k]}"); p99 at least 10× lower: $(met "${P99[i6-hub-$k]} * 10 <= ${P99[i6-roundtrip-$k]}")"
		done
	fi
} | tee "$OUT/results.md"
echo "wrk outputs, api.tsv and logs: $OUT"
