// node.js — one node: its Kubernetes facts (/v1/nodes/{name}), what its node agent reports (nodeagent.js:
// the agent, RDMA devices, device changes, GPU jobs), per-GPU figures (/v1/nodes/{name}/gpuDevices) and
// its utilization history. Refreshed every 10 s.
import { apiGet } from "./api.js";
import { bar, bytes, el, isNum, notice, num, pct, section } from "./dom.js";
import { historyPanel } from "./history.js";
import { AGENT_GPU_COLUMNS, agentPanels, jobsPanel } from "./nodeagent.js";

export const REFRESH_MS = 10000;
const FACT_ORDER = ["name", "cluster_name", "status", "faulty", "unschedulable", "taints", "ip", "gpu_name", "gpu_count", "gpu_devices",
  "gpu_allocation", "gpu_utilization", "cpu_millis", "memory_bytes", "kubelet_version", "container_runtime", "os_image", "kernel_version"];
const GPU_COLUMNS = [
  ["gpu_id", "GPU", (g) => (isNum(g.gpu_id) ? String(g.gpu_id) : "–"), true],
  ["gpu_model", "Model", (g) => g.gpu_model || "–", false],
  ["memory", "Memory", (g) => (isNum(g.memory) ? bytes(g.memory * 1048576) : "–"), true],
  ["utilization", "Utilization", (g) => pct(g.utilization), true],
  ["temperature", "Temperature", (g) => (isNum(g.temperature) ? `${num(g.temperature)} °C` : "–"), true],
  ["power", "Power", (g) => (isNum(g.power) ? `${num(g.power)} W` : "–"), true],
  ["serial", "Serial", (g) => g.serial || "–", false],
  ["numa", "NUMA", (g) => (isNum(g.numa) ? String(g.numa) : "–"), true],
  ...AGENT_GPU_COLUMNS,
  ["source", "Read by", (g) => gpuSource(g.source), false],
];

/** Who read a GPU row (gpuDevices' `source`). */
export function gpuSource(s) {
  return s === "node" ? "node agent" : s === "cluster" ? "cluster role" : "–";
}

/** Facts of /v1/nodes/{name} shown in the node agent's sections, not in the facts list. */
const NOT_FACTS = ["agent", "kubernetes"];
export const NO_KUBERNETES = "Kubernetes facts missing (the cluster role does not report this node).";

const LABELS = { ip: "IP", gpu_name: "GPU model", gpu_count: "GPUs", gpu_devices: "GPUs reporting", gpu_allocation: "GPUs allocated", gpu_utilization: "GPU utilization", cpu_millis: "CPU", memory_bytes: "memory", os_image: "OS image", cluster_name: "cluster" };
const label = (k) => LABELS[k] || k.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2");

/** A fact of /v1/nodes/{name} as the user reads it. */
export function factValue(k, v) {
  if (k === "taints") return Array.isArray(v) && v.length ? v.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(", ") : "none";
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (k === "cpu_millis") return isNum(v) ? `${num(v / 1000, 2)} cores` : String(v);
  if (k === "memory_bytes") return bytes(v);
  if (/utilization|rate|percentage/i.test(k)) return isNum(v) ? pct(v) : String(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function nodePage(root, route, ctx) {
  const { cluster, node } = route.params;
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], [cluster, ctx.href.cluster(cluster)], [node]]);
  let destroyed = false;
  let inflight = false;

  const [factsSection, factsBody] = section("Node", "facts");
  factsBody.append(notice("loading", "loading…"));
  const [gpuSection, gpuBody] = section("GPUs", "gpus");
  gpuBody.append(notice("loading", "loading…"));
  const agent = agentPanels(node);
  const jobs = jobsPanel(cluster, node);
  const hist = historyPanel(cluster, { idPrefix: "node-history", node });
  const [histSection, histBody] = section("Utilization history", "node-history-section");
  histBody.append(hist.el);
  root.append(el("h1", { tabindex: "-1" }, `Node ${node}`), el("p", { class: "muted" }, "in cluster ", el("a", { href: ctx.href.cluster(cluster) }, cluster)), factsSection, agent.sections[0], gpuSection, ...agent.sections.slice(1), jobs.el, histSection);

  const path = `/v1/nodes/${encodeURIComponent(node)}`;

  function showFacts(obj) {
    const keys = [...FACT_ORDER.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !FACT_ORDER.includes(k) && !NOT_FACTS.includes(k)).sort()];
    factsBody.replaceChildren(
      ...(obj.kubernetes === false ? [notice("missing", NO_KUBERNETES)] : []),
      keys.length
        ? el("dl", { class: "facts", id: "node-facts" }, ...keys.flatMap((k) => [el("dt", {}, label(k)), el("dd", { dataset: { field: k } }, factValue(k, obj[k]))]))
        : notice("empty", "The hub answered no facts for this node."),
    );
    agent.show(obj.agent);
  }

  async function loadFacts() {
    try {
      const f = await apiGet(path, { cluster });
      if (destroyed) return true;
      showFacts(f && typeof f === "object" && !Array.isArray(f) ? f : {});
      return true;
    } catch (e) {
      if (destroyed || e.status === 401) return false;
      factsBody.replaceChildren(notice("error", `Cannot load the node: ${e.message}`));
      agent.fail(e.message);
      return false;
    }
  }

  async function loadGpus() {
    try {
      const d = await apiGet(`${path}/gpuDevices`, { cluster });
      if (destroyed) return true;
      const rows = Array.isArray(d) ? d : [];
      const sources = [...new Set(rows.map((g) => gpuSource(g.source)))].filter((x) => x !== "–").join(" and ");
      if (rows.length === 0) {
        gpuBody.replaceChildren(notice("empty", "The hub reports no GPU devices on this node."));
        return true;
      }
      gpuBody.replaceChildren(
        el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { class: "data", id: "gpu-devices" },
            el("caption", {}, `GPUs of ${node}: ${rows.length}${sources ? `, read by the ${sources}` : ""}`),
            el("thead", {}, el("tr", {}, ...GPU_COLUMNS.map(([, l, , n]) => el("th", { scope: "col", class: n ? "num" : "" }, l)))),
            el(
              "tbody",
              {},
              ...rows.map((g) =>
                el(
                  "tr",
                  { dataset: { gpu: g.gpu_id } },
                  ...GPU_COLUMNS.map(([k, , f, n]) =>
                    el(k === "gpu_id" ? "th" : "td", { class: n ? "num" : "", dataset: { field: k }, scope: k === "gpu_id" ? "row" : undefined }, f(g), k === "utilization" ? bar(g.utilization, "util") : null),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
      return true;
    } catch (e) {
      if (destroyed || e.status === 401) return false;
      gpuBody.replaceChildren(notice("error", `Cannot load the GPUs: ${e.message}`));
      return false;
    }
  }

  async function refresh() {
    if (inflight) return;
    inflight = true;
    try {
      const [a, b, c] = await Promise.all([loadFacts(), loadGpus(), jobs.load()]);
      if (destroyed) return;
      if (a && b && c) {
        ctx.setError("");
        ctx.markUpdated();
      }
      hist.load();
    } finally {
      inflight = false;
    }
  }

  return {
    refresh,
    refreshMs: REFRESH_MS,
    destroy() {
      destroyed = true;
      jobs.destroy();
      hist.destroy();
    },
  };
}
