// jobs.js — the fleet's GPU jobs page (#/jobs: /v1/jobs with cluster, node, framework, status, parameter
// and idle filters, paged) and one job's page (#/job/ID: /v1/jobs/{id}'s facts, parameters, allowlisted
// environment, config path and newest sample, and its metrics from /v1/jobs/{id}/metrics as two charts).
// Every value (command lines, parameters, environment) is untrusted text: it reaches the page through dom.js.
import { apiGet, isMissingRoute } from "./api.js";
import { bytes, count, el, isNum, notice, pct, section, when } from "./dom.js";
import { withGaps } from "./history.js";
import { pagedTable } from "./paged.js";

export const REFRESH_MS = 10000;
const text = (s) => (typeof s === "string" && s !== "" ? s : "–");

export const JOBS_FILTERS = [
  ["running,lost", "running or lost"],
  ["running", "running"],
  ["lost", "lost"],
  ["ended", "ended"],
  ["", "any"],
];
const JOBS_COLUMNS = ["Cluster", "Node", "PID", "Name", "Framework", "Status", "CPU %", "RSS", "GPU memory", "GPU util", "GPUs", "Idle since", "Started"];
const JOBS_NUMERIC = [2, 6, 7, 8, 9];

/** A job's GPUs (gpu_ids) as "0, 1", "–" when none. */
export function gpuIds(ids) {
  return Array.isArray(ids) && ids.length ? ids.join(", ") : "–";
}

/** The cells of one row of the fleet's jobs table (the browser test reads the same). */
export function fleetJobCells(j) {
  return [
    text(j.cluster_name),
    text(j.node_name),
    count(j.pid),
    text(j.name),
    text(j.framework),
    text(j.status),
    pct(j.cpu_percent),
    bytes(j.rss_bytes),
    bytes(j.gpu_memory_bytes),
    pct(j.gpu_utilization),
    gpuIds(j.gpu_ids),
    when(j.idle_since),
    when(j.started_at),
  ];
}

/** A parameter's value as shown: numbers as the API wrote them, text as is. */
export function paramValue(v) {
  if (isNum(v)) return String(v);
  if (typeof v === "string") return v;
  return v === null || v === undefined ? "–" : JSON.stringify(v);
}

const jobStatus = (j, t) => el("span", { class: `job-status ${j.status === "running" || j.status === "lost" ? j.status : "ended"}` }, t);

/** The filters of the jobs page from the address's query, and the hub's query from them. */
function readFilters(q) {
  return { cluster: q.get("cluster") || "", node: q.get("node") || "", framework: q.get("framework") || "", param: q.get("param") || "", idle: q.get("idle") === "true" };
}
const hubParams = (f) => ({ cluster: f.cluster, node: f.node, framework: f.framework, param: f.param, idle: f.idle ? "true" : "" });

/** The filter form: a cluster select (its options from /v1/clusters, filled by setClusters), node,
 * framework and parameter boxes, an idle checkbox; apply(filters) on each change. */
