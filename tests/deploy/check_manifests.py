#!/usr/bin/env python3
"""tests/deploy/check_manifests.py — checks the rendered Kustomize overlays against what the code reads.

Run by deploy_test.sh:  check_manifests.py REPO K8S_COPY RENDER_DIR WORK_DIR FL_BIN
  K8S_COPY    a copy of deploy/k8s with the operator's files (secrets/) made as deploy/README.md says
  RENDER_DIR  <overlay>.yaml from `kubectl kustomize` per overlay; an overlay without one is assembled
              here by a small fallback (resources, generators, name-merged patches: no name hashes)
  WORK_DIR    scratch space: each pod's mounted files are written under WORK_DIR/<overlay>/root
  FL_BIN      folder of fleetlens-hub and fleetlens-spoke ("" or missing: binary checks are skipped)
Prints "ok - ...", "not ok - ...: why" and "ok - ... # SKIP why" lines; deploy_test.sh counts them.
"""
import base64
import json
import os
import re
import subprocess
import sys

import yaml

REPO, K8S, RENDER, WORK, FL_BIN = sys.argv[1:6]


def ok(what):
    print(f"ok - {what}")


def bad(what, why):
    print(f"not ok - {what}: {why}")


def check(what, cond, why=""):
    ok(what) if cond else bad(what, why)
    return cond


def skip(what, why):
    print(f"ok - {what} # SKIP {why}")


# --- rendering ----------------------------------------------------------------------------------------

def merge(a, b):
    """Strategic-merge-like: maps merge recursively, lists of named maps merge by name, else b wins."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(a[k], v) if k in a else v
        return out
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, dict) and "name" in x for x in a + b):
        out = list(a)
        for item in b:
            i = next((j for j, x in enumerate(out) if x["name"] == item["name"]), None)
            if i is None:
                out.append(item)
            else:
                out[i] = merge(out[i], item)
        return out
    return b


def fallback_render(d):
    """What kubectl kustomize would produce for folder d, without name hashes or image rewrites."""
    with open(os.path.join(d, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    objs = []
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(d, r))
        if os.path.isdir(p):
            objs += fallback_render(p)
        else:
            with open(p) as f:
                objs += [o for o in yaml.safe_load_all(f) if o]
    for kind, gens in (("ConfigMap", k.get("configMapGenerator", [])), ("Secret", k.get("secretGenerator", []))):
        for g in gens:
            data = {}
            for spec in g.get("files", []):
                key, _, path = spec.partition("=") if "=" in spec else (os.path.basename(spec), "", spec)
                with open(os.path.join(d, path), "rb") as f:
                    raw = f.read()
                data[key] = base64.b64encode(raw).decode() if kind == "Secret" else raw.decode()
            for env in g.get("envs", []):
                with open(os.path.join(d, env)) as f:
                    for line in f:
                        line = line.strip()
                        if line and not line.startswith("#"):
                            key, _, val = line.partition("=")
                            data[key] = base64.b64encode(val.encode()).decode() if kind == "Secret" else val
            o = {"apiVersion": "v1", "kind": kind, "metadata": {"name": g["name"]}, "data": data}
            if kind == "Secret":
                o["type"] = g.get("type", "Opaque")
            objs = [x for x in objs if not (x["kind"] == kind and x["metadata"]["name"] == g["name"])] + [o]
    for p in k.get("patches", []):
        with open(os.path.join(d, p["path"])) as f:
            patch = yaml.safe_load(f)
        for i, o in enumerate(objs):
            if o["kind"] == patch["kind"] and o["metadata"]["name"] == patch["metadata"]["name"]:
                objs[i] = merge(o, patch)
    if "namespace" in k:
        for o in objs:
            if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
                o["metadata"]["namespace"] = k["namespace"]
    return objs


def render(name):
    path = os.path.join(RENDER, name + ".yaml")
    if os.path.exists(path):
        with open(path) as f:
            return [o for o in yaml.safe_load_all(f) if o]
    return fallback_render(os.path.join(K8S, "overlays", name))


# --- helpers over rendered objects ------------------------------------------------------------------

def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def volume_files(objs, vol):
    """{file name: bytes} a pod volume shows, from its ConfigMap or Secret (None for other volumes)."""
    if "configMap" in vol:
        cm = find(objs, "ConfigMap", vol["configMap"]["name"])
        return {k: v.encode() for k, v in cm[0].get("data", {}).items()} if cm else {}
    if "secret" in vol:
        s = find(objs, "Secret", vol["secret"]["secretName"])
        return {k: base64.b64decode(v) for k, v in s[0].get("data", {}).items()} if s else {}
    return None


def pod_root(objs, dep, root):
    """Writes every ConfigMap/Secret volume of dep's first container under root/<mountPath>.
    Returns {mountPath: volume} for all its mounts."""
    spec = dep["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {}
    for m in spec["containers"][0].get("volumeMounts", []):
        v = vols.get(m["name"])
        mounts[m["mountPath"]] = v
        files = volume_files(objs, v) if v else None
        if files is None:
            continue
        d = root + m["mountPath"]
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return mounts


def relocate(text, mounts, root):
    """The config text with every path under a mount moved under root (longest mount first)."""
    for mp in sorted(mounts, key=len, reverse=True):
        text = re.sub(r"(?<=[\s:'\"])" + re.escape(mp) + r"(?=/)", root + mp, text)
    return text


def under_mount(path, mounts, objs):
    """(mount path, file exists in its volume) for the mount holding path, or (None, False)."""
    for mp in sorted(mounts, key=len, reverse=True):
        if path.startswith(mp + "/"):
            files = volume_files(objs, mounts[mp]) if mounts[mp] else None
            return mp, files is not None and path[len(mp) + 1:] in files
    return None, False


def port_of(addr):
    m = re.search(r":(\d+)$", addr)
    return int(m.group(1)) if m else None


def container_config(objs, dep, what):
    """(config path from --config, its text from the mounted ConfigMap, mounts) or Nones."""
    c = dep["spec"]["template"]["spec"]["containers"][0]
    args = c.get("args", [])
    path = args[args.index("--config") + 1] if "--config" in args else None
    if not check(f"{what}: the container runs with --config FILE", path is not None, f"args {args}"):
        return None, None, {}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"].get("volumes", [])}
    vmounts = {mp: vols.get(n) for mp, n in mounts.items()}
    mp, present = under_mount(path, vmounts, objs)
    check(f"{what}: {path} is a key of the ConfigMap mounted at {mp}", present, "no volume provides it")
    text = None
    if present:
        text = volume_files(objs, vmounts[mp])[path[len(mp) + 1:]].decode()
    return path, text, vmounts


def security(dep, what, uid):
    spec = dep["spec"]["template"]["spec"]
    c = spec["containers"][0]
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    check(f"{what}: runs as non-root UID {uid} (the image's user)",
          psc.get("runAsNonRoot") is True and psc.get("runAsUser") == uid, f"pod securityContext {psc}")
    check(f"{what}: read-only root, no privilege escalation, every capability dropped",
          csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
          and csc.get("capabilities", {}).get("drop") == ["ALL"], f"container securityContext {csc}")
    req = c.get("resources", {}).get("requests", {})
    check(f"{what}: cpu and memory requests and a memory limit",
          "cpu" in req and "memory" in req and "memory" in c.get("resources", {}).get("limits", {}),
          f"resources {c.get('resources')}")


def kinds(objs):
    out = {}
    for o in objs:
        out[o["kind"]] = out.get(o["kind"], 0) + 1
    return out


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


def binary(name):
    p = os.path.join(FL_BIN, name) if FL_BIN else ""
    return p if p and os.access(p, os.X_OK) else None


def readme_keys(section):
    """First-column keys of the top README's table under '### <section>' (e.g. 'Spoke')."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    start = text.index("### " + section)
    keys = set()
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        m = re.match(r"\|\s*`([^`]+)`", line)
        if m:
            for k in re.findall(r"`([^`]+)`", line.split("|")[1]):
                keys.add(k)
    return keys


