// charts.js — the two charts, drawn by Apache ECharts. Only the parts used are imported (core, the
// heatmap and line series, the components they need, the canvas renderer), and this module is loaded
// on demand (import("./charts.js")) so the fleet page never downloads it.
import * as echarts from "echarts/core";
import { HeatmapChart, LineChart } from "echarts/charts";
import { GridComponent, TooltipComponent, VisualMapComponent, LegendComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([HeatmapChart, LineChart, GridComponent, TooltipComponent, VisualMapComponent, LegendComponent, CanvasRenderer]);

const TEXT = "#d8e0ea";
const MUTED = "#8496aa";
const LINE = "#243040";

function mount(container) {
  const chart = echarts.init(container, null, { renderer: "canvas" });
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(container);
  return {
    chart,
    dispose() {
      ro.disconnect();
      chart.dispose();
    },
  };
}

/**
 * Heat map of one figure per node and GPU.
 * hm: { nodes: [names], gpus: [ids], cells: [[gpuIndex, nodeIndex, value]], min, max, unit, label }
 * Returns a handle with dispose().
 */
export function heatmap(container, hm) {
  container.style.height = `${Math.max(160, Math.min(900, 60 + hm.nodes.length * 22))}px`;
  const h = mount(container);
  h.chart.setOption({
    animation: false,
    textStyle: { color: TEXT },
    tooltip: {
      position: "top",
      formatter: (p) => `${hm.nodes[p.value[1]]} · GPU ${hm.gpus[p.value[0]]}<br>${hm.label}: ${Number(p.value[2]).toFixed(1)} ${hm.unit}`,
    },
    grid: { left: 8, right: 80, top: 8, bottom: 36, containLabel: true },
    xAxis: { type: "category", data: hm.gpus.map((g) => `GPU ${g}`), axisLabel: { color: MUTED }, axisLine: { lineStyle: { color: LINE } }, splitArea: { show: false } },
    yAxis: { type: "category", data: hm.nodes, inverse: true, axisLabel: { color: MUTED, fontSize: 11 }, axisLine: { lineStyle: { color: LINE } } },
    visualMap: {
      min: hm.min,
      max: hm.max,
      calculable: true,
      orient: "vertical",
      right: 0,
      top: "middle",
      text: [`${hm.max} ${hm.unit}`, `${hm.min}`],
      textStyle: { color: MUTED },
      inRange: { color: ["#1b2a3a", "#1f5f8b", "#2e9e5b", "#c9962a", "#c2413b"] },
    },
    series: [
      {
        type: "heatmap",
        name: hm.label,
        data: hm.cells,
        itemStyle: { borderColor: "#0f1419", borderWidth: 1 },
        emphasis: { itemStyle: { borderColor: TEXT, borderWidth: 1 } },
      },
    ],
  });
  return h;
}

/**
 * Line chart of time series: series [{ name, points: [[timeMs, value or null]] }], y axis in `unit`
 * (0–100 when unit is "%"), x axis the range asked for ([fromMs, toMs], so one sample is not drawn
 * over days). A null value is a gap (history.js's withGaps puts one where samples are missing): the line
 * breaks there (connectNulls false), and a point with no neighbour on either side is drawn as a dot, since
 * it has no line. The container's data-gaps attribute lists, per series, the times (ms) at which the
 * chart's own series data (getOption) holds a null, and data-range the x axis's [min, max] (ms): the
 * browser test reads both. Returns a handle with dispose().
 */
export function history(container, series, unit, range = null) {
  container.style.height = "260px";
  const h = mount(container);
  h.chart.setOption({
    animation: false,
    textStyle: { color: TEXT },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "–" : `${Number(v).toFixed(1)} ${unit}`) },
    legend: { top: 0, textStyle: { color: MUTED }, type: "scroll" },
    grid: { left: 8, right: 16, top: 32, bottom: 40, containLabel: true },
    xAxis: { type: "time", min: range?.[0], max: range?.[1], axisLabel: { color: MUTED }, axisLine: { lineStyle: { color: LINE } } },
    yAxis: {
      type: "value",
      min: unit === "%" ? 0 : undefined,
      max: unit === "%" ? 100 : undefined,
      axisLabel: { color: MUTED, formatter: `{value}${unit === "%" ? "%" : ""}` },
      splitLine: { lineStyle: { color: LINE } },
    },
    series: series.map((s) => ({ type: "line", name: s.name, data: lineData(s.points), showSymbol: true, symbol: "none", connectNulls: false })),
  });
  const opt = h.chart.getOption();
  const valueOf = (d) => (Array.isArray(d) ? d : d?.value ?? []);
  container.dataset.range = JSON.stringify([opt.xAxis?.[0]?.min ?? null, opt.xAxis?.[0]?.max ?? null]);
  container.dataset.gaps = JSON.stringify((opt.series || []).map((s) => (s.data || []).map(valueOf).filter((v) => v[1] == null).map((v) => v[0])));
  return h;
}

/** The echarts data of one line: the points as they are, but a point with no value on either side
 * (alone between gaps, or one of fewer than three) carries a dot of its own: it has no line to show it. */
function lineData(points) {
  const has = (k) => k >= 0 && k < points.length && points[k][1] != null;
  const few = points.filter((p) => p[1] != null).length < 3;
  return points.map((p, k) => (p[1] != null && (few || (!has(k - 1) && !has(k + 1))) ? { value: p, symbol: "circle", symbolSize: 6 } : p));
}