function filterForm(f, apply) {
  const clusterSel = el("select", { id: "jobs-cluster", name: "cluster" }, el("option", { value: "" }, "all clusters"), f.cluster ? el("option", { value: f.cluster, selected: true }, f.cluster) : null);
  const box = (id, name, value, placeholder) => el("input", { id, name, value, placeholder, size: 16, autocomplete: "off" });
  const node = box("jobs-node", "node", f.node, "node name");
  const framework = box("jobs-framework", "framework", f.framework, "pytorch");
  const param = box("jobs-param", "param", f.param, "batch_size=32");
  const idle = el("input", { id: "jobs-idle", name: "idle", type: "checkbox", checked: f.idle });
  const read = () => ({ cluster: clusterSel.value, node: node.value.trim(), framework: framework.value.trim(), param: param.value.trim(), idle: idle.checked });
  const changed = () => apply(read());
  clusterSel.addEventListener("change", changed);
  idle.addEventListener("change", changed);
  for (const b of [node, framework, param]) b.addEventListener("change", changed);
  const form = el(
    "form",
    {
      class: "filters",
      id: "jobs-filters",
      "aria-label": "Filter the fleet's GPU jobs",
      onsubmit: (e) => {
        e.preventDefault();
        changed();
      },
    },
    el("label", { for: "jobs-cluster" }, "Cluster"),
    clusterSel,
    el("label", { for: "jobs-node" }, "Node"),
    node,
    el("label", { for: "jobs-framework" }, "Framework"),
    framework,
    el("label", { for: "jobs-param", title: "KEY=VALUE: jobs whose command line sets this parameter to this value" }, "Parameter"),
    param,
    el("label", { for: "jobs-idle", title: "holding accelerator memory, utilization under the hub's idle threshold for the idle time" }, idle, " idle only"),
    el("button", { type: "submit" }, "Apply"),
  );
  function setClusters(names) {
    const want = clusterSel.value || f.cluster;
    const list = want && !names.includes(want) ? [...names, want] : names;
    clusterSel.replaceChildren(el("option", { value: "" }, "all clusters"), ...list.map((n) => el("option", { value: n }, n)));
    clusterSel.value = want;
  }
  return { form, setClusters };
}

/** One row of the fleet's jobs table; the PID links to the job's page. */
function fleetJobRow(j, ctx) {
  const c = fleetJobCells(j);
  const link = (cell, href, kind) => (href ? el("a", { href, dataset: { link: kind } }, cell) : cell);
  return el(
    "tr",
    { dataset: { job: j.id } },
    el("td", {}, link(c[0], j.cluster_name && ctx.href.cluster(j.cluster_name), "cluster")),
    el("td", {}, link(c[1], j.cluster_name && j.node_name && ctx.href.node(j.cluster_name, j.node_name), "node")),
    el("th", { scope: "row", class: "num" }, link(c[2], ctx.href.job(j.id), "job")),
    el("td", {}, c[3]),
    el("td", {}, c[4]),
    el("td", {}, jobStatus(j, c[5])),
    ...c.slice(6, 10).map((v) => el("td", { class: "num" }, v)),
    el("td", {}, c[10]),
    el("td", {}, c[11]),
    el("td", {}, c[12]),
  );
}

/** #/jobs — the fleet's GPU jobs. */
export function jobsPage(root, route, ctx) {
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], ["GPU jobs"]]);
  const f = readFilters(route.query);
  const params = hubParams(f);
  let destroyed = false;
  let inflight = false;
  const filters = filterForm(f, (next) => {
    Object.assign(f, next);
    Object.assign(params, hubParams(f));
    ctx.setQuery({ ...params, status: statusSel.value || "any" });
    statusSel.dispatchEvent(new Event("change")); // the table goes back to page 1 and loads
  });
  const table = pagedTable({
    prefix: "jobs",
    title: "GPU jobs",
    sectionId: "jobs-section",
    tableId: "fleet-jobs",
    intro: el(
      "div",
      {},
      el("p", { class: "muted small" }, "Processes that hold GPU device files, as the node agents read them; figures from each job's newest sample."),
      filters.form,
    ),
    filters: JOBS_FILTERS,
    filterLabel: "Filter GPU jobs by status",
    navLabel: "GPU job table pages",
    columns: JOBS_COLUMNS,
    numeric: (i) => JOBS_NUMERIC.includes(i),
    path: "/v1/jobs",
    params,
    row: (j) => fleetJobRow(j, ctx),
    empty: () => "no GPU job matches these filters",
    caption: (total) => `GPU jobs: ${total}`,
    noun: "jobs",
    what: "the GPU jobs",
  });
  const statusSel = table.el.querySelector("#jobs-status");
  const status = route.query.get("status") === "any" ? "" : route.query.get("status"); // "any" in the address: no status
  statusSel.addEventListener("change", () => ctx.setQuery({ ...params, status: statusSel.value || "any" }));
  if (status !== null && status !== statusSel.value && JOBS_FILTERS.some(([v]) => v === status)) {
    statusSel.value = status;
    statusSel.dispatchEvent(new Event("change")); // the table's own status follows the select's
  }
  root.append(el("h1", { tabindex: "-1" }, "GPU jobs"), table.el);

  async function refresh() {
    if (inflight) return;
    inflight = true;
    try {
      const [ok] = await Promise.all([table.load(), loadClusters()]);
      if (!destroyed && ok) {
        ctx.setError("");
        ctx.markUpdated();
      }
    } finally {
      inflight = false;
    }
  }

  async function loadClusters() {
    try {
      const list = await apiGet("/v1/clusters");
      if (!destroyed) filters.setClusters((Array.isArray(list) ? list : []).map((c) => c.name).filter((n) => typeof n === "string").sort());
    } catch {
      /* the table says what failed; the select keeps its options */
    }
  }

  return {
    refresh,
    refreshMs: REFRESH_MS,
    destroy() {
      destroyed = true;
      table.destroy();
    },
  };
}