def flat_keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict) and k not in ("labels", "cluster_labels"):
            out |= flat_keys(v, prefix + k + ".")
    return out


# --- the hub overlay ----------------------------------------------------------------------------------

def check_hub(name):
    what = f"{name}"
    objs = render(name)
    k = kinds(objs)
    want = {"Namespace": 1, "ConfigMap": 1, "Secret": 4, "Service": 2, "Deployment": 1, "PodDisruptionBudget": 1}
    check(f"{what}: renders exactly {want}", k == want, f"got {k}")
    dep = find(objs, "Deployment", "fleetlens-hub")
    if not check(f"{what}: Deployment fleetlens-hub", len(dep) == 1, "missing"):
        return None
    dep = dep[0]
    check(f"{what}: 2 hub replicas", dep["spec"].get("replicas") == 2, f"replicas {dep['spec'].get('replicas')}")
    security(dep, what, 10001)
    c = dep["spec"]["template"]["spec"]["containers"][0]
    path, text, mounts = container_config(objs, dep, what)
    if text is None:
        return None
    cfg = yaml.safe_load(text)
    hub = cfg.get("hub", {})
    keys = {"hub." + k for k in flat_keys(hub)} | {"clusters[]." + k for c_ in cfg.get("clusters", []) for k in c_}
    keys |= {"hub.api_tokens." + k for t in hub.get("api_tokens", []) for k in t}
    documented = readme_keys("Hub")
    documented |= {"hub.tls", "hub.api_tokens.name", "hub.api_tokens.token_file", "hub.api_tokens.clusters",
                   "hub.api_tokens.cluster_labels"}  # the table describes a token's fields in words
    check(f"{what}: every clusters.yaml key is in the README's Hub table", keys <= documented,
          f"not documented: {sorted(keys - documented)}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    ingest_port, api_port = port_of(hub.get("ingest_url", "")), port_of(hub.get("api_listen", ""))
    check(f"{what}: containerPort 'ingest' is hub.ingest_url's port ({ingest_port})",
          ports.get("ingest") == ingest_port, f"ports {ports}")
    check(f"{what}: containerPort 'api' is hub.api_listen's port ({api_port})", ports.get("api") == api_port,
          f"ports {ports}")
    check(f"{what}: api_listen is not loopback, and api_tokens keep it so (no tokens: rebound to 127.0.0.1)",
          not hub.get("api_listen", "").startswith("127.") and bool(hub.get("api_tokens")),
          f"api_listen {hub.get('api_listen')}, api_tokens {bool(hub.get('api_tokens'))}")

    def probe(p):
        g = (c.get(p) or {}).get("httpGet", {})
        port = g.get("port")
        return g.get("path"), ports.get(port, port)

    check(f"{what}: livenessProbe GET /healthz on the API port", probe("livenessProbe") == ("/healthz", api_port),
          f"got {probe('livenessProbe')}")
    check(f"{what}: readinessProbe GET /readyz on the API port", probe("readinessProbe") == ("/readyz", api_port),
          f"got {probe('readinessProbe')}")
    for svc in find(objs, "Service"):
        tps = [p["targetPort"] for p in svc["spec"]["ports"]]
        check(f"{what}: Service {svc['metadata']['name']} targets named container ports {tps}",
              all(t in ports or t in ports.values() for t in tps)
              and svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(),
              f"container ports {ports}, selector {svc['spec']['selector']}")
    # Every file the config names is in a mounted Secret/ConfigMap, and the image has the folders.
    files = [c_[k] for c_ in cfg.get("clusters", []) for k in ("key_file", "node_key_file") if k in c_]
    files += [t["token_file"] for t in hub.get("api_tokens", [])]
    files += [v for v in (hub.get("tls") or {}).values()]
    missing = [f for f in files if not under_mount(f, mounts, objs)[1]]
    check(f"{what}: the {len(files)} key (cluster and node), token and TLS files clusters.yaml names are mounted", not missing,
          f"not in any mounted volume: {missing}")
    with open(os.path.join(REPO, "deploy/container/Dockerfile.hub")) as f:
        docker = f.read()
    for key in ("web_dir", "migrations_dir"):
        check(f"{what}: hub.{key} {hub.get(key)} is where Dockerfile.hub copies it",
              re.search(r"^COPY .* " + re.escape(str(hub.get(key))) + r"$", docker, re.M) is not None,
              "no COPY to that path")
    env = {}
    for ef in c.get("envFrom", []):
        s = find(objs, "Secret", ef.get("secretRef", {}).get("name"))
        env.update({kk: base64.b64decode(v).decode() for kk, v in (s[0].get("data", {}) if s else {}).items()})
    check(f"{what}: FLEETLENS_DATABASE_URL comes from a Secret (envFrom)", "FLEETLENS_DATABASE_URL" in env
          or "database_url" in hub, f"env {sorted(env)}")
    hub_bin = binary("fleetlens-hub")
    if hub_bin is None:
        skip(f"{what}: fleetlens-hub --check accepts the ConfigMap's clusters.yaml", "no fleetlens-hub in FL_BIN")
        return cfg
    root = os.path.join(WORK, name, "root")
    mounts_all = pod_root(objs, dep, root)
    local = root + path
    with open(local, "w") as f:
        f.write(relocate(text, mounts_all, root))
    rc, out = run([hub_bin, "--config", local, "--check"], env={**os.environ, **env})
    n = len(cfg.get("clusters", []))
    check(f"{what}: fleetlens-hub --check accepts the ConfigMap's clusters.yaml with the mounted Secrets",
          rc == 0 and f"ok ({n} clusters)" in out, f"exit {rc}: {out}")
    return cfg


# --- the spoke overlay --------------------------------------------------------------------------------

RBAC_WANT = {(g, r, v) for g, r in (("", "nodes"), ("", "pods"), ("apps", "replicasets"), ("batch", "jobs"))
             for v in ("get", "list", "watch")}


def check_key_and_hub(what, cfg, mounts, objs, hub_cfg):
    """A spoke.yaml of either role: its key and TLS files lie in mounted volumes, and (given the hub overlay's
    clusters.yaml) its cluster is registered there and its hub_url has the hub's ingest scheme and port."""
    files = [cfg.get("key_file")] + [v for kk, v in (cfg.get("tls") or {}).items() if kk != "server_name"]
    missing = [f for f in files if not under_mount(f, mounts, objs)[1]]
    check(f"{what}: key_file and tls files are mounted", not missing, f"not in any mounted volume: {missing}")
    if hub_cfg is not None:
        names = [c["name"] for c in hub_cfg.get("clusters", [])]
        check(f"{what}: cluster '{cfg.get('cluster')}' is registered in the hub overlay's clusters.yaml",
              cfg.get("cluster") in names, f"hub has {names}")
        hub_url, ingest = cfg.get("hub_url", ""), hub_cfg["hub"]["ingest_url"]
        check(f"{what}: hub_url {hub_url} has the hub's ingest scheme and port ({ingest})",
              hub_url.split("://")[0] == ingest.split("://")[0] and port_of(hub_url) == port_of(ingest),
              "scheme or port differ")


def check_spoke(name, hub_cfg):
    what = name
    objs = render(name)
    k = kinds(objs)
    want = {"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "ConfigMap": 2,
            "Secret": 1, "Deployment": 1}
    check(f"{what}: renders exactly {want} (no DaemonSet: the node role is overlays/spoke-node)", k == want,
          f"got {k}")
    dep = find(objs, "Deployment", "fleetlens-spoke")
    if not check(f"{what}: Deployment fleetlens-spoke", len(dep) == 1, "missing"):
        return
    dep = dep[0]
    spec = dep["spec"]
    check(f"{what}: 1 replica, strategy Recreate (two spokes never share a stream)",
          spec.get("replicas") == 1 and spec.get("strategy", {}).get("type") == "Recreate",
          f"replicas {spec.get('replicas')}, strategy {spec.get('strategy')}")
    security(dep, what, 10001)
    pspec = spec["template"]["spec"]
    sa = pspec.get("serviceAccountName")
    ns = dep["metadata"].get("namespace")
    check(f"{what}: runs as ServiceAccount {sa} with its token mounted (in-cluster credentials)",
          len(find(objs, "ServiceAccount", sa)) == 1 and pspec.get("automountServiceAccountToken", True),
          "ServiceAccount missing or token not mounted")
    # RBAC: exactly get/list/watch on core nodes and pods, apps ReplicaSets and batch Jobs (what
    # spoke/spoke_kube.c lists), bound to that ServiceAccount only.
    triples, extra = set(), []
    for cr in find(objs, "ClusterRole"):
        for rule in cr.get("rules", []):
            if set(rule) - {"apiGroups", "resources", "verbs"}:
                extra.append(sorted(set(rule) - {"apiGroups", "resources", "verbs"}))
            triples |= {(g, r, v) for g in rule.get("apiGroups", []) for r in rule.get("resources", [])
                        for v in rule.get("verbs", [])}
    check(f"{what}: the ClusterRole allows exactly get/list/watch on nodes, pods, replicasets and jobs",
          triples == RBAC_WANT and not extra,
          f"extra {sorted(triples - RBAC_WANT)}, missing {sorted(RBAC_WANT - triples)}, other fields {extra}")
    check(f"{what}: no Role, RoleBinding or other RBAC object", not find(objs, "Role") and not find(objs, "RoleBinding"),
          "found some")
    crb = find(objs, "ClusterRoleBinding")
    subj = crb[0].get("subjects", []) if crb else []
    check(f"{what}: the ClusterRoleBinding grants it to {ns}/{sa} only",
          len(crb) == 1 and crb[0]["roleRef"]["name"] == find(objs, "ClusterRole")[0]["metadata"]["name"]
          and subj == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}], f"subjects {subj}")
    path, text, mounts = container_config(objs, dep, what)
    if text is None:
        return
    cfg = yaml.safe_load(text)
    documented = readme_keys("Spoke")
    documented |= {"tls", "sources", "sources.sim", "sources.kube"}  # sections; sources.kube: issue 3
    keys = flat_keys(cfg)
    check(f"{what}: every spoke.yaml key is in the README's Spoke table (sources.kube: issue 3)",
          keys <= documented, f"not documented: {sorted(keys - documented)}")
    check_metrics(what, dep, cfg)
    check(f"{what}: sources is exactly the kube source with in-cluster credentials ({{kube: {{}}}})",
          cfg.get("sources") == {"kube": {}}, f"sources {cfg.get('sources')}")
    vols = {v["name"]: v for v in pspec.get("volumes", [])}
    spool = mounts.get(cfg.get("spool_dir"))
    check(f"{what}: spool_dir {cfg.get('spool_dir')} is a writable emptyDir mount (the root is read-only)",
          spool is not None and "emptyDir" in spool and not any(
              m.get("readOnly") for m in pspec["containers"][0]["volumeMounts"] if m["mountPath"] == cfg.get("spool_dir")),
          f"mounts {sorted(mounts)}")
    check_key_and_hub(what, cfg, mounts, objs, hub_cfg)
    spoke_bin = binary("fleetlens-spoke")
    if spoke_bin is None:
        skip(f"{what}: fleetlens-spoke accepts the ConfigMap's spoke.yaml", "no fleetlens-spoke in FL_BIN")
        return
    root = os.path.join(WORK, name, "root")
    mounts_all = pod_root(objs, dep, root)
    local = root + path
    moved = relocate(text, mounts_all, root)
    os.makedirs(root + cfg["spool_dir"], exist_ok=True)
    # The spoke has no --check: --once --dry-run loads the config (exit 2 on any mistake), then collects
    # one cycle offline and prints it. With the kube source that needs a cluster, so the real file is
    # checked for exit != 2 (configuration accepted), and a copy with the sim source for a full dry run.
    sim = re.sub(r"^sources:.*\Z", "sources:\n  sim: {nodes: 2}\n", moved, flags=re.M | re.S)
    with open(local + ".sim.yaml", "w") as f:
        f.write(sim)
    rc, out = run([spoke_bin, "--config", local + ".sim.yaml", "--once", "--dry-run"])
    check(f"{what}: fleetlens-spoke --once --dry-run accepts spoke.yaml (sources swapped for sim) with the "
          "mounted key and CA", rc == 0 and '"cluster": "%s"' % cfg.get("cluster") in out, f"exit {rc}: {out[-400:]}")
    with open(local, "w") as f:
        f.write(moved)
    rc, out = run([spoke_bin, "--config", local, "--once", "--dry-run"])
    if rc == 2 and "key 'kube': unknown key" in out:
        skip(f"{what}: fleetlens-spoke accepts spoke.yaml as written", "this build has no kube source yet (issue 3)")
    else:
        check(f"{what}: fleetlens-spoke accepts spoke.yaml as written (exit is not 2)", rc != 2, f"exit {rc}: {out}")


