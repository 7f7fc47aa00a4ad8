// cluster.js — one cluster: overview cards (/v1/clusters/overview), a heat map of GPU utilization per
// node and GPU (/v1/clusters/gpuHeatmap), the node table with filters and paging (/v1/nodes), a node's
// utilization history and the GPU workloads (/v1/workloads, workloads.js). Refreshed every 10 s.
import { apiGet } from "./api.js";
import { ago, bar, bytes, card, count, el, isNum, notice, pct, section, statusBadge } from "./dom.js";
import { historyPanel } from "./history.js";
import { readHeatmap } from "./shapes.js";
import { workloadsPanel } from "./workloads.js";

export const REFRESH_MS = 10000;
const PAGE_SIZES = [10, 25, 50, 100];
const STATUS_FILTERS = [
  ["", "any"],
  ["Ready", "Ready"],
  ["NotReady", "NotReady"],
  ["NotReady,Unknown", "NotReady or Unknown"],
  ["Unknown", "Unknown"],
];
const NODE_COLUMNS = [
  ["name", "Node", false],
  ["ip", "IP", false],
  ["gpu_name", "GPU model", false],
  ["gpu_count", "GPUs", true],
  ["gpu_allocation", "Allocated", true],
  ["gpu_utilization", "Utilization", true],
  ["status", "Status", false],
];

export function overviewCards(o) {
  const g = (k) => (isNum(o[k]) ? o[k] : null);
  return [
    card(`${count(g("healthyNodes"))} / ${count(g("totalNodes"))}`, "GPU nodes healthy / total", "healthyNodes"),
    card(count(g("faultyNodes")), "faulty GPU nodes", "faultyNodes"),
    card(`${count(g("gpusAllocated"))} / ${count(g("gpusAllocatable"))}`, "GPUs allocated / allocatable", "gpus"),
    card(pct(g("allocationRate")), "allocation rate", "allocationRate", bar(g("allocationRate"), "alloc")),
    card(pct(g("utilization")), "utilization", "utilization", bar(g("utilization"), "util")),
    card(count(g("fullyIdleNodes")), "fully idle nodes", "fullyIdleNodes"),
    card(count(g("partiallyIdleNodes")), "partially idle nodes", "partiallyIdleNodes"),
    card(count(g("busyNodes")), "busy nodes", "busyNodes"),
    card(`${bytes(g("used_space"))} / ${bytes(g("total_space"))}`, `storage used (${pct(g("usage_percentage"))})`, "storage"),
    card(`${bytes(g("read_bandwidth"))}/s · ${bytes(g("write_bandwidth"))}/s`, "storage read · write", "bandwidth"),
    card(`${bytes(g("total_tx"))}/s · ${bytes(g("total_rx"))}/s`, "RDMA tx · rx", "rdma"),
  ];
}

/** A heat map table cell: the GPU's utilization, "–" when it reports none, empty when the node has no such GPU. */
function heatCell(values, gpu) {
  if (!values.has(gpu)) return "";
  return isNum(values.get(gpu)) ? values.get(gpu).toFixed(1) : "–";
}

