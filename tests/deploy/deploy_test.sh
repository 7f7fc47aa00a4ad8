#!/usr/bin/env bash
# tests/deploy/deploy_test.sh — deploy/ checked offline against what the code reads: no cluster, no
# container engine, no network. Run once by scripts/test (not per build):
#   FL_BIN=build/bin bash tests/deploy/deploy_test.sh
# 1. makes an overlay's operator files (keys, token, database URL, TLS certificate) in a copy of
#    deploy/k8s, the way deploy/README.md tells an operator to;
# 2. renders every base and overlay with `kubectl kustomize` (skipped, not failed, without kubectl:
#    check_manifests.py then assembles the overlays itself from their files);
# 3. check_manifests.py: kinds, RBAC, ports and probes against api_listen/ingest_url, mounts against
#    the paths the config names, clusters.yaml through `fleetlens-hub --check` and both spoke.yaml files
#    through `fleetlens-spoke --once --dry-run` (the node role's on a tests/node_fixtures tree), the node
#    role's DaemonSet (host mounts against what spoke/spoke_node*.c opens, no RBAC or token, hostPID,
#    capabilities), keys against the README's tables, the Dockerfiles' runtime packages against the
#    binaries' linked libraries and their build stages' copies against what `cmake` needs to configure;
# 4. the systemd units with `systemd-analyze verify` (skipped without it; any warning fails);
# 5. git ignores the operator files next to an overlay.
# Prints "ok - ..." / "not ok - ..." (skips as "ok - ... # SKIP why") and a tally.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
cd "$FL_ROOT" || exit 1
FL_BIN=${FL_BIN:-$FL_ROOT/build/bin}
FL_SKIP=0
KUBECTL=${KUBECTL:-kubectl} # KUBECTL=none runs the checks without it, as on a machine that lacks it
skip() {
	FL_SKIP=$((FL_SKIP + 1))
	echo "ok - $1 # SKIP $2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r deploy/k8s "$tmp/k8s"

# --- 1. the operator's files, as deploy/README.md makes them ---------------------------------------
hub_dir="$tmp/k8s/overlays/hub-prod/secrets"
spoke_dir="$tmp/k8s/overlays/spoke-cluster/secrets"
node_dir="$tmp/k8s/overlays/spoke-node/secrets"
mkdir -p "$hub_dir" "$spoke_dir" "$node_dir"
fl_make_key "$hub_dir/alpha.key"
fl_make_key "$hub_dir/beta.key"
fl_make_key "$hub_dir/alpha-node.key"
cp "$hub_dir/alpha.key" "$spoke_dir/alpha.key"
cp "$hub_dir/alpha-node.key" "$node_dir/alpha-node.key" # the node role signs with alpha's node key
(umask 077 && head -c 32 /dev/urandom | base64 >"$hub_dir/ops.token")
echo "FLEETLENS_DATABASE_URL=postgresql://fleetlens:secret@db.example:5432/fleetlens" >"$hub_dir/database.env"
if command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fleetlens test CA" \
		-keyout "$tmp/ca.key" -out "$spoke_dir/hub-ca.crt" >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=fleetlens-ingest.example.com" \
		-keyout "$hub_dir/hub.key" -out "$tmp/hub.csr" >/dev/null 2>&1
	openssl x509 -req -in "$tmp/hub.csr" -CA "$spoke_dir/hub-ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
		-days 2 -out "$hub_dir/hub.crt" >/dev/null 2>&1
	check_eq "a CA and the hub's ingest certificate made with openssl" 0 $?
else
	printf 'placeholder\n' | tee "$hub_dir/hub.key" "$hub_dir/hub.crt" "$spoke_dir/hub-ca.crt" >/dev/null
	skip "a CA and the hub's ingest certificate made with openssl" "no openssl (placeholder files)"
fi
cp "$spoke_dir/hub-ca.crt" "$node_dir/hub-ca.crt"

# --- 2. render -------------------------------------------------------------------------------------
mkdir -p "$tmp/render" "$tmp/work"
if command -v "$KUBECTL" >/dev/null 2>&1; then
	for d in "$tmp"/k8s/base/* "$tmp"/k8s/overlays/*; do
		name=$(basename "$d")
		rel=${d#"$tmp/k8s/"}
		out="$tmp/render/$name.yaml"
		[ "${rel%%/*}" = base ] && out="$tmp/render/base-$name.yaml"
		if "$KUBECTL" kustomize "$d" >"$out" 2>"$tmp/kustomize.err"; then
			check_eq "kubectl kustomize deploy/k8s/$rel renders" 0 0
		else
			check_eq "kubectl kustomize deploy/k8s/$rel renders" "" "$(head -c 400 "$tmp/kustomize.err")"
			rm -f "$out"
		fi
	done
else
	for d in deploy/k8s/base/* deploy/k8s/overlays/*; do
		skip "kubectl kustomize $d renders" "no kubectl (not a Debian 12 package); the overlays are assembled by check_manifests.py"
	done
fi

# --- 3. the manifests against the code ---------------------------------------------------------------
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if ! "$py" -c 'import yaml' 2>/dev/null; then
	check_eq "python3 with python3-yaml, to read the manifests" "" "missing: apt-get install python3-yaml"
else
	"$py" tests/deploy/check_manifests.py "$FL_ROOT" "$tmp/k8s" "$tmp/render" "$tmp/work" "$FL_BIN" \
		>"$tmp/checks.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"not ok"*) FL_FAIL=$((FL_FAIL + 1)) ;;
		"ok"*"# SKIP"*) FL_SKIP=$((FL_SKIP + 1)) ;;
		"ok"*) FL_PASS=$((FL_PASS + 1)) ;;
		esac
	done <"$tmp/checks.out"
	check_eq "check_manifests.py ran to the end" 0 "$rc"
fi

# --- 4. systemd units --------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1 && [ -x "$FL_BIN/fleetlens-hub" ] && [ -x "$FL_BIN/fleetlens-spoke" ]; then
	# verify needs the ExecStart binaries to exist: point the copies at the build's. A template is
	# verified through an instance name.
	mkdir -p "$tmp/units"
	sed "s#/usr/local/bin/fleetlens-#$FL_BIN/fleetlens-#g" deploy/systemd/fleetlens-hub.service \
		>"$tmp/units/fleetlens-hub.service"
	sed "s#/usr/local/bin/fleetlens-#$FL_BIN/fleetlens-#g" deploy/systemd/fleetlens-spoke@.service \
		>"$tmp/units/fleetlens-spoke@alpha.service"
	sed "s#/usr/local/bin/fleetlens-#$FL_BIN/fleetlens-#g" deploy/systemd/fleetlens-spoke-node@.service \
		>"$tmp/units/fleetlens-spoke-node@alpha.service"
	for u in fleetlens-hub.service fleetlens-spoke@alpha.service fleetlens-spoke-node@alpha.service; do
		out=$(systemd-analyze verify "$tmp/units/$u" 2>&1)
		check_eq "systemd-analyze verify $u: no error or warning" "0:" "$?:$out"
	done
else
	skip "systemd-analyze verify of the units" "no systemd-analyze or no built binaries in $FL_BIN"
fi
check_contains "fleetlens-hub.service reads FLEETLENS_DATABASE_URL from an EnvironmentFile" \
	"EnvironmentFile=/etc/fleetlens/hub.env" "$(cat deploy/systemd/fleetlens-hub.service)"
check_contains "fleetlens-spoke@.service keeps its spool in a per-cluster StateDirectory" \
	"StateDirectory=fleetlens-spoke/%i" "$(cat deploy/systemd/fleetlens-spoke@.service)"
for u in fleetlens-hub.service fleetlens-spoke@.service; do
	for want in User=fleetlens NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure RestartPreventExitStatus=2; do
		check_contains "$u: $want" "$want" "$(cat "deploy/systemd/$u")"
	done
done
# The node role's unit runs as root (no User=), held to the two capabilities the DaemonSet adds, with
# every process's /proc entry and /proc/stat visible, devices closed but NVIDIA's.
node_unit=$(grep -v '^#' deploy/systemd/fleetlens-spoke-node@.service)
for want in NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure RestartPreventExitStatus=2 \
	"CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH" ProtectProc=default ProcSubset=all \
	DevicePolicy=closed "StateDirectory=fleetlens-spoke-node/%i" "--config /etc/fleetlens/spoke-node/%i.yaml"; do
	check_contains "fleetlens-spoke-node@.service: $want" "$want" "$node_unit"
done
check_eq "fleetlens-spoke-node@.service: no User= (root) and no other CapabilityBoundingSet line" "0 1" \
	"$(grep -c '^User=' <<<"$node_unit") $(grep -c '^CapabilityBoundingSet=' <<<"$node_unit")"

# --- 5. operator files stay out of git -------------------------------------------------------------
for f in deploy/k8s/overlays/hub-prod/secrets/alpha.key deploy/k8s/overlays/spoke-cluster/secrets/alpha.key \
	deploy/k8s/overlays/spoke-node/secrets/alpha-node.key; do
	check_eq "git ignores $f" "$f" "$(git check-ignore "$f" 2>/dev/null)"
done

echo "$FL_SKIP skipped"
fl_done
