#!/usr/bin/env python3
"""kube_standin.py — a stand-in for the Kubernetes API server (kube-apiserver, core/v1) for FleetLens tests.

It serves what the spoke's `kube` source uses of the real server, with the real server's shapes:
  GET /api/v1/nodes/NAME                   one Node (counted as "get": the replaced system's per-node call)
  GET /api/v1/nodes, /api/v1/pods          NodeList / PodList, paged by `limit` and `continue`; the
                                           list's metadata.resourceVersion; pods honour
                                           fieldSelector=status.phase!=X[,status.phase!=Y]
  GET /apis/apps/v1/replicasets,           ReplicaSetList / JobList, the same way (what the spoke
      /apis/batch/v1/jobs                  follows pods' ownerReferences through); --forbid KIND answers
                                           403 for that kind, as a ClusterRole without it would
  GET ...?watch=1&resourceVersion=RV       a chunked stream of {"type":ADDED|MODIFIED|DELETED|BOOKMARK|
                                           ERROR,"object":...} lines; BOOKMARKs with allowWatchBookmarks;
                                           ends after timeoutSeconds; an object that stops matching the
                                           field selector is sent as DELETED (as the real server does)
  410 Gone                                 a watch from a resourceVersion older than the oldest kept one
                                           gets an ERROR event with a 410 Status (what kube-apiserver
                                           sends for "too old resource version"); a LIST continue token
                                           of an expired list gets HTTP 410
  401                                      without "Authorization: Bearer <token>" (the token file is
                                           re-read on each request, so tests can rotate it)
Test control (no auth, never counted): /control/counts, /control/objects?kind=, /control/apply?kind=,
/control/delete?kind=&name=|uid=, /control/node?name=&ready=|taint=key:effect|untaint=key|
allocatable=res:value, /control/expire?kind=, /control/malformed?kind=, /control/oversized?kind=&bytes=.
With --tls-cert/--tls-key it serves HTTPS (and with --client-ca requires a client certificate).
Fixtures: `small` (mixed vendors, NotReady/Unknown/cordoned nodes, benign and fault taints, init
containers, terminating, finished and unbound pods) or `scale` (--nodes N --pods-per-node K).
Python 3 standard library only.
"""
import argparse
import base64
import copy
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KINDS = ("nodes", "pods", "replicasets", "jobs")
LIST_KIND = {"nodes": "NodeList", "pods": "PodList", "replicasets": "ReplicaSetList", "jobs": "JobList"}
OBJ_KIND = {"nodes": "Node", "pods": "Pod", "replicasets": "ReplicaSet", "jobs": "Job"}
API_VERSION = {"nodes": "v1", "pods": "v1", "replicasets": "apps/v1", "jobs": "batch/v1"}
PATHS = {"/api/v1/nodes": "nodes", "/api/v1/pods": "pods", "/apis/apps/v1/replicasets": "replicasets",
         "/apis/batch/v1/jobs": "jobs"}


class State:
    def __init__(self):
        self.cv = threading.Condition()
        self.rv = 0
        self.min_rv = {k: 0 for k in KINDS}
        self.expire_gen = {k: 0 for k in KINDS}
        self.objs = {k: {} for k in KINDS}
        self.events = {k: [] for k in KINDS}  # (rv, type, obj, old) or (rv, "RAW", bytes, None)
        self.counts = {"list": {k: 0 for k in KINDS}, "watch": {k: 0 for k in KINDS}, "unauthorized": 0,
                       "gone": 0}

    @staticmethod
    def key(kind, obj):
        return obj["metadata"]["name"] if kind == "nodes" else obj["metadata"]["uid"]

    def apply(self, kind, obj, record=True):
        with self.cv:
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            k = self.key(kind, obj)
            old = self.objs[kind].get(k)
            self.objs[kind][k] = obj
            if record:
                self.events[kind].append((self.rv, "MODIFIED" if old else "ADDED", obj, old))
            self.cv.notify_all()

    def delete(self, kind, k):
        with self.cv:
            old = self.objs[kind].pop(k, None)
            if old is None:
                return False
            self.rv += 1
            obj = copy.deepcopy(old)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.events[kind].append((self.rv, "DELETED", obj, old))
            self.cv.notify_all()
            return True

    def raw(self, kind, data):
        with self.cv:
            self.rv += 1
            self.events[kind].append((self.rv, "RAW", data, None))
            self.cv.notify_all()


