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
 * Line chart of time series: series [{ name, points: [[timeMs, value]] }], y axis in `unit`
 * (0–100 when unit is "%"), x axis the range asked for ([fromMs, toMs], so one sample is not drawn
 * over days). Returns a handle with dispose().
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
    // A series of one or two points has no line to speak of: its points are drawn as dots.
    series: series.map((s) => ({ type: "line", name: s.name, data: s.points, showSymbol: s.points.length < 3, connectNulls: false })),
  });
  return h;
}
