// history.js — the utilization history chart of one node (or workload: option `of`), from
// GET /v1/nodes/{name}/utilizationHistory (or /v1/workloads/{uid}/utilizationHistory)
// ?cluster=&start=&end=&step= (Unix seconds). A hub that keeps no history answers 404 or 501: the
// panel then says "History not available yet" and asks no more. The hub answers one point per step
// that holds samples (their average) and says the step it used ("step", seconds): where samples are
// missing the chart shows a gap, not a line across it (withGaps).
import { apiGet, isMissingRoute } from "./api.js";
import { el, notice } from "./dom.js";
import { readHistory } from "./shapes.js";

const RANGES = [
  ["1h", 3600],
  ["6h", 6 * 3600],
  ["24h", 86400],
  ["7d", 7 * 86400],
];

/** No spoke samples less often than this: a spacing this long (or the step, if longer) is always
 * "expected", so two points either side of an outage still break the line. */
const MAX_CADENCE_MS = 5 * 60000;

/**
 * The points of one series with a null put where samples are missing, so that the chart breaks its
 * line there. points: [[ms, value]] ascending, one per step bucket that holds samples; stepMs: the
 * step of the answer. The expected spacing is the step, or, when samples come less often than one per
 * step (a spoke's 30 s interval under a 15 s step), the median spacing rounded up to whole steps, at
 * most max(step, MAX_CADENCE_MS). A spacing of twice the expected or more is a gap (with the expected
 * spacing equal to the step: one step bucket without samples): one null is put one expected spacing
 * after the point before it. Returns { points (a new array), gaps (how many nulls), cadenceMs }.
 */
export function withGaps(points, stepMs) {
  const step = Number.isFinite(stepMs) && stepMs > 0 ? stepMs : 60000;
  const spacings = [];
  for (let k = 1; k < points.length; k++) spacings.push(points[k][0] - points[k - 1][0]);
  spacings.sort((a, b) => a - b);
  const median = spacings.length ? spacings[Math.floor((spacings.length - 1) / 2)] : step;
  const cadenceMs = Math.max(step, Math.min(Math.ceil(median / step) * step, Math.max(step, MAX_CADENCE_MS)));
  const out = [];
  let gaps = 0;
  points.forEach((p, k) => {
    if (k > 0 && p[0] - points[k - 1][0] >= 2 * cadenceMs) {
      out.push([points[k - 1][0] + cadenceMs, null]);
      gaps++;
    }
    out.push(p);
  });
  return { points: out, gaps, cadenceMs };
}

/** A history panel for `cluster`; nodeSelect (optional) is a <select> of node names it follows; `of`
 * "workloads" makes `node` a workload uid; `label` (optional) names it in the texts instead. */
export function historyPanel(cluster, { idPrefix = "history", nodeSelect = null, node = "", of = "nodes", label = "" } = {}) {
  let current = node;
  let chart = null;
  let seq = 0;
  let missing = false;
  let since = NaN; // ms: the subject's start (setStart); the chart's axis begins no earlier
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
    delete box.dataset.gaps;
    delete box.dataset.range;
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
      const stepMs = (Number.isFinite(data?.step) && data.step > 0 ? data.step : step) * 1000;
      const drawn = h.series.map((x) => ({ name: x.name, ...withGaps(x.points, stepMs) }));
      const points = h.series.reduce((n, x) => n + x.points.length, 0);
      const gaps = drawn.reduce((n, x) => n + x.gaps, 0);
      status.replaceChildren(
        el("p", { class: "muted small" }, `${label || current}: ${h.series.length} series, ${points} points${gaps ? `; ${gaps} ${gaps === 1 ? "gap" : "gaps"} without samples` : ""}`),
      );
      box.setAttribute("aria-label", `GPU utilization history of ${label || current}, ${h.series.map((s) => s.name).join(", ")}`);
      box.hidden = false;
      const charts = await import("./charts.js");
      if (my !== seq) return;
      chart?.dispose();
      chart = charts.history(box, drawn, h.unit, [axisStart((end - span) * 1000, h.series), end * 1000]);
    } catch (e) {
      if (my !== seq) return;
      clear();
      missing = isMissingRoute(e);
      if (missing) status.replaceChildren(notice("missing", "History not available yet: this hub does not keep utilization history."));
      else if (e.status !== 401) status.replaceChildren(notice("error", `Cannot load the history: ${e.message}`));
    }
  }

  /** Where the axis begins: the range's start, or the subject's start when later (a workload that
   * started 20 minutes ago has no "missing" 40 minutes before it), but never after a point it has. */
  function axisStart(fromMs, series) {
    if (!Number.isFinite(since) || since <= fromMs) return fromMs;
    const first = Math.min(...series.map((x) => x.points[0][0]));
    return Math.max(fromMs, Math.min(since, first));
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
    /** The subject's start (ms, or NaN when unknown): the chart's axis begins no earlier (before the
     * next load). */
    setStart(ms) {
      since = ms;
    },
    destroy() {
      seq++;
      chart?.dispose();
    },
  };
}