def quantity_str(v):
    return str(v)


def make_node(name, vendor, gpus, ready="True", unschedulable=False, taints=(), alloc_gpus=None, ip="10.0.0.1"):
    res = {"amd": "amd.com/gpu", "nvidia": "nvidia.com/gpu", "ascend": "huawei.com/Ascend910"}.get(vendor)
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "node.kubernetes.io/instance-type": "bare-metal"}
    if vendor == "amd":
        labels["amd.com/gpu.product-name"] = "AMD_Instinct_MI300X_OAM"
        labels["amd.com/gpu.family"] = "AI"
    elif vendor == "nvidia":
        labels["nvidia.com/gpu.product"] = "NVIDIA-H100-80GB-HBM3"
        labels["nvidia.com/gpu.count"] = str(gpus)
    elif vendor == "ascend":
        labels["node.kubernetes.io/npu.chip.name"] = "910B3"
        labels["accelerator"] = "huawei-Ascend910"
    cap = {"cpu": "192", "memory": "2113645Mi", "ephemeral-storage": "7441183336Ki", "pods": "110",
           "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    alloc = {"cpu": "191500m", "memory": "2111548Mi", "ephemeral-storage": "6857750505838", "pods": "110",
             "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    if res:
        cap[res] = str(gpus)
        alloc[res] = str(gpus if alloc_gpus is None else alloc_gpus)
    now = "2026-11-20T08:00:00Z"
    conds = [{"type": t, "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now,
              "reason": "Kubelet" + r, "message": m}
             for t, r, m in (("MemoryPressure", "HasSufficientMemory", "kubelet has sufficient memory available"),
                             ("DiskPressure", "HasNoDiskPressure", "kubelet has no disk pressure"),
                             ("PIDPressure", "HasSufficientPID", "kubelet has sufficient PID available"))]
    conds.append({"type": "Ready", "status": ready, "lastHeartbeatTime": now, "lastTransitionTime": now,
                  "reason": {"True": "KubeletReady", "False": "KubeletNotReady"}.get(ready, "NodeStatusUnknown"),
                  "message": {"True": "kubelet is posting ready status", "False": "container runtime is down"}
                  .get(ready, "Kubelet stopped posting node status.")})
    spec = {"podCIDR": "10.244.1.0/24", "providerID": "baremetal://" + name}
    if unschedulable:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "uid": "node-uid-" + name, "creationTimestamp": "2026-01-05T10:00:00Z",
                         "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec,
            "status": {"capacity": cap, "allocatable": alloc, "conditions": conds,
                       "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"machineID": "0" * 32, "systemUUID": "4c4c4544-0000", "bootID": "b-" + name,
                                    "kernelVersion": "5.15.0-105-generic", "osImage": "Ubuntu 22.04.4 LTS",
                                    "containerRuntimeVersion": "containerd://1.7.13",
                                    "kubeletVersion": "v1.29.4", "kubeProxyVersion": "v1.29.4",
                                    "operatingSystem": "linux", "architecture": "amd64"}}}


def owner_ref(kind, name, uid, api_version, controller=True):
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": controller,
            "blockOwnerDeletion": True}


