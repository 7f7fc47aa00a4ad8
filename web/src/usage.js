// usage.js — the GPU usage page (#/usage): GPU-hours allocated, used and idle over a range (last 24 h, 7 d,
// 30 d or custom start/end in UTC), grouped by cluster, namespace, workload or node (GET /v1/usage), the
// biggest holders of idle GPUs first, paged, with the same rows as a CSV download. The hub rolls up each
// completed hour, so the page refreshes once a minute.
import { apiGet, apiPath, getToken } from "./api.js";
import { card, el, isNum, notice, num } from "./dom.js";

export const REFRESH_MS = 60000;
export const PAGE_SIZE = 20;
const HOUR = 3600;

export const RANGES = [
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 7 * 86400],
  ["30d", "Last 30 days", 30 * 86400],
  ["custom", "Custom (UTC)", 0],
];

export const GROUPS = [
  ["cluster", "Clusters"],
  ["namespace", "Namespaces"],
  ["workload", "Workloads"],
  ["node", "Nodes"],
];

export const ORDERS = [
  ["gpu_hours_idle", "Idle GPU-hours"],
  ["idle_ratio", "Idle share"],
  ["gpu_hours_allocated", "Allocated GPU-hours"],
  ["gpu_hours_used", "Used GPU-hours"],
];

/** GPU-hours as text: up to 2 decimals ("12.35"), "–" when unknown. */
export function gpuHours(x) {
  return isNum(x) ? num(x, 2) : "–";
}

/** A ratio (0..1) as a percentage ("42.9%"), "–" when unknown. */
export function share(x) {
  return isNum(x) ? `${(x * 100).toFixed(1)}%` : "–";
}

/** "YYYY-MM-DDTHH:MM" (a datetime-local value, read as UTC) ⇄ Unix seconds. */
export function fromLocalUtc(v) {
  const t = typeof v === "string" && v ? Date.parse(`${v}:00Z`) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : null;
}
export function toLocalUtc(s) {
  return isNum(s) ? new Date(s * 1000).toISOString().slice(0, 16) : "";
}

/** The start and end (Unix seconds) of a preset range ending now, or of the custom inputs; null when invalid. */
export function rangeOf(range, customStart, customEnd, nowS = Math.floor(Date.now() / 1000)) {
  const preset = RANGES.find(([k]) => k === range);
  if (preset && preset[2] > 0) return { start: nowS - preset[2], end: nowS };
  const start = fromLocalUtc(customStart);
  const end = fromLocalUtc(customEnd);
  return start !== null && end !== null && start < end ? { start, end } : null;
}

/** The key cells of one row (th first) for a group. */
function keyCells(group, r, ctx) {
  const clusterLink = el("a", { href: ctx.href.cluster(r.cluster_name), dataset: { link: "cluster" } }, r.cluster_name);
  if (group === "cluster") return [el("th", { scope: "row", dataset: { field: "cluster_name" } }, clusterLink)];
  if (group === "namespace")
    return [el("th", { scope: "row", dataset: { field: "namespace" } }, r.namespace), el("td", { dataset: { field: "cluster_name" } }, clusterLink)];
  if (group === "node")
    return [
      el("th", { scope: "row", dataset: { field: "node_name" } }, el("a", { href: ctx.href.node(r.cluster_name, r.node_name), dataset: { link: "node" } }, r.node_name)),
      el("td", { dataset: { field: "cluster_name" } }, clusterLink),
    ];
  return [
    el(
      "th",
      { scope: "row", dataset: { field: "workload_name" } },
      el("a", { href: ctx.href.workload(r.cluster_name, r.workload_uid), dataset: { link: "workload" } }, r.workload_name),
      el("div", { class: "labels" }, r.kind || ""),
    ),
    el("td", { dataset: { field: "namespace" } }, r.namespace),
    el("td", { dataset: { field: "cluster_name" } }, clusterLink),
  ];
}

const KEY_HEADERS = {
  cluster: ["Cluster"],
  namespace: ["Namespace", "Cluster"],
  workload: ["Workload", "Namespace", "Cluster"],
  node: ["Node", "Cluster"],
};
const FIGURES = [
  ["gpu_hours_idle", "Idle GPU-h", gpuHours],
  ["idle_ratio", "Idle share", share],
  ["gpu_hours_allocated", "Allocated GPU-h", gpuHours],
  ["gpu_hours_used", "Used GPU-h", gpuHours],
  ["used_ratio", "Used share", share],
  ["hours", "Hours", (x) => (isNum(x) ? String(x) : "–")],
];