/** The facts of /v1/jobs/{id} as [field, label, value or node] (the browser test reads the same texts). */
export function jobFacts(j, ctx) {
  const link = (t, href) => (href ? el("a", { href }, t) : t);
  return [
    ["cluster", "cluster", link(text(j.cluster_name), j.cluster_name && ctx?.href.cluster(j.cluster_name))],
    ["node", "node", link(text(j.node_name), j.cluster_name && j.node_name && ctx?.href.node(j.cluster_name, j.node_name))],
    ["pid", "PID", count(j.pid)],
    ["ppid", "parent PID", count(j.ppid)],
    ["pgid", "process group", count(j.pgid)],
    ["name", "name", text(j.name)],
    ["framework", "framework", text(j.framework)],
    ["pod_uid", "pod uid", text(j.pod_uid)],
    ["status", "status", jobStatus(j, text(j.status))],
    ["started_at", "started", when(j.started_at)],
    ["first_seen", "first seen", when(j.first_seen)],
    ["last_seen", "last seen", when(j.last_seen)],
    ["ended_at", "ended", when(j.ended_at)],
    ["cwd", "working directory", text(j.cwd)],
    ["cmdline", "command line", text(j.cmdline)],
    ["devices", "devices", text(j.devices)],
    ["gpu_ids", "GPUs", gpuIds(j.gpu_ids)],
    ["idle_since", "idle since", when(j.idle_since)],
  ];
}

/** The newest sample of a job as [field, label, value]; null when the job has none (sampled_at null). */
export function sampleFacts(j) {
  if (typeof j.sampled_at !== "string") return null;
  return [
    ["sampled_at", "sampled", when(j.sampled_at)],
    ["state", "process state", text(j.state)],
    ["cpu_percent", "CPU", pct(j.cpu_percent)],
    ["rss_bytes", "resident memory", bytes(j.rss_bytes)],
    ["threads", "threads", count(j.threads)],
    ["fds", "open files", count(j.fds)],
    ["gpu_memory_bytes", "GPU memory", bytes(j.gpu_memory_bytes)],
    ["gpu_utilization", "GPU utilization", pct(j.gpu_utilization)],
  ];
}

const factList = (id, facts) =>
  el("dl", { class: "facts", id }, ...facts.flatMap(([k, l, v]) => [el("dt", {}, l), el("dd", { dataset: { field: k } }, v)]));

/** A two-column key/value table (parameters, environment); numbers right-aligned. */
function kvTable(id, caption, heads, obj) {
  const entries = obj && typeof obj === "object" && !Array.isArray(obj) ? Object.entries(obj) : [];
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "data compact kv", id },
      el("caption", {}, `${caption}: ${entries.length}`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, heads[0]), el("th", { scope: "col" }, heads[1]))),
      el(
        "tbody",
        {},
        ...entries.map(([k, v]) => el("tr", { dataset: { key: k } }, el("th", { scope: "row" }, k), el("td", { class: isNum(v) ? "num" : "" }, paramValue(v)))),
      ),
    ),
  );
}