def make_owned(kind, ns, name, uid, owner=None):
    """A ReplicaSet or Job (kind: replicasets|jobs) with the controller owner (kind, name, uid, apiVersion)."""
    meta = {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": "2026-11-20T08:59:00Z"}
    if owner:
        meta["ownerReferences"] = [owner_ref(*owner)]
    return {"kind": OBJ_KIND[kind], "apiVersion": API_VERSION[kind], "metadata": meta, "spec": {}, "status": {}}


def make_pod(ns, name, node, phase, res=None, reqs=(1,), init_reqs=(), terminating=False, owner=None, labels=None):
    def container(cname, g):
        r = {"cpu": "4", "memory": "32Gi"}
        if res and g:
            r[res] = str(g)
        lim = dict(r)
        return {"name": cname, "image": "registry.example/train:1.0", "resources": {"requests": r, "limits": lim}}
    spec = {"containers": [container("main-%d" % i, g) for i, g in enumerate(reqs)],
            "restartPolicy": "Never", "schedulerName": "default-scheduler", "serviceAccountName": "default"}
    if init_reqs:
        spec["initContainers"] = [container("init-%d" % i, g) for i, g in enumerate(init_reqs)]
    if node:
        spec["nodeName"] = node
    meta = {"name": name, "namespace": ns, "uid": "pod-%s-%s" % (ns, name),
            "creationTimestamp": "2026-11-20T09:00:00Z", "labels": {"app": name.rsplit("-", 1)[0]}}
    meta["labels"].update(labels or {})
    if owner:  # a non-controller reference first: only the controller one names the owner
        meta["ownerReferences"] = [owner_ref("ConfigMap", "not-the-owner", "cm-1", "v1", controller=False),
                                   owner_ref(*owner)]
    if terminating:
        meta["deletionTimestamp"] = "2026-11-25T10:00:00Z"
        meta["deletionGracePeriodSeconds"] = 30
    status = {"phase": phase, "qosClass": "Guaranteed"}
    if node:
        status["hostIP"] = "10.0.0.1"
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def fixture_small(st):
    T = lambda k, e: {"key": k, "effect": e}
    nodes = [
        make_node("amd-0", "amd", 8, taints=[T("amd.com/gpu", "NoSchedule")], ip="10.0.1.10"),
        make_node("amd-1", "amd", 8, ready="False", taints=[T("node.kubernetes.io/not-ready", "NoExecute")],
                  ip="10.0.1.11"),
        make_node("amd-2", "amd", 8, ip="10.0.1.12"),
        make_node("amd-3", "amd", 8, unschedulable=True,
                  taints=[T("node.kubernetes.io/unschedulable", "NoSchedule")], ip="10.0.1.13"),
        make_node("amd-4", "amd", 8, taints=[T("amd.com/gpu.unhealthy", "NoSchedule")], ip="10.0.1.14"),
        make_node("nv-0", "nvidia", 8, taints=[T("nvidia.com/gpu", "NoSchedule")], ip="10.0.2.10"),
        make_node("nv-1", "nvidia", 8, ip="10.0.2.11"),
        make_node("nv-2", "nvidia", 8, ready="Unknown",
                  taints=[T("node.kubernetes.io/unreachable", "NoExecute"),
                          T("node.kubernetes.io/unreachable", "NoSchedule")], ip="10.0.2.12"),
        make_node("nv-3", "nvidia", 8, alloc_gpus=7, ip="10.0.2.13"),
        make_node("nv-4", "nvidia", 8, ip="10.0.2.14"),
        make_node("asc-0", "ascend", 8, taints=[T("huawei.com/Ascend910", "NoSchedule")], ip="10.0.3.10"),
        make_node("cpu-0", None, 0, ip="10.0.9.10"),
        make_node("cpu-1", None, 0, ready="False", ip="10.0.9.11"),
    ]
    A, N, H = "amd.com/gpu", "nvidia.com/gpu", "huawei.com/Ascend910"
    # Owners (FORMAT.md 3.9): a PyTorchJob; a Job of a CronJob; a ReplicaSet of a Deployment; a
    # StatefulSet; a ReplicaSet without a controller; a Job without one; bare pods.
    PT = ("PyTorchJob", "llm-a", "pt-llm-a", "kubeflow.org/v1")
    PREP = ("Job", "prep-29000000", "job-prep", "batch/v1")
    SERVE = ("ReplicaSet", "serve-5d8f", "rs-serve", "apps/v1")
    STS = ("StatefulSet", "cache", "sts-cache", "apps/v1")
    ORPHAN = ("ReplicaSet", "batch-rs", "rs-orphan", "apps/v1")
    ASC = ("Job", "asc-train", "job-asc", "batch/v1")
    # SaFE's labels on the pods of a workload it created (the object is named after the SaFE workload);
    # the Ascend job's pod carries one that is not a valid label value (70 characters): the spoke drops it.
    SAFE = {"primus-safe.workload.id": "llm-a", "primus-safe.k8s.object.id": "llm-a",
            "primus-safe.workload.dispatch.count": "1"}
    BAD_SAFE = {"primus-safe.workload.id": "x" * 70}
    owned = [
        ("jobs", make_owned("jobs", "train", "prep-29000000", "job-prep", ("CronJob", "prep", "cron-prep", "batch/v1"))),
        ("replicasets", make_owned("replicasets", "infer", "serve-5d8f", "rs-serve",
                                   ("Deployment", "serve", "dep-serve", "apps/v1"))),
        ("replicasets", make_owned("replicasets", "infer", "batch-rs", "rs-orphan")),
        ("jobs", make_owned("jobs", "npu", "asc-train", "job-asc")),
    ]
    pods = [
        make_pod("train", "llm-a-0", "amd-0", "Running", A, (4,), owner=PT, labels=SAFE),
        make_pod("train", "llm-a-1", "amd-0", "Running", A, (2, 1), owner=PT, labels=SAFE),
        make_pod("train", "llm-a-2", "amd-1", "Running", A, (8,), owner=PT, labels=SAFE),
        make_pod("train", "init-big", "amd-2", "Running", A, (1, 1), init_reqs=(6,), owner=PREP),  # holds 6, not 2
        make_pod("train", "init-small", "amd-2", "Running", A, (2,), init_reqs=(1,), owner=PREP),  # holds 2, not 3
        make_pod("train", "done-a", "amd-2", "Succeeded", A, (8,)),
        make_pod("train", "failed-a", "amd-3", "Failed", A, (8,)),
        make_pod("train", "cordon-a", "amd-3", "Running", A, (2,)),
        make_pod("infer", "term-nv", "nv-1", "Running", N, (3,), terminating=True, owner=SERVE),  # still holds 3
        make_pod("infer", "serve-nv", "nv-1", "Running", N, (5,), owner=SERVE),
        make_pod("infer", "pend-bound", "nv-3", "Pending", N, (2,), owner=STS),
        make_pod("infer", "full-nv", "nv-3", "Running", N, (5,), owner=SERVE),
        make_pod("infer", "unbound", None, "Pending", N, (8,), owner=ORPHAN),  # no node: holds nothing
        make_pod("infer", "nv4-a", "nv-4", "Running", N, (8,)),
        make_pod("infer", "nv2-a", "nv-2", "Running", N, (4,)),
        make_pod("npu", "asc-job", "asc-0", "Running", H, (4,), init_reqs=(2,), owner=ASC, labels=BAD_SAFE),
        make_pod("kube-system", "coredns-1", "cpu-0", "Running", None, (0,)),
        make_pod("kube-system", "done-cpu", "cpu-0", "Succeeded", None, (0,)),
    ]
    for n in nodes:
        st.apply("nodes", n, record=False)
    for p in pods:
        st.apply("pods", p, record=False)
    for kind, o in owned:
        st.apply(kind, o, record=False)


def fixture_scale(st, n_nodes, per_node):
    vendors = ("amd", "nvidia")
    res = {"amd": "amd.com/gpu", "nvidia": "nvidia.com/gpu"}
    for i in range(n_nodes):
        v = vendors[i % 2]
        st.apply("nodes", make_node("node-%05d" % i, v, 8, ip="10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)),
                 record=False)
        for j in range(per_node):
            st.apply("pods", make_pod("ns-%d" % (j % 7), "p-%05d-%02d" % (i, j), "node-%05d" % i, "Running",
                                      res[v], ((j % 2) + (1 if j == 0 else 0),)), record=False)


def selector_fn(sel):
    if not sel:
        return lambda o: True
    terms = []
    for t in sel.split(","):
        if "!=" in t:
            f, v = t.split("!=", 1)
            terms.append((f, v, False))
        elif "==" in t or "=" in t:
            f, v = t.replace("==", "=").split("=", 1)
            terms.append((f, v, True))

    def get(o, f):
        for p in f.split("."):
            o = o.get(p, {}) if isinstance(o, dict) else {}
        return o if isinstance(o, str) else ""

    return lambda o: o is not None and all((get(o, f) == v) == eq for f, v, eq in terms)


def status(code, reason, msg):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": msg,
            "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    st = None
    args = None

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        # headers and body go out in separate writes: without this each answer waits ~40 ms (Nagle)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        if self.args.verbose:
            BaseHTTPRequestHandler.log_message(self, fmt, *a)

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def authorized(self):
        try:
            with open(self.args.token_file) as f:
                tok = f.read().strip()
        except OSError:
            tok = None
        return tok is not None and self.headers.get("Authorization", "") == "Bearer " + tok

    def do_POST(self):
        self.do_GET()

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path.startswith("/control/"):
            return self.control(u.path[len("/control/"):], q)
        if not self.authorized():
            with self.st.cv:
                self.st.counts["unauthorized"] += 1
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if u.path == "/version":
            return self.send_json(200, {"major": "1", "minor": "29", "gitVersion": "v1.29.4"})
        if u.path.startswith("/api/v1/nodes/"):  # GET one node: what the replaced system did per node
            with self.st.cv:
                self.st.counts["get"] = self.st.counts.get("get", 0) + 1
                obj = self.st.objs["nodes"].get(u.path[len("/api/v1/nodes/"):])
            if obj is None:
                return self.send_json(404, status(404, "NotFound", "nodes not found"))
            return self.send_json(200, obj)
        kind = PATHS.get(u.path)
        if kind is None:
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        if kind in (self.args.forbid or ()):
            return self.send_json(403, status(403, "Forbidden", '%s is forbidden: User "system:serviceaccount:'
                                              'fleetlens:spoke" cannot list resource "%s"' % (kind, kind)))
        sel = selector_fn(q.get("fieldSelector", ""))
        if q.get("watch") in ("1", "true"):
            return self.watch(kind, q, sel)
        return self.list(kind, q, sel)

    def list(self, kind, q, sel):
        st = self.st
        with st.cv:
            st.counts["list"][kind] += 1
            limit = int(q.get("limit", "0") or 0)
            off, list_rv = 0, st.rv
            if q.get("continue"):
                try:
                    c = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                    off, list_rv = int(c["off"]), int(c["rv"])
                except Exception:
                    return self.send_json(400, status(400, "BadRequest", "invalid continue token"))
                if list_rv < st.min_rv[kind]:
                    st.counts["gone"] += 1
                    return self.send_json(410, status(410, "Expired",
                                                      "The provided continue parameter is too old"))
            items = sorted((o for o in st.objs[kind].values() if sel(o)),
                           key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            page = items[off:off + limit] if limit > 0 else items[off:]
            meta = {"resourceVersion": str(list_rv)}
            if limit > 0 and off + limit < len(items):
                meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps({"rv": list_rv, "off": off + limit}).encode()).decode()
                meta["remainingItemCount"] = len(items) - off - limit
            body = {"kind": LIST_KIND[kind], "apiVersion": API_VERSION[kind], "metadata": meta, "items": page}
        self.send_json(200, body)

    def watch(self, kind, q, sel):
        st = self.st
        try:
            since = int(q.get("resourceVersion", "0") or 0)
        except ValueError:
            return self.send_json(400, status(400, "BadRequest", "bad resourceVersion"))
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        deadline = time.monotonic() + float(q.get("timeoutSeconds", "1800"))
        with st.cv:
            st.counts["watch"][kind] += 1
            gen = st.expire_gen[kind]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        last_bm = time.monotonic()
        try:
            while True:
                out = []
                with st.cv:
                    if since < st.min_rv[kind] or st.expire_gen[kind] != gen:
                        st.counts["gone"] += 1
                        out.append(json.dumps({"type": "ERROR", "object": status(
                            410, "Expired", "too old resource version: %d (%d)" % (since, st.min_rv[kind]))}))
                        self.chunk(("\n".join(out) + "\n").encode())
                        break
                    for ev in st.events[kind]:
                        if ev[0] <= since:
                            continue
                        rv, typ, obj, old = ev
                        since = rv
                        if typ == "RAW":
                            out.append(obj)
                            continue
                        now_m, old_m = sel(obj) and typ != "DELETED", sel(old)
                        if typ == "DELETED":
                            t = "DELETED" if old_m else None
                        elif now_m and old_m:
                            t = "MODIFIED"
                        elif now_m:
                            t = "ADDED"
                        elif old_m:
                            t = "DELETED"
                        else:
                            t = None
                        if t:
                            out.append(json.dumps({"type": t, "object": obj}))
                    if not out:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        if bookmarks and time.monotonic() - last_bm >= self.args.bookmark_interval:
                            last_bm = time.monotonic()
                            since = max(since, st.rv)
                            out.append(json.dumps({"type": "BOOKMARK", "object": {
                                "kind": OBJ_KIND[kind], "apiVersion": API_VERSION[kind],
                                "metadata": {"resourceVersion": str(since),
                                             "annotations": {"k8s.io/initial-events-end": "false"}}}}))
                        else:
                            st.cv.wait(min(left, 0.2))
                            continue
                self.chunk(("\n".join(x if isinstance(x, str) else x.decode() for x in out) + "\n").encode())
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def control(self, what, q):
        st = self.st
        kind = q.get("kind", "nodes")
        if kind not in KINDS:
            return self.send_json(400, {"error": "kind must be one of " + ", ".join(KINDS)})
        if what == "counts":
            with st.cv:
                return self.send_json(200, st.counts)
        if what == "objects":
            with st.cv:
                return self.send_json(200, list(st.objs[kind].values()))
        if what == "apply":
            n = int(self.headers.get("Content-Length", "0"))
            st.apply(kind, json.loads(self.rfile.read(n)))
            return self.send_json(200, {"rv": st.rv})
        if what == "delete":
            ok = st.delete(kind, q.get("name") or q.get("uid", ""))
            return self.send_json(200 if ok else 404, {"deleted": ok})
        if what == "node":
            with st.cv:
                node = copy.deepcopy(st.objs["nodes"].get(q.get("name", "")))
            if node is None:
                return self.send_json(404, {"error": "no such node"})
            if "ready" in q:
                for c in node["status"]["conditions"]:
                    if c["type"] == "Ready":
                        c["status"] = q["ready"]
            if "taint" in q:
                k, e = q["taint"].split(":", 1)
                node["spec"].setdefault("taints", []).append({"key": k, "effect": e})
            if "untaint" in q:
                node["spec"]["taints"] = [t for t in node["spec"].get("taints", []) if t["key"] != q["untaint"]]
            if "allocatable" in q:
                r, v = q["allocatable"].split(":", 1)
                node["status"]["allocatable"][r] = v
            st.apply("nodes", node)
            return self.send_json(200, {"rv": st.rv})
        if what == "expire":
            with st.cv:
                st.min_rv[kind] = st.rv  # every older resourceVersion is gone; a new list starts here
                st.expire_gen[kind] += 1
                st.cv.notify_all()
            return self.send_json(200, {"min_rv": st.min_rv[kind]})
        if what == "malformed":
            st.raw(kind, '{"type":"ADDED","object":{"metadata":{"name":')
            return self.send_json(200, {})
        if what == "oversized":
            n = int(q.get("bytes", "8388608"))
            st.raw(kind, '{"type":"ADDED","object":{"metadata":{"name":"big","pad":"' + "x" * n + '"}}}')
            return self.send_json(200, {})
        return self.send_json(404, {"error": "unknown control " + what})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--fixture", choices=("small", "scale"), default="small")
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods-per-node", type=int, default=10)
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    ap.add_argument("--tls-key", help="... and its key, as kube-apiserver does")
    ap.add_argument("--client-ca", help="with TLS: require a client certificate signed by this CA")
    ap.add_argument("--forbid", action="append", choices=("replicasets", "jobs"),
                    help="answer 403 for this kind (repeatable), as a ClusterRole without it would")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    st = State()
    if args.fixture == "small":
        fixture_small(st)
    else:
        fixture_scale(st, args.nodes, args.pods_per_node)
    Handler.st, Handler.args = st, args
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("kube stand-in on 127.0.0.1:%d (%s, rv %d)" % (args.port, args.fixture, st.rv), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
