// fleet.js — the fleet page: a summary bar (GET /v1/fleet/overview) and one row per cluster
// (GET /v1/clusters), sortable, filterable by label, refreshed every 5 s.
import { apiGet } from "./api.js";
import { ago, bar, card, count, el, isNum, notice, pct, statusBadge } from "./dom.js";

export const REFRESH_MS = 5000;
/** A cluster whose allocation rate exceeds its utilization by this many points is flagged. */
export const IDLE_GAP = 30;

const STATUS_RANK = { online: 0, stale: 1, offline: 2, never_seen: 3 };
const ov = (c, k) => (c.overview && isNum(c.overview[k]) ? c.overview[k] : null);

/** Columns: key, header, sort value (null sorts last), cell builder. */
const COLUMNS = [
  {
    key: "name",
    label: "Cluster",
    // the cell also names the cluster's labels and versions
    sort: (c) => c.name,
    cell: (c, ctx) => {
      const labels = Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`);
      const versions = [c.k8sVersion ? `k8s ${c.k8sVersion}` : "", c.spokeVersion ? `spoke ${c.spokeVersion}` : ""].filter(Boolean).join(" · ");
      return el(
        "th",
        { scope: "row", class: "name" },
        el("a", { href: ctx.href.cluster(c.name), dataset: { link: "cluster" } }, c.name),
        labels.length ? el("div", { class: "labels" }, labels.join("  ")) : null,
        versions ? el("div", { class: "labels", dataset: { field: "versions" } }, versions) : null,
      );
    },
  },
  {
    key: "status",
    label: "Status",
    sort: (c) => (STATUS_RANK[c.status] ?? 9) * 1e9 + (isNum(c.lastFrameAgeSeconds) ? c.lastFrameAgeSeconds : 0),
    cell: (c) =>
      el("td", { dataset: { field: "status" } }, statusBadge(c.status), el("span", { class: "age" }, ago(c.lastFrameAgeSeconds))),
  },
  numCol("healthyNodes", "Healthy nodes"),
  {
    key: "faultyNodes",
    label: "Faulty",
    sort: (c) => ov(c, "faultyNodes"),
    cell: (c) => el("td", { class: `num${ov(c, "faultyNodes") > 0 ? " faulty" : ""}`, dataset: { field: "faultyNodes" } }, count(ov(c, "faultyNodes"))),
  },
  {
    key: "gpus",
    label: "GPUs alloc / allocatable",
    sort: (c) => ov(c, "gpusAllocated"),
    cell: (c) =>
      el("td", { class: "num", dataset: { field: "gpus" } }, c.overview ? `${count(ov(c, "gpusAllocated"))} / ${count(ov(c, "gpusAllocatable"))}` : "–"),
  },
  {
    key: "allocationRate",
    label: "Allocation",
    sort: (c) => ov(c, "allocationRate"),
    cell: (c) => el("td", { class: "num", dataset: { field: "allocationRate" } }, pct(ov(c, "allocationRate")), bar(ov(c, "allocationRate"), "alloc")),
  },
  {
    key: "utilization",
    label: "Utilization",
    sort: (c) => ov(c, "utilization"),
    cell: (c) => {
      const td = el("td", { class: "num", dataset: { field: "utilization" } }, pct(ov(c, "utilization")), bar(ov(c, "utilization"), "util"));
      if (idleButAllocated(c)) td.append(el("div", {}, el("span", { class: "tag warn", dataset: { flag: "idle-alloc" } }, "allocated but idle")));
      return td;
    },
  },
  numCol("fullyIdleNodes", "Fully idle"),
  numCol("partiallyIdleNodes", "Partly idle"),
  numCol("busyNodes", "Busy"),
];

function numCol(key, label) {
  return { key, label, sort: (c) => ov(c, key), cell: (c) => el("td", { class: "num", dataset: { field: key } }, count(ov(c, key))) };
}

/** Allocated but idle: allocation rate at least IDLE_GAP points above utilization. */
export function idleButAllocated(c) {
  const a = ov(c, "allocationRate");
  const u = ov(c, "utilization");
  return a !== null && u !== null && a - u >= IDLE_GAP;
}

/** "k=v" matches clusters with that label value; "k" alone those that have the label. */
export function matchesLabel(c, filter) {
  if (!filter) return true;
  const i = filter.indexOf("=");
  const labels = c.labels || {};
  if (i < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, i)] === filter.slice(i + 1);
}

function compare(a, b) {
  if (a === b) return 0;
  if (typeof a === "string") return a < b ? -1 : 1;
  return a - b;
}

export function fleetPage(root, route, ctx) {
  ctx.setCrumbs([["Fleet"]]);
  const state = {
    sort: COLUMNS.some((c) => c.key === route.query.get("sort") && c.sort) ? route.query.get("sort") : "name",
    desc: route.query.get("desc") === "1",
    label: route.query.get("label") || "",
    clusters: null,
    fleet: null, // the answer of /v1/fleet/overview for state.label
    fleetError: "",
    inflight: false,
  };

  const summary = el("div", { class: "summary", id: "fleet-summary", "aria-label": "Fleet summary" });
  const summaryNote = el("p", { class: "muted small", id: "fleet-summary-source" });
  const labelInput = el("input", { id: "label-filter", name: "label", type: "search", placeholder: "region=us-east", list: "label-options", value: state.label });
  const labelOptions = el("datalist", { id: "label-options" });
  const filterForm = el(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter clusters by label" },
    el("label", { for: "label-filter" }, "Label"),
    labelInput,
    labelOptions,
    el("button", { type: "submit" }, "Filter"),
    el("button", { type: "button", class: "link", onclick: () => applyLabel("") }, "Clear"),
  );
  filterForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    applyLabel(labelInput.value.trim());
  });
  const caption = el("caption", {}, "Clusters");
  const headRow = el("tr");
  const tbody = el("tbody", { id: "cluster-rows" });
  const table = el("table", { id: "clusters", class: "data" }, caption, el("thead", {}, headRow), tbody);

  root.append(
    el("h1", { tabindex: "-1" }, "Fleet"),
    summary,
    summaryNote,
    filterForm,
    el("div", { class: "table-wrap" }, table),
    el("p", { class: "muted small legend" }, `"allocated but idle": the allocation rate is at least ${IDLE_GAP} points above the measured utilization — GPUs held by pods that do not use them.`),
  );

  function applyLabel(label) {
    state.label = label;
    labelInput.value = label;
    state.fleet = null; // the sums were for the old filter: "loading…" until the hub answers for this one
    state.fleetError = "";
    syncQuery();
    render(); // filter the rows shown now; the refresh asks the hub with ?label=
    refresh();
  }

  function syncQuery() {
    ctx.setQuery({ label: state.label, sort: state.sort === "name" ? "" : state.sort, desc: state.desc ? "1" : "" });
  }

  function renderHead() {
    headRow.replaceChildren(
      ...COLUMNS.map((col) => {
        const numeric = !["name", "status"].includes(col.key);
        const active = state.sort === col.key;
        const th = el("th", {
          scope: "col",
          class: numeric ? "num" : "",
          "aria-sort": active ? (state.desc ? "descending" : "ascending") : "none",
          dataset: { col: col.key },
        });
        th.append(
          el(
            "button",
            {
              type: "button",
              class: "sort",
              onclick: () => {
                if (state.sort === col.key) state.desc = !state.desc;
                else {
                  state.sort = col.key;
                  state.desc = false;
                }
                syncQuery();
                render();
              },
            },
            col.label,
            el("span", { class: "arrow", "aria-hidden": "true" }, active ? (state.desc ? " ▼" : " ▲") : " ↕"),
          ),
        );
        return th;
      }),
    );
  }

  /** The summary bar: the hub's sums for the clusters the label filter matches (/v1/fleet/overview). */
  function renderSummary() {
    const f = state.fleet;
    if (!f) {
      summary.replaceChildren(state.fleetError ? notice("error", `Cannot load the fleet summary: ${state.fleetError}`) : notice("loading", "loading…"));
      summaryNote.textContent = "";
      return;
    }
    const g = (k) => (isNum(f[k]) ? f[k] : null);
    const st = f.byStatus || {};
    const others = [["stale", st.stale], ["offline", st.offline], ["never seen", st.never_seen]].filter(([, n]) => n > 0).map(([w, n]) => `${n} ${w}`);
    summary.replaceChildren(
      card(`${count(st.online)} / ${count(g("clusters"))}`, "clusters online", "clustersOnline", others.length ? el("div", { class: "k", dataset: { field: "clustersOther" } }, others.join(" · ")) : null),
      card(`${count(g("healthyNodes"))} / ${count(g("totalNodes"))}`, "GPU nodes healthy / total", "healthyNodes"),
      card(count(g("faultyNodes")), "faulty GPU nodes", "faultyNodes"),
      card(`${count(g("gpusAllocated"))} / ${count(g("gpusAllocatable"))}`, "GPUs allocated / allocatable", "gpus"),
      card(pct(g("allocationRate")), "allocation rate", "allocationRate", bar(g("allocationRate"), "alloc")),
      card(pct(g("utilization")), "utilization", "utilization", bar(g("utilization"), "util")),
      card(`${count(g("fullyIdleNodes"))} / ${count(g("partiallyIdleNodes"))} / ${count(g("busyNodes"))}`, "nodes fully idle / partially idle / busy", "idle"),
    );
    summaryNote.textContent = `Summed by the hub over ${count(g("clusters"))} clusters, ${count(g("clustersReporting"))} of them reporting${f.oldestUpdatedAt ? `; oldest figures from ${f.oldestUpdatedAt}` : ""}.`;
  }

  function render() {
    renderHead();
    if (!state.clusters) return;
    const all = state.clusters;
    const shown = all.filter((c) => matchesLabel(c, state.label));
    const col = COLUMNS.find((c) => c.key === state.sort) || COLUMNS[0];
    shown.sort((a, b) => {
      const va = col.sort(a);
      const vb = col.sort(b);
      const an = va === null || va === undefined;
      const bn = vb === null || vb === undefined;
      if (an !== bn) return an ? 1 : -1; // clusters without a figure stay last either way
      const r = an ? 0 : compare(va, vb);
      return (state.desc ? -r : r) || compare(a.name, b.name);
    });
    // With a label the hub answers only the matching clusters (the filter here only bridges the wait).
    caption.textContent = state.label ? `Clusters with label ${state.label}: ${shown.length}` : `Clusters: ${all.length}`;
    tbody.replaceChildren(
      ...shown.map((c) =>
        el("tr", { dataset: { cluster: c.name }, class: idleButAllocated(c) ? "idle-alloc" : "" }, ...COLUMNS.map((k) => k.cell(c, ctx))),
      ),
    );
    if (shown.length === 0) {
      tbody.append(
        el("tr", {}, el("td", { colspan: COLUMNS.length, class: "muted" }, state.label ? `no cluster has the label ${state.label}` : "no clusters are registered in clusters.yaml")),
      );
    }
    const labels = new Set();
    for (const c of all) for (const [k, v] of Object.entries(c.labels || {})) labels.add(`${k}=${v}`);
    labelOptions.replaceChildren(...[...labels].sort().map((l) => el("option", { value: l })));
    renderSummary();
  }

  async function refresh() {
    if (state.inflight) {
      state.again = true; // run once more when this one ends (the label changed meanwhile)
      return;
    }
    state.inflight = true;
    const label = state.label;
    try {
      const [clusters, fleet] = await Promise.allSettled([apiGet("/v1/clusters", { label }), apiGet("/v1/fleet/overview", { label })]);
      if (label !== state.label) return; // the filter changed meanwhile: the refresh that follows shows it
      if (clusters.status === "rejected") {
        if (clusters.reason.status === 401) return; // the token form says it
        ctx.setError(`Cannot load /v1/clusters: ${clusters.reason.message}`);
        if (!state.clusters) tbody.replaceChildren(el("tr", {}, el("td", { colspan: COLUMNS.length }, notice("error", clusters.reason.message))));
        return;
      }
      state.clusters = Array.isArray(clusters.value) ? clusters.value : [];
      state.fleet = fleet.status === "fulfilled" && fleet.value && typeof fleet.value === "object" ? fleet.value : null;
      state.fleetError = fleet.status === "rejected" && fleet.reason.status !== 401 ? fleet.reason.message : "";
      ctx.setError("");
      render();
      ctx.markUpdated();
    } finally {
      state.inflight = false;
      if (state.again) {
        state.again = false;
        refresh();
      }
    }
  }

  renderHead();
  tbody.append(el("tr", {}, el("td", { colspan: COLUMNS.length }, notice("loading", "loading…"))));
  return { refresh, refreshMs: REFRESH_MS };
}