/** The parameters, environment and config path sections' bodies for one job. */
function showSettings(j, paramBody, envBody) {
  const params = j.params && typeof j.params === "object" ? j.params : {};
  const env = j.env && typeof j.env === "object" ? j.env : {};
  paramBody.replaceChildren(
    Object.keys(params).length
      ? kvTable("job-params", "Parameters from the command line", ["Parameter", "Value"], params)
      : notice("empty", "No parameters on the command line (or the node agent does not send command lines)."),
    el(
      "p",
      { id: "job-config" },
      el("span", { class: "muted" }, "Config file: "),
      j.config_path ? el("code", { dataset: { field: "config_path" } }, j.config_path) : el("span", { dataset: { field: "config_path" } }, "none named"),
      el("span", { class: "muted small" }, " (the path as the command line names it; the node agent does not read the file)"),
    ),
  );
  envBody.replaceChildren(
    Object.keys(env).length
      ? kvTable("job-env", "Allowlisted environment variables", ["Variable", "Value"], env)
      : notice("empty", "None of the allowlisted environment variables is set for this job (or the list is empty)."),
  );
}

/** #/job/ID — one GPU job. */
export function jobPage(root, route, ctx) {
  const { id } = route.params;
  ctx.setCrumbs([["Fleet", ctx.href.fleet()], ["GPU jobs", ctx.href.jobs()], [`job ${id}`]]);
  let destroyed = false;
  let inflight = false;
  const title = el("h1", { tabindex: "-1" }, `GPU job ${id}`);
  const mk = (t, sid) => {
    const [s, b] = section(t, sid);
    b.append(notice("loading", "loading…"));
    return [s, b];
  };
  const [factsSec, factsBody] = mk("Job", "job-facts-section");
  const [sampleSec, sampleBody] = mk("Newest sample", "job-sample-section");
  const [paramSec, paramBody] = mk("Parameters", "job-params-section");
  const [envSec, envBody] = mk("Environment (allowlisted)", "job-env-section");
  const metrics = metricsPanel(id);
  const [metricSec, metricBody] = section("Metrics", "job-metrics-section");
  metricBody.append(metrics.el);
  root.append(title, factsSec, sampleSec, paramSec, envSec, metricSec);

  function show(j) {
    title.textContent = `GPU job ${text(j.name)} (PID ${count(j.pid)}) on ${text(j.node_name)}`;
    factsBody.replaceChildren(factList("job-facts", jobFacts(j, ctx)));
    const s = sampleFacts(j);
    sampleBody.replaceChildren(s ? factList("job-sample", s) : notice("empty", "no sample yet"));
    showSettings(j, paramBody, envBody);
  }

  async function refresh() {
    if (inflight) return;
    inflight = true;
    try {
      const j = await apiGet(`/v1/jobs/${encodeURIComponent(id)}`);
      if (destroyed) return;
      show(j && typeof j === "object" ? j : {});
      ctx.setError("");
      ctx.markUpdated();
      metrics.load();
    } catch (e) {
      if (!destroyed && e.status !== 401) {
        factsBody.replaceChildren(notice("error", `Cannot load the job: ${e.message}`));
        for (const b of [sampleBody, paramBody, envBody]) b.replaceChildren();
      }
    } finally {
      inflight = false;
    }
  }

  return {
    refresh,
    refreshMs: REFRESH_MS,
    destroy() {
      destroyed = true;
      metrics.destroy();
    },
  };
}

/** The two charts of the metrics panel: [chart id, title, [series names, labels]]. */
export const METRIC_CHARTS = [
  ["job-cpu-chart", "CPU and GPU utilization", [["cpu_percent", "CPU %"], ["gpu_utilization", "GPU utilization %"]]],
  ["job-mem-chart", "Memory", [["rss_bytes", "resident memory"], ["gpu_memory_bytes", "GPU memory"]]],
];
export const METRIC_SPAN = 3600;
export const METRIC_STEP = 60;

