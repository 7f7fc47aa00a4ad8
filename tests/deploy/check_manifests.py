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
    files = [c_["key_file"] for c_ in cfg.get("clusters", [])] + [t["token_file"] for t in hub.get("api_tokens", [])]
    files += [v for v in (hub.get("tls") or {}).values()]
    missing = [f for f in files if not under_mount(f, mounts, objs)[1]]
    check(f"{what}: the {len(files)} key, token and TLS files clusters.yaml names are mounted", not missing,
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


def check_spoke(name, hub_cfg):
    what = name
    objs = render(name)
    k = kinds(objs)
    want = {"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "ConfigMap": 2,
            "Secret": 1, "Deployment": 1}
    check(f"{what}: renders exactly {want} (no DaemonSet: the node role is a later issue)", k == want, f"got {k}")
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
    check(f"{what}: sources is exactly the kube source with in-cluster credentials ({{kube: {{}}}})",
          cfg.get("sources") == {"kube": {}}, f"sources {cfg.get('sources')}")
    vols = {v["name"]: v for v in pspec.get("volumes", [])}
    spool = mounts.get(cfg.get("spool_dir"))
    check(f"{what}: spool_dir {cfg.get('spool_dir')} is a writable emptyDir mount (the root is read-only)",
          spool is not None and "emptyDir" in spool and not any(
              m.get("readOnly") for m in pspec["containers"][0]["volumeMounts"] if m["mountPath"] == cfg.get("spool_dir")),
          f"mounts {sorted(mounts)}")
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


def check_containers(deps):
    for role in ("hub", "spoke"):
        path = os.path.join(REPO, f"deploy/container/Dockerfile.{role}")
        with open(path) as f:
            text = f.read()
        final = text[text.rindex("\nFROM "):]
        check(f"Dockerfile.{role}: multi-stage, runtime stage debian:12-slim",
              text.count("\nFROM ") >= 1 and final.startswith("\nFROM debian:12-slim"), "last FROM is not debian:12-slim")
        m = re.search(r"^USER (\d+)(:\d+)?$", final, re.M)
        check(f"Dockerfile.{role}: runs as numeric non-root user 10001 (the manifests' runAsUser)",
              m is not None and m.group(1) == "10001", "no USER 10001")
        cmd = re.search(r'^CMD \["--config", "([^"]+)"\]', final, re.M)
        dep = deps.get(role)
        if dep is not None:
            args = dep["spec"]["template"]["spec"]["containers"][0].get("args", [])
            check(f"Dockerfile.{role}: CMD's config path is the manifests' ({args[-1] if args else None})",
                  cmd is not None and args[-1:] == [cmd.group(1)], f"CMD {cmd.group(1) if cmd else None}")
        if os.path.exists(os.path.join(REPO, f"deploy/container/Dockerfile.{role}.dockerignore")):
            ok(f"Dockerfile.{role}.dockerignore exists")
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
    deps = {}
    for role, ov in (("hub", "hub-prod"), ("spoke", "spoke-cluster")):
        d = find(render(ov), "Deployment")
        deps[role] = d[0] if d else None
    check_containers(deps)


if __name__ == "__main__":
    main()
