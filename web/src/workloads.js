// workloads.js — a cluster's GPU workloads (/v1/workloads): the top-level owners of its GPU pods, with a
// status filter (live by default) and paging, part of the cluster page; and one workload's page
// (/v1/workloads/{uid}: its facts and pods, and its utilization history). Refreshed every 10 s.
import { apiGet } from "./api.js";
import { bar, count, el, isNum, notice, pct, section, when } from "./dom.js";
import { historyPanel } from "./history.js";
import { pagedTable } from "./paged.js";

export const WORKLOAD_FILTERS = [
  ["Running,Pending", "running or pending"],
  ["", "any"],
  ["Done,Failed,Deleted", "ended"],
];

/** The cells of one workload row, as the table shows them (the browser test reads the same). */
export function workloadCells(w) {
  return [
    `${w.namespace}/${w.name}`,
    w.kind,
    w.status,
    count(w.gpu_request),
    count(w.pods),
    pct(w.gpu_utilization),
    when(w.created_at),
    when(w.ended_at),
  ];
}

/** The section; call load() to (re)read the current page. link(uid) is the workload page's address. */
export function workloadsPanel(cluster, link = null) {
  return pagedTable({
    prefix: "workload",
    title: "GPU workloads",
    sectionId: "workloads",
    tableId: "workloads",
    filters: WORKLOAD_FILTERS,
    filterLabel: "Filter workloads",
    navLabel: "Workload table pages",
    columns: ["Workload", "Kind", "Status", "GPUs", "Pods", "Utilization", "Started", "Ended"],
    numeric: (i) => i >= 3 && i <= 5,
    path: "/v1/workloads",
    params: { cluster },
    row: (w) => {
      const c = workloadCells(w);
      return el(
        "tr",
        { dataset: { workload: w.uid } },
        el("th", { scope: "row", class: "name" }, link ? el("a", { href: link(w.uid), dataset: { link: "workload" } }, c[0]) : c[0]),
        el("td", {}, c[1]),
        el("td", {}, el("span", { class: `wl-status ${String(w.status).toLowerCase()}` }, c[2])),
        el("td", { class: "num" }, c[3]),
        el("td", { class: "num" }, c[4]),
        el("td", { class: "num" }, c[5], isNum(w.gpu_utilization) ? bar(w.gpu_utilization, "util") : ""),
        el("td", {}, c[6]),
        el("td", {}, c[7]),
      );
    },
    empty: (status) => (status ? "no GPU workload with this status" : "this cluster has reported no GPU workloads"),
    caption: (total) => `GPU workloads of ${cluster}: ${total}`,
    noun: "workloads",
    what: "workloads",
  });
}

const POD_COLUMNS = ["Pod", "Node", "GPUs", "Phase", "Utilization", "Created"];

/** The cells of one pod row of the workload page (the browser test reads the same). */
export function podCells(p) {
  return [p.name, p.node_name || "–", count(p.gpus), p.phase || "–", pct(p.gpu_utilization), when(p.created_at)];
}

/** #/cluster/NAME/workload/UID */
export function workloadPage(root, route, ctx) {
  const { cluster, uid } = route.params;
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], [cluster, ctx.href.cluster(cluster)], ["workload"]]);
  let destroyed = false;
  let inflight = false;
  const title = el("h1", { tabindex: "-1" }, "Workload");
  const [factsSection, factsBody] = section("Workload", "workload-facts-section");
  factsBody.append(notice("loading", "loading…"));
  const [podSection, podBody] = section("GPU pods", "workload-pods-section");
  const hist = historyPanel(cluster, { idPrefix: "workload-history", node: uid, of: "workloads" });
  const [histSection, histBody] = section("Utilization history", "workload-history-section");
  histBody.append(hist.el);
  root.append(title, el("p", { class: "muted" }, "in cluster ", el("a", { href: ctx.href.cluster(cluster) }, cluster)), factsSection, podSection, histSection);

  function show(w) {
    title.textContent = `${w.kind} ${w.namespace}/${w.name}`;
    hist.setLabel(`${w.namespace}/${w.name}`);
    hist.setStart(Date.parse(w.created_at)); // its chart begins at its start, not an hour of nothing before
    const c = workloadCells(w);
    const facts = [
      ["status", c[2]],
      ["kind", `${w.kind} (${w.api_version || "–"})`],
      ["GPUs requested", c[3]],
      ["live pods", c[4]],
      ["GPU utilization", c[5]],
      ["started", c[6]],
      ["ended", c[7]],
      ["uid", w.uid],
    ];
    factsBody.replaceChildren(el("dl", { class: "facts", id: "workload-facts" }, ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { dataset: { field: k } }, v)])));
    const pods = Array.isArray(w.gpu_pods) ? w.gpu_pods : [];
    podBody.replaceChildren(
      pods.length === 0
        ? notice("empty", "no live GPU pods (the workload ended, or its pods are gone)")
        : el(
            "div",
            { class: "table-wrap" },
            el(
              "table",
              { class: "data", id: "workload-pods" },
              el("caption", {}, `GPU pods of ${w.name}: ${pods.length}`),
              el("thead", {}, el("tr", {}, ...POD_COLUMNS.map((h, i) => el("th", { scope: "col", class: i === 2 || i === 4 ? "num" : "" }, h)))),
              el(
                "tbody",
                {},
                ...pods.map((p) => {
                  const pc = podCells(p);
                  return el(
                    "tr",
                    { dataset: { pod: p.uid } },
                    el("th", { scope: "row" }, pc[0]),
                    el("td", {}, p.node_name ? el("a", { href: ctx.href.node(cluster, p.node_name) }, pc[1]) : pc[1]),
                    el("td", { class: "num" }, pc[2]),
                    el("td", {}, pc[3]),
                    el("td", { class: "num" }, pc[4], isNum(p.gpu_utilization) ? bar(p.gpu_utilization, "util") : ""),
                    el("td", {}, pc[5]),
                  );
                }),
              ),
            ),
          ),
    );
  }

  async function refresh() {
    if (inflight) return;
    inflight = true;
    try {
      const w = await apiGet(`/v1/workloads/${encodeURIComponent(uid)}`, { cluster });
      if (destroyed) return;
      show(w || {});
      ctx.setError("");
      ctx.markUpdated();
      hist.load();
    } catch (e) {
      if (!destroyed && e.status !== 401) factsBody.replaceChildren(notice("error", `Cannot load the workload: ${e.message}`));
    } finally {
      inflight = false;
    }
  }

  return {
    refresh,
    refreshMs: 10000,
    destroy() {
      destroyed = true;
      hist.destroy();
    },
  };
}