export function usagePage(root, route, ctx) {
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], ["GPU usage"]]);
  const q = route.query;
  const pick = (v, list, def) => (list.some(([k]) => k === v) ? v : def);
  const state = {
    group: pick(q.get("group"), GROUPS, "workload"),
    range: pick(q.get("range"), RANGES, "24h"),
    order: pick(q.get("order_by"), ORDERS, "gpu_hours_idle"),
    start: q.get("start") || "",
    end: q.get("end") || "",
    page: Math.max(1, Number(q.get("page")) || 1),
    total: 0,
    seq: 0,
    destroyed: false,
  };

  const rangeSelect = el("select", { id: "usage-range", name: "range" }, ...RANGES.map(([v, l]) => el("option", { value: v }, l)));
  rangeSelect.value = state.range;
  const startInput = el("input", { id: "usage-start", name: "start", type: "datetime-local", value: state.start });
  const endInput = el("input", { id: "usage-end", name: "end", type: "datetime-local", value: state.end });
  const custom = el(
    "span",
    { class: "filters inline", id: "usage-custom" },
    el("label", { for: "usage-start" }, "From"),
    startInput,
    el("label", { for: "usage-end" }, "to"),
    endInput,
    el("button", { type: "submit", id: "usage-apply" }, "Apply"),
  );
  const orderSelect = el("select", { id: "usage-order", name: "order_by" }, ...ORDERS.map(([v, l]) => el("option", { value: v }, l)));
  orderSelect.value = state.order;
  const csvLink = el("a", { id: "usage-csv", class: "button-link", href: "#", download: "" }, "Download CSV");
  const tabs = el(
    "div",
    { class: "tabs", role: "tablist", "aria-label": "Group GPU-hours by" },
    ...GROUPS.map(([g, label]) =>
      el("button", { type: "button", role: "tab", id: `usage-tab-${g}`, dataset: { group: g }, "aria-controls": "usage-table", onclick: () => setGroup(g) }, label),
    ),
  );
  const sums = el("div", { class: "summary", id: "usage-sums", "aria-live": "polite" });
  const caption = el("caption", {}, "");
  const head = el("thead");
  const rows = el("tbody", { id: "usage-rows" });
  const info = el("span", { id: "usage-page-info", class: "page-info", "aria-live": "polite" });
  const prev = el("button", { type: "button", id: "usage-prev", onclick: () => go(state.page - 1) }, "‹ Previous");
  const next = el("button", { type: "button", id: "usage-next", onclick: () => go(state.page + 1) }, "Next ›");
  const threshold = el("span", { id: "usage-threshold" }, "the idle threshold");

  root.append(
    el("h1", { tabindex: "-1" }, "GPU usage"),
    el(
      "p",
      { class: "muted" },
      "GPU-hours across every cluster you may see, from the hub's hourly rollups: allocated, used (allocated × utilization) and idle (allocated while utilization stayed under ",
      threshold,
      "). The biggest holders of idle GPUs come first.",
    ),
    el(
      "form",
      { class: "filters", "aria-label": "Usage range and order", onsubmit: (e) => (e.preventDefault(), apply()) },
      el("label", { for: "usage-range" }, "Range"),
      rangeSelect,
      custom,
      el("label", { for: "usage-order" }, "Order by"),
      orderSelect,
      csvLink,
    ),
    tabs,
    sums,
    el("div", { class: "table-wrap" }, el("table", { id: "usage-table", class: "data", role: "tabpanel" }, caption, head, rows)),
    el("nav", { class: "pager", "aria-label": "Usage pages" }, prev, info, next),
  );

  rangeSelect.addEventListener("change", () => {
    state.range = rangeSelect.value;
    if (state.range === "custom" && !startInput.value) {
      // Start the custom range from the preset it replaces, whole hours (the rollups are hourly).
      const now = Math.floor(Date.now() / 1000 / HOUR) * HOUR;
      startInput.value = toLocalUtc(now - 86400);
      endInput.value = toLocalUtc(now);
    }
    if (state.range !== "custom") apply();
    else syncControls();
  });
  orderSelect.addEventListener("change", () => apply());
  csvLink.addEventListener("click", (e) => {
    e.preventDefault();
    downloadCsv();
  });

  function params() {
    const r = rangeOf(state.range, state.start, state.end);
    return r ? { group_by: state.group, start: r.start, end: r.end, order_by: state.order } : null;
  }

  function syncControls() {
    custom.hidden = state.range !== "custom";
    for (const b of tabs.querySelectorAll("button")) {
      const on = b.dataset.group === state.group;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    const p = params();
    csvLink.setAttribute("href", p ? apiPath("/v1/usage", { ...p, format: "csv" }) : "#");
    csvLink.setAttribute("download", `usage-${state.group}.csv`);
    ctx.setQuery({
      group: state.group,
      range: state.range,
      order_by: state.order === "gpu_hours_idle" ? "" : state.order,
      start: state.range === "custom" ? state.start : "",
      end: state.range === "custom" ? state.end : "",
      page: state.page > 1 ? state.page : "",
    });
  }

  function apply() {
    state.range = rangeSelect.value;
    state.order = orderSelect.value;
    state.start = startInput.value;
    state.end = endInput.value;
    state.page = 1;
    load();
  }

  function setGroup(g) {
    state.group = g;
    state.page = 1;
    load();
    tabs.querySelector(`[data-group="${g}"]`)?.focus();
  }

  const pages = () => Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  function go(p) {
    state.page = Math.min(Math.max(1, p), pages());
    load();
  }

  function render(data) {
    const keys = KEY_HEADERS[state.group];
    head.replaceChildren(
      el(
        "tr",
        {},
        ...keys.map((h) => el("th", { scope: "col" }, h)),
        ...FIGURES.map(([k, h]) => el("th", { scope: "col", class: "num", "aria-sort": k === state.order ? "descending" : undefined }, h)),
      ),
    );
    const list = Array.isArray(data?.data) ? data.data : [];
    rows.replaceChildren(
      ...list.map((r) =>
        el(
          "tr",
          { class: r.gpu_hours_idle > 0 ? "idle-alloc" : "" },
          ...keyCells(state.group, r, ctx),
          ...FIGURES.map(([k, , fmt]) => el("td", { class: "num", dataset: { field: k } }, fmt(r[k]))),
        ),
      ),
    );
    if (list.length === 0)
      rows.append(el("tr", {}, el("td", { colspan: keys.length + FIGURES.length, class: "muted" }, "No GPU-hours were rolled up in this range.")));
    const s = data?.sums || {};
    sums.replaceChildren(
      card(gpuHours(s.gpu_hours_allocated), "GPU-hours allocated", "gpu_hours_allocated"),
      card(gpuHours(s.gpu_hours_used), "GPU-hours used", "gpu_hours_used"),
      card(gpuHours(s.gpu_hours_idle), "GPU-hours idle", "gpu_hours_idle"),
      card(share(s.idle_ratio), "of allocated GPU-hours idle", "idle_ratio"),
    );
    threshold.textContent = isNum(data?.idle_threshold) ? `${data.idle_threshold} %` : "the idle threshold";
    const from = toLocalUtc(data?.start).replace("T", " ");
    const to = toLocalUtc(data?.end).replace("T", " ");
    caption.textContent = `GPU-hours by ${state.group}, ${from} – ${to} UTC, ordered by ${ORDERS.find(([k]) => k === state.order)[1]}`;
    info.textContent = `page ${state.page} of ${pages()} · ${state.total} ${state.group}${state.total === 1 ? "" : "s"}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages();
  }

  async function load() {
    syncControls();
    const p = params();
    if (!p) {
      rows.replaceChildren(el("tr", {}, el("td", {}, notice("error", "Pick a custom range whose start is before its end."))));
      return false;
    }
    const my = ++state.seq;
    try {
      const data = await apiGet("/v1/usage", { ...p, page_num: state.page, page_size: PAGE_SIZE });
      if (my !== state.seq || state.destroyed) return true;
      state.total = isNum(data?.total) ? data.total : 0;
      if (state.page > pages() && state.total > 0) {
        go(pages());
        return true;
      }
      render(data);
      ctx.markUpdated();
      return true;
    } catch (e) {
      if (my !== state.seq || state.destroyed) return false;
      if (e.status !== 401) rows.replaceChildren(el("tr", {}, el("td", { colspan: 9 }, notice("error", `Cannot load GPU usage: ${e.message}`))));
      return false;
    }
  }

  // The download carries the token as every other request does (Authorization), so it is fetched, then saved.
  async function downloadCsv() {
    const p = params();
    if (!p) return;
    const path = apiPath("/v1/usage", { ...p, format: "csv" });
    const headers = { Accept: "text/csv" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      const res = await fetch(path, { headers, cache: "no-store" });
      if (!res.ok) {
        if (res.status === 401) return load(); // the answer to the JSON read shows the token form
        const body = await res.json().catch(() => null);
        ctx.setError(`Cannot download the CSV: ${body?.meta?.message || `HTTP ${res.status}`}`);
        return;
      }
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: `usage-${state.group}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      ctx.setError(`Cannot download the CSV: ${e.message}`);
    }
  }

  syncControls();
  return {
    refreshMs: REFRESH_MS,
    refresh: load,
    destroy() {
      state.destroyed = true;
    },
  };
}