def check_metrics(what, obj, cfg):
    """spoke.yaml's metrics_listen port is the container's port 'metrics', liveness GETs /livez on it (a stuck
    loop only; generous: periodSeconds 20, failureThreshold 3), readiness /healthz, and the pod template carries the
    Prometheus scrape annotations for that port and /metrics."""
    listen = cfg.get("metrics_listen") or ""
    port = port_of(listen)
    if not check(f"{what}: spoke.yaml sets metrics_listen on all interfaces (0.0.0.0:PORT)",
                 port is not None and listen.startswith("0.0.0.0:"), f"metrics_listen {listen!r}"):
        return
    tmpl = obj["spec"]["template"]
    c = tmpl["spec"]["containers"][0]
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    check(f"{what}: containerPort 'metrics' is metrics_listen's port ({port})", ports.get("metrics") == port,
          f"ports {ports}")

    def probe(name):
        p = c.get(name) or {}
        g = p.get("httpGet", {})
        return g.get("path"), ports.get(g.get("port"), g.get("port")), p

    path, pport, live = probe("livenessProbe")
    check(f"{what}: livenessProbe GET /livez on port {port}, periodSeconds 20, failureThreshold 3",
          (path, pport) == ("/livez", port) and live.get("periodSeconds") == 20
          and live.get("failureThreshold") == 3, f"got {live}")
    path, pport, ready = probe("readinessProbe")
    check(f"{what}: readinessProbe GET /healthz on port {port}", (path, pport) == ("/healthz", port), f"got {ready}")
    ann = tmpl.get("metadata", {}).get("annotations", {}) or {}
    want = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    check(f"{what}: pod annotations prometheus.io/scrape \"true\", port \"{port}\", path /metrics",
          {k: ann.get(k) for k in want} == want, f"annotations {ann}")


