#!/usr/bin/env bash
# tests/deploy/rules_test.sh — the alert rules (deploy/prometheus/fleetlens-rules.yaml) checked offline
# and against what the daemons export. Run once by scripts/test (not per build):
#   FL_BIN=build/bin bash tests/deploy/rules_test.sh
#   bash tests/deploy/rules_test.sh --write   rewrites deploy/k8s/base/monitoring/fleetlens-rules.yaml
#                                             (the PrometheusRule) from the rule file, then exits
# 1. `promtool check rules` on the rule file; `promtool test rules` on fleetlens-rules.test.yaml, which
#    must hold, for every alert, a case where it fires and one where it stays silent;
# 2. the PrometheusRule in deploy/k8s/base/monitoring is the rule file under spec: (same text as
#    --write makes, same parsed rules), and `kubectl kustomize` renders it (skipped without kubectl);
# 3. every metric the rules name (expressions and annotations) is one a real hub or spoke exports: a
#    hub on a private PostgreSQL and a spoke (sim source, metrics_listen) are started and their
#    /metrics read; each equality matcher's label value and each group_left label must appear there.
# Needs promtool (Debian package prometheus), python3-yaml, PostgreSQL (scripts/lib.sh fl_pg_start).
# Prints "ok - ..." / "not ok - ..." (skips as "ok - ... # SKIP why") and a tally.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
source "$FL_ROOT/tests/integration/lib.sh" # the hub's and the sim spoke's configs and start-up
cd "$FL_ROOT" || exit 1
FL_BIN=${FL_BIN:-$FL_ROOT/build/bin}
RULES=deploy/prometheus/fleetlens-rules.yaml
CASES=deploy/prometheus/fleetlens-rules.test.yaml
PROMRULE=deploy/k8s/base/monitoring/fleetlens-rules.yaml
FL_SKIP=0
skip() {
	FL_SKIP=$((FL_SKIP + 1))
	echo "ok - $1 # SKIP $2"
}
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3

# The PrometheusRule: a fixed header, then the rule file from its groups: line, two spaces in.
promrule() {
	cat <<'YAML'
# Made from deploy/prometheus/fleetlens-rules.yaml by tests/deploy/rules_test.sh --write: edit that
# file, not this one (rules_test.sh fails when they differ). See kustomization.yaml here.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: fleetlens
  labels:
    app.kubernetes.io/name: fleetlens
    app.kubernetes.io/component: alerts
spec:
YAML
	sed -n '/^groups:/,$p' "$RULES" | sed 's/^\(.\)/  \1/'
}
if [ "${1:-}" = --write ]; then
	promrule >"$PROMRULE" && echo "wrote $PROMRULE"
	exit
fi

