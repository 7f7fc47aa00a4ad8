// shapes.js — turns the answers of /v1/clusters/gpuHeatmap and /v1/nodes/{name}/utilizationHistory into
// what charts.js draws, and returns null for anything else (the page then says so). The heat map reads
// the hub's answer; the history reader takes the hub's {"series":[{"name","points"}]} and also the Lens
// shapes and the plain alternatives listed below.

const pick = (o, ...keys) => {
  for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
};
const toNum = (x) => (typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : NaN);

/**
 * The hub's heat map: {maxGpus, rows: [{cluster_name, name, gpu_utilization, gpu_ids: [id…], utilization: [u…]}]},
 * one row per node with GPUs, utilization[k] belonging to gpu_ids[k] (null when that GPU reports none).
 * Returns { label, unit, min, max, nodes: [names], gpus: [ids, ascending], cells: [[gpuIndex, nodeIndex, value]],
 * values: [Map(gpu id → value or null) per node], missing } — cells hold only the GPUs with a figure,
 * `missing` counts the others — or null when the answer is not of that shape.
 */
export function readHeatmap(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.rows)) return null;
  const ids = new Set();
  const rows = [];
  for (const r of data.rows) {
    if (!r || typeof r.name !== "string" || !Array.isArray(r.gpu_ids) || !Array.isArray(r.utilization)) continue;
    const values = new Map();
    r.gpu_ids.forEach((id, k) => {
      if (!Number.isInteger(id)) return;
      const u = r.utilization[k];
      values.set(id, typeof u === "number" && Number.isFinite(u) ? u : null);
      ids.add(id);
    });
    rows.push({ name: r.name, values });
  }
  const gpus = [...ids].sort((a, b) => a - b);
  const col = new Map(gpus.map((g, i) => [g, i]));
  const cells = [];
  let missing = 0;
  rows.forEach((r, n) => {
    for (const [g, v] of r.values) {
      if (v === null) missing++;
      else cells.push([col.get(g), n, v]);
    }
  });
  return { label: "utilization", unit: "%", min: 0, max: 100, nodes: rows.map((r) => r.name), gpus, cells, values: rows.map((r) => r.values), missing };
}

/** [a, b] where one is a Unix time (s or ms) and the other the value → [ms, value]; else null. */
function readPoint(p) {
  let t;
  let v;
  if (Array.isArray(p) && p.length >= 2) {
    const a = toNum(p[0]);
    const b = toNum(p[1]);
    [t, v] = a >= 1e9 && !(b >= 1e9) ? [a, b] : [b, a];
  } else if (p && typeof p === "object") {
    t = pick(p, "timestamp", "time", "ts", "t");
    t = typeof t === "string" && !/^\d+(\.\d+)?$/.test(t) ? Date.parse(t) : toNum(t);
    v = toNum(pick(p, "value", "utilization", "v", "y"));
  } else return null;
  if (!Number.isFinite(t)) return null;
  if (t < 1e11) t *= 1000;
  return [t, Number.isFinite(v) ? v : null];
}

function readSeriesList(list, prefix = "") {
  const out = [];
  for (const s of list) {
    const pts = pick(s, "points", "data", "values");
    if (!Array.isArray(pts)) continue;
    const name = String(pick(s, "name", "gpu_id", "label") ?? `series ${out.length + 1}`);
    out.push({ name: prefix ? `${prefix} ${name}` : name, points: pts.map(readPoint).filter(Boolean) });
  }
  return out;
}

/**
 * History answers accepted:
 *   { series: [{name, points|data|values: [[t, v]] | [{timestamp, value}]}], unit? }
 *   { utilization: [[v, t]…], allocationRate: [[v, t]…] }                         (Lens gpuUtilizationHistory)
 *   { gpu_utilization: { series: [{name, points}], config: {yAxisUnit} } }         (Lens gpuMetrics)
 *   a bare array of points
 * Times in Unix seconds or milliseconds. Returns { series: [{name, points: [[ms, v]]}], unit } or null.
 */
export function readHistory(data) {
  let series = [];
  let unit = "%";
  if (Array.isArray(data)) {
    series = [{ name: "utilization", points: data.map(readPoint).filter(Boolean) }];
  } else if (data && typeof data === "object") {
    unit = pick(data, "unit") ?? unit;
    if (Array.isArray(data.series)) series = readSeriesList(data.series);
    else
      for (const [k, v] of Object.entries(data)) {
        if (Array.isArray(v) && v.length && (Array.isArray(v[0]) || typeof v[0] === "object")) {
          series.push({ name: k, points: v.map(readPoint).filter(Boolean) });
        } else if (v && typeof v === "object" && Array.isArray(v.series)) {
          series.push(...readSeriesList(v.series, k));
          unit = pick(v.config || {}, "yAxisUnit", "unit") ?? unit;
        }
      }
  }
  series = series.filter((s) => s.points.length > 0);
  return series.length ? { series, unit } : null;
}