# --- the node-role overlay ---------------------------------------------------------------------------

def mebibytes(q):
    """A Kubernetes memory quantity ("64Mi", "1Gi", "33554432") in MiB, or None."""
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(q))
    if m is None:
        return None
    return int(m.group(1)) * {None: 1 / 2**20, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}[m.group(2)]


def code_spoke_keys():
    """The top-level keys spoke/spoke_config.c's load() accepts (its keys[] table)."""
    with open(os.path.join(REPO, "spoke/spoke_config.c")) as f:
        text = f.read()
    m = re.search(r"static int load\(fl_yaml_doc.*?keys\[\] = \{(.*?)NULL\}", text, re.S)
    return set(re.findall(r'"([a-z_]+)"', m.group(1))) if m else set()


def code_host_dirs():
    """The folders under host_root the node role's collectors open (spoke/spoke_node*.c): the first part
    of each literal path given to spoke_node_read_open_dir(host_root, ...) or formatted into one."""
    dirs = set()
    for fn in sorted(os.listdir(os.path.join(REPO, "spoke"))):
        if fn.startswith("spoke_node") and fn.endswith(".c"):
            with open(os.path.join(REPO, "spoke", fn)) as f:
                text = f.read()
            dirs |= set(re.findall(r'spoke_node_read_open_dir\(\s*host_root\s*,\s*"([^"/]+)', text))
            dirs |= set(re.findall(r'snprintf\(\s*sub\s*,[^;]*?"([^"/%]+)/', text))
    return dirs


