// shapes.js — turns the answers of /v1/clusters/gpuHeatmap and /v1/nodes/{name}/utilizationHistory into
// what charts.js draws. Both routes are new; these readers accept the Lens shapes and the plain
// alternatives listed below, and return null for anything else (the page then says so).

const pick = (o, ...keys) => {
  for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
};
const toNum = (x) => (typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : NaN);

function heatItems(v) {
  if (Array.isArray(v)) return v;
  if (v && typeof v === "object") {
    const d = pick(v, "data", "Data", "items", "cells");
    if (Array.isArray(d)) return d;
  }
  return null;
}

/**
 * Heat map answers accepted:
 *   Lens: { utilization: {unit, yaxis_min, yaxis_max, data|Data: [{node_name, gpu_id, value}]}, temperature: …, power: … }
 *   one metric: {unit?, data: [...]} or a bare array of {node_name, gpu_id, value}
 * Item keys may also be nodeName/node, gpuId/gpu, utilization. Returns { metrics: [names], get(name) } or null.
 */
export function readHeatmap(data) {
  const metrics = {};
  if (Array.isArray(data) || (data && heatItems(data) && !data.utilization)) {
    metrics.utilization = { spec: Array.isArray(data) ? {} : data, items: heatItems(data) };
  } else if (data && typeof data === "object") {
    for (const [k, v] of Object.entries(data)) {
      const items = heatItems(v);
      if (items) metrics[k] = { spec: Array.isArray(v) ? {} : v, items };
    }
  }
  const names = Object.keys(metrics).sort((a, b) => (a === "utilization" ? -1 : b === "utilization" ? 1 : a.localeCompare(b)));
  if (names.length === 0) return null;
  return {
    metrics: names,
    get(name) {
      const m = metrics[name];
      const nodes = [];
      const gpus = [];
      const raw = [];
      for (const it of m.items) {
        const node = pick(it, "node_name", "nodeName", "node");
        const gpu = toNum(pick(it, "gpu_id", "gpuId", "gpu"));
        const value = toNum(pick(it, "value", "utilization"));
        if (typeof node !== "string" || !Number.isFinite(gpu) || !Number.isFinite(value)) continue;
        if (!nodes.includes(node)) nodes.push(node);
        if (!gpus.includes(gpu)) gpus.push(gpu);
        raw.push([gpu, node, value]);
      }
      nodes.sort();
      gpus.sort((a, b) => a - b);
      const values = raw.map((r) => r[2]);
      const unit = pick(m.spec, "unit") ?? (name === "utilization" ? "%" : name === "power" ? "W" : name === "temperature" ? "°C" : "");
      let min = toNum(pick(m.spec, "yaxis_min", "yAxisMin", "min"));
      let max = toNum(pick(m.spec, "yaxis_max", "yAxisMax", "max"));
      if (!Number.isFinite(min)) min = name === "utilization" ? 0 : Math.floor(Math.min(...values, 0));
      if (!Number.isFinite(max)) max = name === "utilization" ? 100 : Math.ceil(Math.max(...values, 1));
      return {
        label: name,
        unit: unit === "℃" ? "°C" : unit,
        min,
        max,
        nodes,
        gpus,
        cells: raw.map(([g, n, v]) => [gpus.indexOf(g), nodes.indexOf(n), v]),
      };
    },
  };
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
