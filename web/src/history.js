// history.js — the utilization history chart of one node (or workload: option `of`), from
// GET /v1/nodes/{name}/utilizationHistory (or /v1/workloads/{uid}/utilizationHistory)
// ?cluster=&start=&end=&step= (Unix seconds). A hub that keeps no history answers 404 or 501: the
// panel then says "History not available yet" and asks no more.
import { apiGet, isMissingRoute } from "./api.js";
import { el, notice } from "./dom.js";
import { readHistory } from "./shapes.js";

const RANGES = [
  ["1h", 3600],
  ["6h", 6 * 3600],
  ["24h", 86400],
  ["7d", 7 * 86400],
];

/** A history panel for `cluster`; nodeSelect (optional) is a <select> of node names it follows; `of`
 * "workloads" makes `node` a workload uid; `label` (optional) names it in the texts instead. */
export function historyPanel(cluster, { idPrefix = "history", nodeSelect = null, node = "", of = "nodes", label = "" } = {}) {
  let current = node;
  let chart = null;
  let seq = 0;
  let missing = false;
  const range = el("select", { id: `${idPrefix}-range`, name: "range" }, ...RANGES.map(([l, s]) => el("option", { value: s, selected: s === 3600 }, `last ${l}`)));
  const status = el("div", { class: "chart-status", dataset: { role: "history-status" } });
  const box = el("div", { class: "chart", id: `${idPrefix}-chart`, role: "img", "aria-label": "GPU utilization history" });
  const controls = el(
    "div",
    { class: "filters" },
    nodeSelect ? [el("label", { for: nodeSelect.id }, "Node"), nodeSelect] : null,
    el("label", { for: range.id }, "Range"),
    range,
  );
  const root = el("div", { class: "history" }, controls, status, box);

  range.addEventListener("change", () => load());
  nodeSelect?.addEventListener("change", () => {
    current = nodeSelect.value;
    load();
  });

  function clear() {
    chart?.dispose();
    chart = null;
    box.hidden = true;
  }

  async function load() {
    if (missing) return; // asked once per visit: the hub does not serve it
    const my = ++seq;
    if (!current) {
      clear();
      status.replaceChildren(notice("empty", "no node to show"));
      return;
    }
    const span = Number(range.value);
    const end = Math.floor(Date.now() / 1000);
    const step = Math.max(15, Math.round(span / 240));
    try {
      const data = await apiGet(`/v1/${of}/${encodeURIComponent(current)}/utilizationHistory`, { cluster, start: end - span, end, step });
      if (my !== seq) return;
      const h = readHistory(data);
      if (!h) {
        clear();
        status.replaceChildren(notice("empty", `no utilization history for ${label || current} in this range`));
        return;
      }
      status.replaceChildren(el("p", { class: "muted small" }, `${label || current}: ${h.series.length} series, ${h.series.reduce((n, s) => n + s.points.length, 0)} points`));
      box.setAttribute("aria-label", `GPU utilization history of ${label || current}, ${h.series.map((s) => s.name).join(", ")}`);
      box.hidden = false;
      const charts = await import("./charts.js");
      if (my !== seq) return;
      chart?.dispose();
      chart = charts.history(box, h.series, h.unit, [(end - span) * 1000, end * 1000]);
    } catch (e) {
      if (my !== seq) return;
      clear();
      missing = isMissingRoute(e);
      if (missing) status.replaceChildren(notice("missing", "History not available yet: this hub does not keep utilization history."));
      else if (e.status !== 401) status.replaceChildren(notice("error", `Cannot load the history: ${e.message}`));
    }
  }

  return {
    el: root,
    load,
    setNode(name) {
      if (name !== current) {
        current = name;
        load();
      }
    },
    /** Names the subject in the texts (before the next load). */
    setLabel(text) {
      label = text;
    },
    destroy() {
      seq++;
      chart?.dispose();
    },
  };
}