export function clusterPage(root, route, ctx) {
  const cluster = route.params.cluster;
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], [cluster]]);
  const q = route.query;
  const state = {
    name: q.get("name") || "",
    status: q.get("status") || "",
    pageSize: PAGE_SIZES.includes(Number(q.get("page_size"))) ? Number(q.get("page_size")) : 10,
    page: Math.max(1, Number(q.get("page")) || 1),
    orderBy: NODE_COLUMNS.some(([k]) => k === q.get("order_by")) ? q.get("order_by") : "",
    desc: q.get("desc") === "1",
    total: 0,
    heatChart: null,
    heatSeq: 0,
    inflight: false,
    destroyed: false,
  };

  // --- header and overview ---
  const statusSlot = el("span", { class: "h1-status" });
  const ageLine = el("p", { class: "muted small", id: "overview-age" });
  const cards = el("div", { class: "summary", id: "overview-cards", "aria-label": "Cluster overview" }, notice("loading", "loading…"));

  // --- heat map ---
  const heatStatus = el("div", { class: "chart-status", dataset: { role: "heatmap-status" } });
  const heatBox = el("div", { class: "chart", id: "heatmap-chart", role: "img", "aria-label": "GPU heat map", hidden: true });
  const heatTable = el("details", { class: "as-table", hidden: true });
  const [heatSection, heatBody] = section("GPU utilization heat map", "heatmap");
  heatBody.append(heatStatus, heatBox, heatTable);

  // --- node table ---
  const nameInput = el("input", { id: "node-name", name: "name", type: "search", value: state.name, placeholder: "part of a node name" });
  const statusSelect = el("select", { id: "node-status", name: "status" }, ...STATUS_FILTERS.map(([v, l]) => el("option", { value: v, selected: v === state.status }, l)));
  const sizeSelect = el("select", { id: "node-page-size", name: "page_size" }, ...PAGE_SIZES.map((n) => el("option", { value: n, selected: n === state.pageSize }, String(n))));
  const filterForm = el(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter nodes" },
    el("label", { for: "node-name" }, "Name"),
    nameInput,
    el("label", { for: "node-status" }, "Status"),
    statusSelect,
    el("label", { for: "node-page-size" }, "Rows per page"),
    sizeSelect,
    el("button", { type: "submit" }, "Apply"),
  );
  let nameTimer = 0;
  const applyFilters = () => {
    state.name = nameInput.value.trim();
    state.status = statusSelect.value;
    state.pageSize = Number(sizeSelect.value);
    state.page = 1;
    loadNodes();
  };
  filterForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(nameTimer);
    applyFilters();
  });
  nameInput.addEventListener("input", () => {
    clearTimeout(nameTimer);
    nameTimer = setTimeout(applyFilters, 400);
  });
  statusSelect.addEventListener("change", applyFilters);
  sizeSelect.addEventListener("change", applyFilters);

  const nodeCaption = el("caption", {}, "Nodes");
  const nodeHead = el("tr");
  const nodeRows = el("tbody", { id: "node-rows" });
  const nodeTable = el("table", { id: "nodes", class: "data" }, nodeCaption, el("thead", {}, nodeHead), nodeRows);
  const pageInfo = el("span", { id: "node-page-info", "aria-live": "polite" });
  const btn = (label, id, fn) => el("button", { type: "button", id, onclick: fn }, label);
  const first = btn("« First", "node-first", () => go(1));
  const prev = btn("‹ Previous", "node-prev", () => go(state.page - 1));
  const next = btn("Next ›", "node-next", () => go(state.page + 1));
  const last = btn("Last »", "node-last", () => go(pages()));
  const pager = el("nav", { class: "pager", "aria-label": "Node table pages" }, first, prev, pageInfo, next, last);
  const [nodeSection, nodeBody] = section("Nodes", "node-table");
  nodeBody.append(filterForm, el("div", { class: "table-wrap" }, nodeTable), pager);

  // --- history ---
  const historyNode = el("select", { id: "history-node", name: "node" });
  const hist = historyPanel(cluster, { idPrefix: "history", nodeSelect: historyNode });
  const [histSection, histBody] = section("Utilization history", "history");
  histBody.append(hist.el);

  const workloads = workloadsPanel(cluster, (uid) => ctx.href.workload(cluster, uid));

  root.append(
    el("h1", { tabindex: "-1" }, `Cluster ${cluster} `, statusSlot),
    ageLine,
    cards,
    heatSection,
    nodeSection,
    histSection,
    workloads.el,
  );

  const pages = () => Math.max(1, Math.ceil(state.total / state.pageSize));
  function go(page) {
    state.page = Math.min(Math.max(1, page), pages());
    loadNodes();
  }

  function syncQuery() {
    ctx.setQuery({
      name: state.name,
      status: state.status,
      page: state.page > 1 ? state.page : "",
      page_size: state.pageSize !== 10 ? state.pageSize : "",
      order_by: state.orderBy,
      desc: state.desc ? "1" : "",
    });
  }

  function renderNodeHead() {
    nodeHead.replaceChildren(
      ...NODE_COLUMNS.map(([key, label, numeric]) => {
        const active = state.orderBy === key;
        return el(
          "th",
          { scope: "col", class: numeric ? "num" : "", "aria-sort": active ? (state.desc ? "descending" : "ascending") : "none", dataset: { col: key } },
          el(
            "button",
            {
              type: "button",
              class: "sort",
              onclick: () => {
                if (state.orderBy === key) state.desc = !state.desc;
                else {
                  state.orderBy = key;
                  state.desc = false;
                }
                state.page = 1;
                loadNodes();
              },
            },
            label,
            el("span", { class: "arrow", "aria-hidden": "true" }, active ? (state.desc ? " ▼" : " ▲") : " ↕"),
          ),
        );
      }),
    );
  }

  function renderNodes(rows) {
    renderNodeHead();
    nodeRows.replaceChildren(
      ...rows.map((r) =>
        el(
          "tr",
          { dataset: { node: r.name } },
          el("th", { scope: "row", class: "name" }, el("a", { href: ctx.href.node(cluster, r.name), dataset: { link: "node" } }, r.name)),
          el("td", { dataset: { field: "ip" } }, r.ip || "–"),
          el("td", { dataset: { field: "gpu_name" } }, r.gpu_name || "–"),
          el("td", { class: "num", dataset: { field: "gpu_count" } }, count(r.gpu_count)),
          el("td", { class: "num", dataset: { field: "gpu_allocation" } }, count(r.gpu_allocation)),
          el("td", { class: "num", dataset: { field: "gpu_utilization" } }, pct(r.gpu_utilization), bar(r.gpu_utilization, "util")),
          el("td", { dataset: { field: "status" } }, el("span", { class: `node-status ${r.status === "Ready" ? "ready" : "not-ready"}` }, r.status || "–")),
        ),
      ),
    );
    if (rows.length === 0)
      nodeRows.append(el("tr", {}, el("td", { colspan: NODE_COLUMNS.length, class: "muted" }, state.name || state.status ? "no node matches these filters" : "this cluster has reported no nodes")));
    nodeCaption.textContent = `Nodes of ${cluster}: ${state.total}`;
    pageInfo.textContent = `page ${state.page} of ${pages()} · ${state.total} nodes`;
    first.disabled = prev.disabled = state.page <= 1;
    next.disabled = last.disabled = state.page >= pages();
    // The history follows the node picked in the select; the choices are this page's nodes.
    const keep = historyNode.value;
    historyNode.replaceChildren(...rows.map((r) => el("option", { value: r.name }, r.name)));
    if (rows.some((r) => r.name === keep)) historyNode.value = keep;
    hist.setNode(historyNode.value || "");
  }

  let nodeSeq = 0;
  async function loadNodes() {
    const my = ++nodeSeq;
    syncQuery();
    renderNodeHead();
    try {
      const data = await apiGet("/v1/nodes", {
        cluster,
        page_num: state.page,
        page_size: state.pageSize,
        name: state.name,
        status: state.status,
        order_by: state.orderBy,
        desc: state.orderBy && state.desc ? "true" : "",
      });
      if (my !== nodeSeq || state.destroyed) return;
      state.total = isNum(data?.total) ? data.total : 0;
      if (state.page > pages() && state.total > 0) {
        go(pages());
        return;
      }
      renderNodes(Array.isArray(data?.data) ? data.data : []);
      return true;
    } catch (e) {
      if (my !== nodeSeq || state.destroyed) return;
      if (e.status !== 401) nodeRows.replaceChildren(el("tr", {}, el("td", { colspan: NODE_COLUMNS.length }, notice("error", `Cannot load nodes: ${e.message}`))));
      return false;
    }
  }

  async function loadOverview() {
    try {
      const o = await apiGet("/v1/clusters/overview", { cluster });
      if (state.destroyed) return;
      statusSlot.replaceChildren(statusBadge(o.status));
      ageLine.textContent = `Overview as of ${o.updatedAt || "?"} (${ago(o.ageSeconds)})${o.status === "online" ? "" : " — not fresh"}`;
      cards.replaceChildren(...overviewCards(o));
      return true;
    } catch (e) {
      if (state.destroyed || e.status === 401) return false;
      statusSlot.replaceChildren(e.status === 503 ? statusBadge("never_seen") : "");
      ageLine.textContent = "";
      cards.replaceChildren(notice(e.status === 503 ? "empty" : "error", e.message));
      return e.status === 503; // a cluster that never reported is an answer, not a failure
    }
  }

  async function loadHeat() {
    const my = ++state.heatSeq;
    try {
      const hm = readHeatmap(await apiGet("/v1/clusters/gpuHeatmap", { cluster }));
      if (my !== state.heatSeq || state.destroyed) return;
      if (!hm) {
        clearHeat();
        heatStatus.replaceChildren(notice("error", "The hub's heat map answer has no rows."));
        return;
      }
      await drawHeat(hm);
    } catch (e) {
      if (my !== state.heatSeq || state.destroyed) return;
      clearHeat();
      if (e.status !== 401) heatStatus.replaceChildren(notice("error", `Cannot load the heat map: ${e.message}`));
    }
  }

  function clearHeat() {
    state.heatChart?.dispose();
    state.heatChart = null;
    heatBox.hidden = true;
    heatTable.hidden = true;
  }

  async function drawHeat(hm) {
    if (hm.nodes.length === 0) {
      clearHeat();
      heatStatus.replaceChildren(notice("empty", "no node of this cluster reports GPUs"));
      return;
    }
    const none = hm.missing ? `; ${hm.missing} GPUs report no utilization (–)` : "";
    heatStatus.replaceChildren(el("p", { class: "muted small", id: "heatmap-summary" }, `utilization (%) of ${hm.cells.length} GPUs on ${hm.nodes.length} nodes${none}`));
    heatBox.setAttribute("aria-label", `Heat map of GPU utilization for ${hm.nodes.length} nodes; the same figures are in the table below it`);
    heatBox.hidden = false;
    // The same figures as a table, for keyboards and screen readers.
    heatTable.replaceChildren(
      el("summary", {}, "Show the heat map as a table"),
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "data compact", id: "heatmap-table" },
          el("caption", {}, "GPU utilization (%) per node"),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Node"), ...hm.gpus.map((g) => el("th", { scope: "col", class: "num" }, `GPU ${g}`)))),
          el(
            "tbody",
            {},
            ...hm.nodes.map((n, i) =>
              el("tr", { dataset: { node: n } }, el("th", { scope: "row" }, n), ...hm.gpus.map((g) => el("td", { class: "num" }, heatCell(hm.values[i], g)))),
            ),
          ),
        ),
      ),
    );
    heatTable.hidden = false;
    const charts = await import("./charts.js");
    if (state.destroyed) return;
    state.heatChart?.dispose();
    state.heatChart = charts.heatmap(heatBox, hm);
  }

  async function refresh() {
    if (state.inflight) return;
    state.inflight = true;
    try {
      const [ovOk, nodesOk] = await Promise.all([loadOverview(), loadNodes(), loadHeat(), workloads.load()]);
      if (state.destroyed) return;
      if (ovOk && nodesOk) {
        ctx.setError("");
        ctx.markUpdated();
      }
      hist.load();
    } finally {
      state.inflight = false;
    }
  }

  return {
    refresh,
    refreshMs: REFRESH_MS,
    destroy() {
      state.destroyed = true;
      clearTimeout(nameTimer);
      state.heatChart?.dispose();
      hist.destroy();
      workloads.destroy();
    },
  };
}