T=$(mktemp -d /tmp/fl_rules.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${SPOKE_PID:-}" ] && kill "$SPOKE_PID" 2>/dev/null && wait "$SPOKE_PID" 2>/dev/null
	[ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	[ -n "${PG_UP:-}" ] && fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT

# --- 1. promtool ---------------------------------------------------------------------------------------
alerts=$(awk '$1 == "-" && $2 == "alert:" {print $3}' "$RULES")
n_alerts=$(wc -w <<<"$alerts")
if ! command -v promtool >/dev/null 2>&1; then
	check_eq "promtool on PATH" "" "missing: apt-get install prometheus (Debian ships promtool in it)"
else
	out=$(promtool check rules "$RULES" 2>&1)
	check_eq "promtool check rules $RULES" "0" "$?"
	check_contains "promtool finds every rule ($n_alerts alerts)" "SUCCESS: $n_alerts rules found" "$out"
	out=$(cd "$(dirname "$CASES")" && promtool test rules "$(basename "$CASES")" 2>&1)
	rc=$?
	check_eq "promtool test rules $CASES" "0" "$rc"
	[ "$rc" -eq 0 ] || echo "$out" | head -60
fi
if ! "$py" -c 'import yaml' 2>/dev/null; then
	check_eq "python3 with python3-yaml, to read the rules" "" "missing: apt-get install python3-yaml"
	fl_done
	exit
fi
# Every alert: a case where it fires (exp_alerts not empty) and one where it is silent (exp_alerts: []).
cover=$("$py" - "$CASES" <<'PY'
import sys, yaml
fire, silent = set(), set()
for t in yaml.safe_load(open(sys.argv[1]))["tests"]:
    for c in t.get("alert_rule_test", []):
        (fire if c.get("exp_alerts") else silent).add(c["alertname"])
for a in sorted(fire | silent):
    print(a, "fire" if a in fire else "-", "silent" if a in silent else "-")
PY
)
for a in $alerts; do
	check_eq "$a: a case where it fires and one where it stays silent" "$a fire silent" "$(grep "^$a " <<<"$cover")"
done
check_eq "every alert of the test cases is in the rule file" "$n_alerts" "$(wc -l <<<"$cover")"

# --- 2. the PrometheusRule ---------------------------------------------------------------------------
check_eq "$PROMRULE is what --write makes from $RULES" "" "$(diff <(promrule) "$PROMRULE" 2>&1 | head -5)"
same=$("$py" - "$RULES" "$PROMRULE" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
pr = yaml.safe_load(open(sys.argv[2]))
print(pr.get("kind") == "PrometheusRule" and pr.get("spec") == rules)
PY
)
check_eq "the PrometheusRule's spec parses to the rule file's groups" True "$same"
if command -v kubectl >/dev/null 2>&1; then
	kinds=$(kubectl kustomize deploy/k8s/base/monitoring 2>&1 | awk '/^kind:/ {print $2}')
	check_eq "kubectl kustomize deploy/k8s/base/monitoring renders one PrometheusRule" PrometheusRule "$kinds"
else
	skip "kubectl kustomize deploy/k8s/base/monitoring" "no kubectl"
fi

# --- 3. the names against a real hub's and spoke's /metrics ------------------------------------------
if [ ! -x "$FL_BIN/fleetlens-hub" ] || [ ! -x "$FL_BIN/fleetlens-spoke" ]; then
	check_eq "fleetlens-hub and fleetlens-spoke built in $FL_BIN" "" "missing"
	fl_done
	exit
fi
fl_pg_start "$T/pg" && PG_UP=1
BIN=$FL_BIN
INGEST_PORT=$(fl_free_port)
API_PORT=$(fl_free_port)
SPOKE_PORT=$(fl_free_port)
URL="tcp://127.0.0.1:$INGEST_PORT"
API="http://127.0.0.1:$API_PORT"
fl_it_keys alpha
fl_it_clusters alpha | fl_it_hub_config "$T/clusters.yaml"
fl_it_spoke_config "$T/alpha.yaml" alpha 4 4 1 "interval: 1s" "metrics_listen: 127.0.0.1:$SPOKE_PORT"
FL_DIAG_LOGS="$T/hub.log $T/alpha.log"
fl_it_start_hub
fl_it_start_spoke alpha
# The spoke answers /metrics once it listens; a spoke that refuses metrics_listen exits at once (a failure).
fl_wait_until 60 'curl -sf "http://127.0.0.1:$SPOKE_PORT/metrics" >"$T/spoke.metrics" || ! kill -0 $SPOKE_PID'
# The hub's per-cluster series are there for each registered cluster (alpha), frames or not.
curl -s "http://127.0.0.1:$API_PORT/metrics" >"$T/hub.metrics"
check_contains "the hub's /metrics answers with alpha's series" 'fleetlens_cluster_up{cluster="alpha",status=' \
	"$(cat "$T/hub.metrics")"
check_eq "the spoke serves /metrics on metrics_listen" true \
	"$(kill -0 "$SPOKE_PID" 2>/dev/null && [ -s "$T/spoke.metrics" ] && echo true || echo "false: $(tail -1 "$T/alpha.log")")"
check_contains "the spoke's /metrics answers with its info" 'fleetlens_spoke_info{' "$(cat "$T/spoke.metrics")"
spoke_src="a spoke's /metrics"
"$py" - "$RULES" "$T/hub.metrics" "$T/spoke.metrics" "$spoke_src" >"$T/names.out" 2>&1 <<'PY'
import re, sys, yaml
rules_path, hub_path, spoke_path, spoke_src = sys.argv[1:5]

def series(path):
    """{metric name: [label dicts]} from Prometheus text; names declared by # TYPE count with no series."""
    out = {}
    for line in open(path):
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            out.setdefault(m.group(1), [])
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ", line)
        if m and not line.startswith("#"):
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            out.setdefault(m.group(1), []).append(labels)
    return out

hub, spoke = series(hub_path), series(spoke_path)
rules = [r for g in yaml.safe_load(open(rules_path))["groups"] for r in g["rules"]]
said = set()


def say(ok, what):
    if what not in said:
        said.add(what)
        print(("ok - " if ok else "not ok - ") + what)


text = open(rules_path).read()
names = sorted(set(re.findall(r"\bfleetlens_[a-z0-9_]+", text)))
for n in names:
    src = hub if n.startswith(("fleetlens_hub_", "fleetlens_cluster_")) else spoke
    where = "the hub's /metrics" if src is hub else spoke_src
    say(n in src, f"{n} is in {where}")
# Equality (and literal alternation) matchers: some series carries that label value.
for r in rules:
    for n, body in re.findall(r"\b(fleetlens_[a-z0-9_]+)\{([^}]*)\}", r["expr"]):
        src = hub if n.startswith(("fleetlens_hub_", "fleetlens_cluster_")) else spoke
        for label, op, val in re.findall(r'([a-zA-Z_]+)\s*(=~|!=|=)\s*"([^"]*)"', body):
            if op == "!=":
                continue
            for v in val.split("|") if op == "=~" else [val]:
                ok = any(s.get(label) == v for s in src.get(n, []))
                say(ok, f'{r["alert"]}: {n}{{{label}="{v}"}} is exported')
    for labels, n in re.findall(r"group_left\s*\(([^)]*)\)\s*(fleetlens_[a-z0-9_]+)", r["expr"]):
        for label in [x.strip() for x in labels.split(",")]:
            ok = any(label in s for s in spoke.get(n, []) + hub.get(n, []))
            say(ok, f'{r["alert"]}: {n} carries the label {label}')
PY
check_eq "the metric name check ran" 0 "$?"
while IFS= read -r line; do
	echo "$line"
	case $line in
	"not ok"*) FL_FAIL=$((FL_FAIL + 1)) ;;
	"ok"*) FL_PASS=$((FL_PASS + 1)) ;;
	esac
done <"$T/names.out"
echo "$FL_SKIP skipped"
fl_done