/** A metrics answer's series by name: {name: [[ms, value]]} (values not numbers dropped). */
export function readMetrics(data) {
  const out = {};
  for (const s of Array.isArray(data?.series) ? data.series : []) {
    if (typeof s?.name !== "string" || !Array.isArray(s.points)) continue;
    out[s.name] = s.points
      .filter((p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1]))
      .map(([t, v]) => [t < 1e11 ? t * 1000 : t, v]);
  }
  return out;
}

/** The unit a chart of these values is drawn in: "%" (0–100) for percentages up to 100, "% of one core"
 * beyond (a process on several cores), and MiB or GiB for bytes; scale divides the values. */
function chartUnit(chartId, values) {
  const max = values.length ? Math.max(...values) : 0;
  if (chartId === "job-cpu-chart") return { unit: max <= 100 ? "%" : "% (100 = one core)", scale: 1 };
  return max >= 1073741824 ? { unit: "GiB", scale: 1073741824 } : { unit: "MiB", scale: 1048576 };
}

/** The job's metrics over the last hour (step 60 s), two charts; gaps where no sample was taken. */
function metricsPanel(id) {
  let seq = 0;
  let missing = false;
  const charts = new Map();
  const status = el("div", { class: "chart-status", id: "job-metrics-status" });
  const boxes = METRIC_CHARTS.map(([cid, t]) => [cid, t, el("div", { class: "chart", id: cid, role: "img", "aria-label": t, hidden: true })]);
  const rootEl = el("div", { class: "history" }, status, ...boxes.flatMap(([, t, b]) => [el("h3", { class: "chart-title" }, t), b]));

  function clear() {
    for (const c of charts.values()) c.dispose();
    charts.clear();
    for (const [, , b] of boxes) b.hidden = true;
  }

  async function load() {
    if (missing) return;
    const my = ++seq;
    const end = Math.floor(Date.now() / 1000);
    try {
      const data = await apiGet(`/v1/jobs/${encodeURIComponent(id)}/metrics`, { start: end - METRIC_SPAN, end, step: METRIC_STEP });
      if (my !== seq) return;
      const m = readMetrics(data);
      const stepMs = (isNum(data?.step) && data.step > 0 ? data.step : METRIC_STEP) * 1000;
      const counts = Object.entries(m).map(([k, p]) => `${k} ${p.length}`);
      if (!Object.values(m).some((p) => p.length)) {
        clear();
        status.replaceChildren(notice("empty", "no samples of this job in the last hour"));
        return;
      }
      const mod = await import("./charts.js");
      if (my !== seq) return;
      let gaps = 0;
      for (const [cid, , box] of boxes) {
        const names = METRIC_CHARTS.find(([c]) => c === cid)[2];
        const { unit, scale } = chartUnit(cid, names.flatMap(([n]) => (m[n] || []).map((p) => p[1])));
        const drawn = names.map(([n, label]) => ({ name: label, ...withGaps((m[n] || []).map(([t, v]) => [t, v / scale]), stepMs) }));
        gaps += drawn.reduce((n, x) => n + x.gaps, 0);
        box.hidden = false;
        charts.get(cid)?.dispose();
        charts.set(cid, mod.history(box, drawn, unit, [(end - METRIC_SPAN) * 1000, end * 1000]));
      }
      status.replaceChildren(el("p", { class: "muted small" }, `last hour, step ${stepMs / 1000} s; points: ${counts.join(", ")}${gaps ? `; ${gaps} ${gaps === 1 ? "gap" : "gaps"} without samples` : ""}`));
    } catch (e) {
      if (my !== seq) return;
      clear();
      missing = isMissingRoute(e);
      if (missing) status.replaceChildren(notice("missing", "Metrics not available: this hub does not serve job metrics."));
      else if (e.status !== 401) status.replaceChildren(notice("error", `Cannot load the metrics: ${e.message}`));
    }
  }

  return {
    el: rootEl,
    load,
    destroy() {
      seq++;
      clear();
    },
  };
}