NODE_CAPS = {"SYS_PTRACE", "DAC_READ_SEARCH"}


def check_spoke_node(name, hub_cfg):
    what = name
    objs = render(name)
    k = kinds(objs)
    want = {"Namespace": 1, "ServiceAccount": 1, "ConfigMap": 2, "Secret": 1, "DaemonSet": 1}
    check(f"{what}: renders exactly {want}", k == want, f"got {k}")
    rbac = [o["kind"] for o in objs if o["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")]
    check(f"{what}: no RBAC at all (no Role, ClusterRole or binding): it never reads the Kubernetes API",
          not rbac, f"found {rbac}")
    ds = find(objs, "DaemonSet", "fleetlens-spoke-node")
    if not check(f"{what}: DaemonSet fleetlens-spoke-node", len(ds) == 1, "missing"):
        return None
    ds = ds[0]
    pspec = ds["spec"]["template"]["spec"]
    c = pspec["containers"][0]
    ns = ds["metadata"].get("namespace")
    nsobj = find(objs, "Namespace", ns)
    level = nsobj[0]["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") if nsobj else None
    check(f"{what}: its namespace {ns} is its own (not the cluster role's) and enforces Pod Security 'privileged'",
          ns not in (None, "fleetlens") and level == "privileged", f"namespace {ns}, enforce {level}")
    sa = pspec.get("serviceAccountName")
    sa_obj = find(objs, "ServiceAccount", sa)
    check(f"{what}: its own ServiceAccount {sa}, no token mounted (pod and ServiceAccount say so)",
          sa not in (None, "default", "fleetlens-spoke") and len(sa_obj) == 1
          and pspec.get("automountServiceAccountToken") is False
          and sa_obj[0].get("automountServiceAccountToken") is False,
          f"serviceAccountName {sa}, pod automount {pspec.get('automountServiceAccountToken')}, "
          f"ServiceAccount {sa_obj[0].get('automountServiceAccountToken') if sa_obj else 'missing'}")
    check(f"{what}: hostPID true (the node's processes), hostNetwork and hostIPC off",
          pspec.get("hostPID") is True and not pspec.get("hostNetwork") and not pspec.get("hostIPC"),
          f"hostPID {pspec.get('hostPID')}, hostNetwork {pspec.get('hostNetwork')}, hostIPC {pspec.get('hostIPC')}")
    psc, csc = pspec.get("securityContext", {}), c.get("securityContext", {})
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    check(f"{what}: runs as UID 0 (added capabilities reach only root) and is not privileged",
          uid == 0 and not csc.get("privileged") and psc.get("runAsNonRoot") is not True
          and csc.get("runAsNonRoot") is not True, f"pod {psc}, container {csc}")
    caps = csc.get("capabilities", {})
    check(f"{what}: read-only root, no privilege escalation, capabilities drop ALL and add exactly {sorted(NODE_CAPS)}",
          csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
          and caps.get("drop") == ["ALL"] and sorted(caps.get("add", [])) == sorted(NODE_CAPS),
          f"container securityContext {csc}")
    check(f"{what}: seccomp RuntimeDefault", (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
          f"pod securityContext {psc}")
    tol = pspec.get("tolerations", [])
    check(f"{what}: tolerates every taint (GPU nodes are tainted): a toleration with operator Exists and no key",
          any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t for t in tol), f"tolerations {tol}")
    env = {e["name"]: e for e in c.get("env", [])}
    src = ((env.get("NODE_NAME") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
    check(f"{what}: NODE_NAME comes from the downward API (spec.nodeName)", src == "spec.nodeName",
          f"env {c.get('env')}")
    path, text, mounts = container_config(objs, ds, what)
    if text is None:
        return None
    cfg = yaml.safe_load(text)
    check_metrics(what, ds, cfg)
    res = c.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    # The node role's target is under 20 MiB RSS; the limit must hold that and the spool's memory part.
    spool_mem = cfg.get("spool_memory_bytes", 8 << 20) / 2**20
    lim_mem, req_mem = mebibytes(lim.get("memory")), mebibytes(req.get("memory"))
    check(f"{what}: requests cpu and memory (>= the 20 MiB RSS target), a memory limit >= 20 MiB + "
          f"spool_memory_bytes ({spool_mem:g} MiB)",
          "cpu" in req and req_mem is not None and req_mem >= 20 and lim_mem is not None
          and lim_mem >= 20 + spool_mem and lim_mem >= req_mem, f"resources {res}")

    # spoke.yaml: the node role, host_root the mounts' parent, no sources; keys the code and README know.
    host_root = cfg.get("host_root")
    check(f"{what}: spoke.yaml says role: node, host_root: /host, and has no sources",
          cfg.get("role") == "node" and host_root == "/host" and "sources" not in cfg,
          f"role {cfg.get('role')}, host_root {host_root}, sources {cfg.get('sources')}")
    keys = flat_keys(cfg)
    code_keys = code_spoke_keys()
    top = {kk.split(".")[0] for kk in keys}
    check(f"{what}: every top-level spoke.yaml key is one spoke_config.c reads", code_keys and top <= code_keys,
          f"unknown to the code: {sorted(top - code_keys)}")
    documented = readme_keys("Spoke") | {"tls"}
    node_keys = {"role", "host_root", "node_name", "nvml_library"}
    check(f"{what}: every other spoke.yaml key is in the README's Spoke table", keys - node_keys <= documented,
          f"not documented: {sorted(keys - node_keys - documented)}")
    if node_keys & documented:
        check(f"{what}: the node-role keys it uses are in the README's Spoke table", keys & node_keys <= documented,
              f"not documented: {sorted((keys & node_keys) - documented)}")
    else:
        skip(f"{what}: the node-role keys it uses are in the README's Spoke table",
             "the top README's Spoke table lists no node-role key (role, host_root, ...) yet")

    # Host paths: exactly host_root/<d> for each folder the collectors open, each from the host's /<d>,
    # read-only; no other hostPath.
    vols = {v["name"]: v for v in pspec.get("volumes", [])}
    host = {}
    ro = {}
    for m in c.get("volumeMounts", []):
        v = vols.get(m["name"], {})
        if "hostPath" in v:
            host[m["mountPath"]] = v["hostPath"]["path"]
            ro[m["mountPath"]] = m.get("readOnly") is True
    dirs = code_host_dirs()
    want_host = {f"{host_root}/{d}": f"/{d}" for d in dirs}
    check(f"{what}: the collectors open {sorted(dirs)} under host_root (read from spoke/spoke_node*.c)",
          dirs == {"sys", "proc"}, f"found {sorted(dirs)}: update the DaemonSet's host mounts and this check")
    check(f"{what}: hostPath mounts are exactly {want_host} (mount: host path)", host == want_host, f"got {host}")
    check(f"{what}: every hostPath mount is readOnly", host and all(ro.values()),
          f"not read-only: {sorted(p for p, r in ro.items() if not r)}")
    unmounted = [v["name"] for v in pspec.get("volumes", []) if "hostPath" in v and v["hostPath"]["path"] not in host.values()]
    check(f"{what}: no hostPath volume besides those mounts", not unmounted, f"also {unmounted}")

    spool = mounts.get(cfg.get("spool_dir"))
    size = mebibytes((spool or {}).get("emptyDir", {}).get("sizeLimit"))
    spool_max = cfg.get("spool_max_bytes", 256 << 20) / 2**20
    check(f"{what}: spool_dir {cfg.get('spool_dir')} is a writable emptyDir of at least spool_max_bytes "
          f"({spool_max:g} MiB)",
          spool is not None and "emptyDir" in spool and size is not None and size >= spool_max and not any(
              m.get("readOnly") for m in c["volumeMounts"] if m["mountPath"] == cfg.get("spool_dir")),
          f"mounts {sorted(mounts)}, sizeLimit {size}")
    check_key_and_hub(what, cfg, mounts, objs, hub_cfg)
    for kind_, n in (("ConfigMap", "fleetlens-spoke-node-config"), ("Secret", "fleetlens-spoke-node-key")):
        check(f"{what}: {kind_} {n} (not the cluster role's name)",
              any(o["metadata"]["name"] == n or o["metadata"]["name"].startswith(n + "-") for o in find(objs, kind_)),
              f"{kind_}s {[o['metadata']['name'] for o in find(objs, kind_)]}")

    spoke_bin = binary("fleetlens-spoke")
    if spoke_bin is None:
        skip(f"{what}: fleetlens-spoke --once --dry-run accepts spoke.yaml", "no fleetlens-spoke in FL_BIN")
        return ds
    root = os.path.join(WORK, name, "root")
    mounts_all = pod_root(objs, ds, root)
    os.makedirs(root + cfg["spool_dir"], exist_ok=True)
    # host_root: a fixture node (2 AMD GPUs, RDMA devices, GPU jobs) where the pod has the host's / .
    tree = os.path.join(REPO, "tests/node_fixtures/make_tree.sh")
    moved = relocate(text, mounts_all, root)
    moved, n_sub = re.subn(r"^host_root:\s*" + re.escape(host_root) + r"(?=\s|$)", "host_root: " + root + host_root,
                           moved, flags=re.M)
    check(f"{what}: host_root moved under the test's pod root", n_sub == 1, f"{n_sub} host_root lines")
    local = root + path
    with open(local, "w") as f:
        f.write(moved)
    env = {**os.environ, "NODE_NAME": "gpu-node-7"}
    if not os.access(tree, os.X_OK):
        rc, out = run([spoke_bin, "--config", local, "--once", "--dry-run"], env=env)
        skip(f"{what}: --once --dry-run on a fixture node", "no tests/node_fixtures/make_tree.sh")
        check(f"{what}: fleetlens-spoke accepts spoke.yaml as written (exit is not 2)", rc != 2, f"exit {rc}: {out}")
        return ds
    rc, out = run([tree, root + host_root, "--amd", "2"])
    if not check(f"{what}: make_tree.sh makes a fixture node at host_root", rc == 0, f"exit {rc}: {out[-400:]}"):
        return ds
    p = subprocess.run([spoke_bin, "--config", local, "--once", "--dry-run"], capture_output=True, text=True,
                       env=env, timeout=60)
    try:
        frame = json.loads(p.stdout)
    except ValueError:
        frame = {}
    host_ = frame.get("host") or {}
    got = (p.returncode, (frame.get("envelope") or {}).get("kind"), (frame.get("envelope") or {}).get("cluster"),
           host_.get("node"), host_.get("gpu_source"), len(frame.get("gpus") or []))
    check(f"{what}: fleetlens-spoke --once --dry-run with spoke.yaml as written, NODE_NAME=gpu-node-7 and a fixture "
          "node (make_tree.sh --amd 2) prints a node frame of alpha for gpu-node-7 with its 2 AMD GPUs",
          got == (0, "node", cfg.get("cluster"), "gpu-node-7", "amd", 2), f"got {got}; stderr {p.stderr[-400:]}")
    check(f"{what}: ... and its RDMA devices and GPU jobs (the fixture's /sys and /proc read under host_root)",
          len(frame.get("rdma") or []) > 0 and len(frame.get("jobs") or []) > 0,
          f"rdma {len(frame.get('rdma') or [])}, jobs {len(frame.get('jobs') or [])}")
    return ds


# --- container files ----------------------------------------------------------------------------------

def runtime_packages(dockerfile):
    """The packages the last stage's apt-get install names."""
    with open(dockerfile) as f:
        text = f.read()
    last = text[text.rindex("\nFROM "):].replace("\\\n", " ")
    m = re.search(r"apt-get install (.*?)(&&|$)", last, re.M)
    return {w for w in m.group(1).split() if not w.startswith("-")} if m else set()


def linked_packages(bin_path):
    """Debian packages of the libraries bin_path names in its ELF NEEDED entries (libc excluded)."""
    out = run(["ldd", bin_path])[1]
    pkgs = set()
    needed = run(["objdump", "-p", bin_path])[1]
    names = set(re.findall(r"NEEDED\s+(\S+)", needed)) - {"libc.so.6", "libm.so.6", "libpthread.so.0"}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and m.group(1) in names:
            rc2, owner = run(["dpkg", "-S", os.path.realpath(m.group(2))])
            pkgs.add(owner.split(":")[0] if rc2 == 0 else "?" + m.group(1))
    return pkgs


def build_context(role):
    """(the COPY sources of the stage that runs cmake, the .dockerignore's allowed paths) of Dockerfile.<role>."""
    with open(os.path.join(REPO, f"deploy/container/Dockerfile.{role}")) as f:
        text = f.read()
    build = next((st for st in text.split("\nFROM ") if "cmake -S" in st), "")  # the stage that configures
    srcs = []
    for line in build.splitlines():
        m = re.match(r"COPY\s+(?!--from)(.+?)\s+\S+\s*$", line)
        if m:
            srcs += m.group(1).split()
    with open(os.path.join(REPO, f"deploy/container/Dockerfile.{role}.dockerignore")) as f:
        allowed = [ln[1:].strip().rstrip("/") for ln in f if ln.startswith("!")]
    return srcs, allowed


def check_build_context(role):
    """The build stage configures with only what it copies: cmake -S on a copy of exactly those paths."""
    srcs, allowed = build_context(role)
    blocked = [x for x in srcs if not any(x == a or x.startswith(a + "/") for a in allowed)]
    check(f"Dockerfile.{role}: every path the build stage copies passes its .dockerignore", not blocked,
          f"left out of the context: {blocked}")
    if run(["sh", "-c", "command -v cmake"])[0] != 0:
        skip(f"Dockerfile.{role}: the build stage's copies are enough for CMakeLists.txt to configure", "no cmake")
        return
    ctx = os.path.join(WORK, f"docker-{role}")
    for x in srcs:
        src, dst = os.path.join(REPO, x), os.path.join(ctx, "src", x)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(src):
            subprocess.run(["cp", "-r", src, dst], check=False)
        elif os.path.exists(src):
            subprocess.run(["cp", src, dst], check=False)
    rc, out = run(["cmake", "-S", os.path.join(ctx, "src"), "-B", os.path.join(ctx, "build"),
                   "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
    missing = sorted(set(re.findall(r"Cannot find source file:\s+(\S+)", out)))
    check(f"Dockerfile.{role}: the build stage's copies ({' '.join(srcs)}) are enough for CMakeLists.txt to "
          "configure", rc == 0, f"cmake exit {rc}; missing {missing}" if missing else f"cmake exit {rc}: {out[-400:]}")


def check_containers(deps):
    for role in ("hub", "spoke"):
        path = os.path.join(REPO, f"deploy/container/Dockerfile.{role}")
        with open(path) as f:
            text = f.read()
        final = text[text.rindex("\nFROM "):]
        check(f"Dockerfile.{role}: multi-stage, runtime stage debian:12-slim",
              text.count("\nFROM ") >= 1 and final.startswith("\nFROM debian:12-slim"), "last FROM is not debian:12-slim")
        m = re.search(r"^USER (\d+)(:\d+)?$", final, re.M)
        check(f"Dockerfile.{role}: runs as numeric non-root user 10001 (the Deployment's runAsUser; the node "
              "role's DaemonSet sets 0)",
              m is not None and m.group(1) == "10001", "no USER 10001")
        cmd = re.search(r'^CMD \["--config", "([^"]+)"\]', final, re.M)
        for key in (role, "spoke-node") if role == "spoke" else (role,):
            dep = deps.get(key)
            if dep is None:
                continue
            args = dep["spec"]["template"]["spec"]["containers"][0].get("args", [])
            check(f"Dockerfile.{role}: CMD's config path is the {dep['kind']}'s ({args[-1] if args else None})",
                  cmd is not None and args[-1:] == [cmd.group(1)], f"CMD {cmd.group(1) if cmd else None}")
        if os.path.exists(os.path.join(REPO, f"deploy/container/Dockerfile.{role}.dockerignore")):
            ok(f"Dockerfile.{role}.dockerignore exists")
            check_build_context(role)
        else:
            bad(f"Dockerfile.{role}.dockerignore exists", "missing")
        b = binary(f"fleetlens-{role}")
        if b is None or run(["sh", "-c", "command -v dpkg && command -v objdump"])[0] != 0:
            skip(f"Dockerfile.{role}: runtime packages are exactly the linked libraries' packages",
                 "no binary, dpkg or objdump")
            continue
        want, have = linked_packages(b), runtime_packages(path)
        check(f"Dockerfile.{role}: runtime packages are exactly the linked libraries' packages {sorted(want)}",
              want == have, f"Dockerfile installs {sorted(have)}")
    with open(os.path.join(REPO, "deploy/container/Dockerfile.hub")) as f:
        hub = f.read()
    check("Dockerfile.hub: EXPOSE 7100 8080 and a HEALTHCHECK on /healthz",
          re.search(r"^EXPOSE 7100 8080$", hub, re.M) is not None and "HEALTHCHECK" in hub and "/healthz" in hub,
          "missing")


def main():
    hub_cfg = check_hub("hub-prod")
    check_spoke("spoke-cluster", hub_cfg)
    ds = check_spoke_node("spoke-node", hub_cfg)
    deps = {}
    for role, ov in (("hub", "hub-prod"), ("spoke", "spoke-cluster")):
        d = find(render(ov), "Deployment")
        deps[role] = d[0] if d else None
    deps["spoke-node"] = ds
    check_containers(deps)


if __name__ == "__main__":
    main()
