// lens_test.mjs — drives Debian's chromium (headless, through playwright-core) to lens_page.html, served
// by the hub next to its Lens face (/lens/v1), and checks that what the page shows equals what the hub
// answers to the same request. The page calls the routes the way the Lens web console does (LENS_API.md
// 1.5: camelCase parameter keys sent as snake_case, the {meta, data} envelope unwrapped, data camelCased);
// each of its sections records the request it showed (data-query), which this script sends again itself.
// Started by lens_test.sh (PostgreSQL, the hub, two clusters fed by real sim spokes). Prints "ok - …" /
// "not ok - …" lines (the shell script counts them) and exits 1 if any check failed.
//
// Environment: FL_API (hub base URL), FL_WEB_DIR (web/, where playwright-core is installed), FL_ART
// (screenshot folder), FL_CHROMIUM (browser binary), FL_EXPECT_NODES and FL_EXPECT_GPUS ("cluster:N …":
// the GPU nodes and allocatable GPUs the simulators sent).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const API = process.env.FL_API;
const ART = process.env.FL_ART;
const perCluster = (v) => Object.fromEntries((v || "").split(/\s+/).filter(Boolean).map((s) => [s.split(":")[0], Number(s.split(":")[1])]));
const EXPECT_NODES = perCluster(process.env.FL_EXPECT_NODES);
const EXPECT_GPUS = perCluster(process.env.FL_EXPECT_GPUS);
const require = createRequire(join(process.env.FL_WEB_DIR, "package.json"));
const { chromium } = require("playwright-core");
mkdirSync(ART, { recursive: true });

let failed = 0;
const ok = (what) => console.log(`ok - ${what}`);
const notOk = (what, why) => {
  failed++;
  console.log(`not ok - ${what}: ${why}`);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
function checkEq(what, expected, actual) {
  if (same(expected, actual)) ok(what);
  else notOk(what, `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
function checkTrue(what, cond, detail = "") {
  if (cond) ok(what);
  else notOk(what, detail || "false");
}
/** Runs one group of checks; an exception inside it is one failure, and the next group still runs. */
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    notOk(what, String(e.message || e).split("\n")[0]);
  }
}

/** GET /lens/v1 + pathAndQuery from the test itself: HTTP status, the body, its meta and data. */
async function lens(pathAndQuery) {
  const res = await fetch(`${API}/lens/v1${pathAndQuery}`);
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, meta: body?.meta, data: body?.data };
}
/** The answer's data, after checking it is HTTP 200 with meta.code 2000. */
async function lensData(what, pathAndQuery) {
  const a = await lens(pathAndQuery);
  checkEq(`${what}: the hub answers ${pathAndQuery.split("?")[0]} with HTTP 200, meta.code 2000`, "200 2000", `${a.status} ${a.meta?.code}`);
  return a.data;
}

// What the page must show for an API value, restated (the Lens console's rules, LENS_API.md 1.5).
const camel = (o) =>
  Array.isArray(o) ? o.map(camel) : o !== null && typeof o === "object" ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camel(v)])) : o;
const pad = (n) => String(n).padStart(2, "0");
/** dayjs(sec * 1000).format('YYYY-MM-DD HH:mm:ss') in UTC (the browser context's time zone here). */
function when(sec) {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return "Invalid Date";
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
const makePercent = (v) => (v == null ? "-" : `${(v <= 1 ? v * 100 : v).toFixed(2)}%`);
const fixed2 = (v) => (typeof v === "number" ? v.toFixed(2) : String(v));
const PERCENT_KEYS = new Set(["allocationRate", "utilization", "usagePercentage", "inodesUsagePercentage"]);
const expectCards = (o) => Object.entries(camel(o)).map(([k, v]) => [k, PERCENT_KEYS.has(k) ? makePercent(v) : `${v}`]);
const progress = (v) => `${Number(v?.toFixed(2))}%`; // the Nodes page's el-progress: Number(x?.toFixed(2))
const expectNodeRows = (rows) => rows.map((n) => [n.name, `${n.ip}`, `${n.gpu_name}`, `${n.gpu_count}`, `${n.gpu_allocation}`, progress(n.gpu_utilization), `${n.status}`]);
const expectFacts = (d) => Object.entries(camel(d)).map(([k, v]) => [k, typeof v === "string" ? v.trim() : String(v)]);
const expectGpuRows = (devs) => camel(devs).map((x) => [`${x.deviceId}`, `${x.model}`, `${x.memory}`, fixed2(x.utilization), fixed2(x.temperature), fixed2(x.power)]);
const allocText = (a) => (Object.keys(a).length ? Object.keys(a).map((m) => `Model: ${m} Card Hours: ${a[m]}`).join("; ") : "-");
const expectWorkloadRows = (rows) => rows.map((w) => [w.name, w.kind, w.namespace, `${w.gpu_allocated}`, allocText(w.gpu_allocation), when(w.start_at), when(w.end_at), w.status]);
const expectHistoryRows = (h) => {
  const rows = [];
  if (h.allocationRate?.length && h.utilization?.length)
    for (let i = 0; i < Math.min(h.allocationRate.length, h.utilization.length); i++) rows.push([when(h.utilization[i].timestamp), `${h.allocationRate[i].value}`, `${h.utilization[i].value}`]);
  return rows;
};
const expectHourlyRows = (rows) =>
  rows.map((r) => [when(Date.parse(r.stat_hour) / 1000), `${r.total_gpu_capacity}`, `${r.allocated_gpu_count}`, ...["allocation_rate", "avg_utilization", "max_utilization", "min_utilization", "p50_utilization", "p95_utilization"].map((k) => fixed2(r[k])), `${r.sample_count}`]);

// What the page shows.
const cells = (page, sel) => page.$$eval(sel, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
const readCards = (page) => page.$$eval("#overview .card", (cs) => cs.map((c) => [c.dataset.field, c.querySelector(".v").textContent]));
const query = (page, id) => page.getAttribute(`#${id}`, "data-query");
const stateOf = (page, id) => page.getAttribute(`#${id}`, "data-state");
const shot = (page, name) => page.screenshot({ path: join(ART, name), fullPage: true });
/** Waits until the page has loaded every section for cluster c (body[data-loaded] = c). */
const waitLoaded = (page, c) => page.waitForFunction((x) => document.body.dataset.loaded === x, c, { timeout: 30000 });

const launchArgs = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
const browser = await chromium.launch({ executablePath: process.env.FL_CHROMIUM || "/usr/bin/chromium", args: launchArgs });
const apiOrigin = new URL(API).origin;
const foreign = [];
const pageErrors = [];
/** A fresh context (empty localStorage) in UTC; every request to /lens/v1 is recorded in sent. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: "UTC" });
  const page = await context.newPage();
  const sent = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== apiOrigin) foreign.push(r.url());
    else if (u.pathname.startsWith("/lens/v1/")) sent.push(u);
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(15000);
  return { context, page, sent };
}

/** Checks every section the page shows for cluster c against the hub's answers to the same requests. */
async function checkSections(page, c, label) {
  const text = await page.innerText("body");
  checkEq(`${label}: no "Invalid Date" and no NaN shown anywhere on the page`, [], text.match(/Invalid Date|NaN\S*/g) || []);
  await step(`${label}: overview`, async () => {
    checkEq(`${label}: the overview section loaded`, "done", await stateOf(page, "overview"));
    const q = await query(page, "overview");
    checkEq(`${label}: the overview was asked for cluster ${c}`, `/clusters/overview?cluster=${c}`, q);
    const o = await lensData(`${label} overview`, q);
    checkEq(`${label}: the overview cards show every field of the hub's /clusters/overview, camelCased and formatted as the Dashboard formats them`, expectCards(o), await readCards(page));
  });
  let nodes = null;
  await step(`${label}: nodes`, async () => {
    checkEq(`${label}: the node table loaded`, "done", await stateOf(page, "nodes"));
    const q = await query(page, "nodes");
    nodes = await lensData(`${label} nodes`, q);
    checkEq(`${label}: the node table shows the hub's /nodes rows`, expectNodeRows(nodes.data), await cells(page, "#node-rows tr[data-node]"));
    checkEq(`${label}: the node count shown is the hub's total`, `${nodes.total}`, await page.textContent("#node-total"));
    if (EXPECT_NODES[c] !== undefined) checkEq(`${label}: the node count shown is the simulator's GPU nodes`, `${EXPECT_NODES[c]}`, await page.textContent("#node-total"));
    checkEq(`${label}: the node table names the hub's cluster_name`, c, await page.textContent("#node-cluster"));
    const nan = nodes.data.filter((r) => typeof r.gpu_utilization !== "number").map((r) => `${r.name}: ${JSON.stringify(r.gpu_utilization)}`);
    checkEq(`${label}: every node's gpu_utilization is a number (the Nodes page shows NaN% for null)`, [], nan);
  });
  await step(`${label}: node detail`, async () => {
    if (!nodes?.data?.length) return notOk(`${label}: node detail`, "no node to open");
    const n = nodes.data[0];
    checkEq(`${label}: the node detail is the first node's`, n.name, await page.textContent("#node-name"));
    checkEq(`${label}: node detail and GPUs loaded`, ["done", "done"], [await stateOf(page, "node-detail"), await stateOf(page, "node-gpus")]);
    const d = await lensData(`${label} node detail`, await query(page, "node-detail"));
    checkEq(`${label}: the node detail shows every key of /nodes/{name} as label and value`, expectFacts(d), await cells(page, "#node-facts tr"));
    const g = await lensData(`${label} node GPUs`, await query(page, "node-gpus"));
    checkEq(`${label}: the node's GPU table shows the hub's gpuDevices`, expectGpuRows(g.devices), await cells(page, "#gpu-rows tr"));
    checkEq(`${label}: the node's GPU count shown = its devices = its gpu_count in /nodes`, [`${n.gpu_count}`, `${n.gpu_count}`], [await page.textContent("#node-gpu-count"), `${g.devices.length}`]);
  });
  await step(`${label}: workloads`, async () => {
    checkEq(`${label}: the workload table loaded`, "done", await stateOf(page, "workloads"));
    const w = await lensData(`${label} workloads`, await query(page, "workloads"));
    checkTrue(`${label}: the simulated cluster has GPU workloads`, w.total > 0 && w.data.length > 0, `total ${w.total}`);
    const shown = await cells(page, "#workload-rows tr[data-workload]");
    // GPU-hours of running pods grow with the clock: the models must be the same, the hours the same up
    // to two minutes of the workload's GPUs (the page asked a moment before this script).
    const hours = (cell) => (cell === "-" ? {} : Object.fromEntries(cell.split("; ").map((x) => x.match(/^Model: (.*) Card Hours: (.*)$/)).map((m) => [m[1], Number(m[2])])));
    const without = (rows) => rows.map((r) => r.filter((_, i) => i !== 4));
    checkEq(`${label}: the workload table shows the hub's /workloads rows (start and end as dates)`, without(expectWorkloadRows(w.data)), without(shown));
    checkEq(`${label}: the GPU allocation column lists the models of each row's gpu_allocation`, w.data.map((x) => Object.keys(x.gpu_allocation)), shown.map((r) => Object.keys(hours(r[4]))));
    const off = w.data.flatMap((x, i) => Object.entries(x.gpu_allocation).filter(([m, h]) => !(Math.abs(h - (hours(shown[i]?.[4] || "-")[m] ?? NaN)) <= (x.gpu_allocated * 120) / 3600)).map(([m, h]) => `${x.name} ${m}: hub ${h}, page ${shown[i]?.[4]}`));
    checkEq(`${label}: the card hours shown are the hub's gpu_allocation values`, [], off);
    checkTrue(`${label}: every start date is a date, not "Invalid Date"`, shown.length > 0 && shown.every((r) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(r[5])), JSON.stringify(shown.map((r) => r[5])));
    checkTrue(`${label}: start_at is Unix seconds (a date after 2001 and not in the future)`, w.data.every((x) => Number.isInteger(x.start_at) && x.start_at > 1e9 && x.start_at <= Date.now() / 1000 + 60), JSON.stringify(w.data.map((x) => x.start_at)));
    checkTrue(`${label}: end_at is Unix seconds, not 0 (Lens's updated_at, set even while running; the console shows 0 as 1970-01-01)`,
      w.data.every((x) => Number.isInteger(x.end_at) && x.end_at > 1e9), JSON.stringify(w.data.map((x) => `${x.status} ${x.end_at}`)));
    checkTrue(`${label}: gpu_allocation is an object of GPU models (Object.keys works)`, w.data.every((x) => x.gpu_allocation !== null && typeof x.gpu_allocation === "object" && !Array.isArray(x.gpu_allocation)), JSON.stringify(w.data.map((x) => x.gpu_allocation)));
    checkEq(`${label}: the workload count shown is the hub's total`, `${w.total}`, await page.textContent("#workload-total"));
  });
  await step(`${label}: utilization history`, async () => {
    checkEq(`${label}: the utilization history loaded`, "done", await stateOf(page, "history"));
    const q = await query(page, "history");
    checkTrue(`${label}: the history was asked with start, end (Unix seconds) and step 60`, /^\/nodes\/gpuUtilizationHistory\?start=\d+&end=\d+&step=60&cluster=/.test(q), q);
    const h = await lensData(`${label} history`, q);
    const rows = expectHistoryRows(h);
    checkEq(`${label}: the chart's points pair allocationRate and utilization by index, as the hub answers them`, rows, await cells(page, "#history-rows tr"));
    checkTrue(`${label}: the hub has history from the spokes' frames (the chart is not empty)`, rows.length > 0, JSON.stringify(h));
  });
  await step(`${label}: hourly statistics`, async () => {
    checkEq(`${label}: the hourly statistics loaded`, "done", await stateOf(page, "hourly"));
    const q = await query(page, "hourly");
    checkTrue(`${label}: hourly-stats was asked with start_time, end_time (RFC 3339), order_by and order_direction`,
      /^\/gpu-aggregation\/cluster\/hourly-stats\?start_time=[^&]+Z&end_time=[^&]+Z&order_by=time&order_direction=desc&cluster=/.test(q), q);
    const s = await lensData(`${label} hourly`, q);
    checkEq(`${label}: the statistics table shows the hub's hourly rows`, expectHourlyRows(s.data), await cells(page, "#hourly-rows tr"));
    checkEq(`${label}: the statistics total is the hub's`, `${s.total}`, await page.textContent("#hourly-total"));
    checkTrue(`${label}: hourly rows are the cluster's`, s.data.every((r) => r.cluster_name === c), JSON.stringify(s.data.map((r) => r.cluster_name)));
    // lens_test.sh put the spokes' samples into the previous hour, which the hub rolled up.
    const hour = new Date(Math.floor(Date.now() / 3600e3) * 3600e3 - 3600e3);
    const prev = s.data.find((r) => Date.parse(r.stat_hour) === hour.getTime());
    checkTrue(`${label}: the hub has a row for the previous hour, ${hour.toISOString()}`, Boolean(prev), JSON.stringify(s.data.map((r) => r.stat_hour)));
    if (prev) {
      if (EXPECT_GPUS[c] !== undefined) checkEq(`${label}: that hour's total_gpu_capacity is the simulator's GPUs`, EXPECT_GPUS[c], prev.total_gpu_capacity);
      checkTrue(`${label}: that hour counts the node samples`, prev.sample_count > 0, `${prev.sample_count}`);
    }
    checkTrue(`${label}: allocation_rate and the utilization figures are numbers (ClusterStats calls toFixed on them)`,
      s.data.every((r) => ["allocation_rate", "avg_utilization", "max_utilization", "min_utilization", "p50_utilization", "p95_utilization"].every((k) => typeof r[k] === "number")), JSON.stringify(s.data));
  });
}

const clusters = await lensData("cluster list", "/gpu-aggregation/clusters");
const expectedClusters = Object.keys(EXPECT_NODES).sort();
checkEq("the hub lists the clusters the spokes feed, the default cluster (beta) last", expectedClusters, clusters);
const last = clusters[clusters.length - 1];
const other = clusters[0];

const { page, sent } = await newPage();
await step("page loads", async () => {
  await page.goto(`${API}/lens_page.html`);
  await waitLoaded(page, last);
  ok(`the page loaded every section for ${last}`);
});

await step("cluster picker", async () => {
  checkEq("the picker's options are /gpu-aggregation/clusters", clusters, await page.$$eval("#cluster-picker option", (os) => os.map((o) => o.value)));
  checkEq("with nothing selected, the picker takes the last cluster (as Lens does)", last, await page.inputValue("#cluster-picker"));
  checkEq("the selected cluster is kept in the URL", last, new URL(page.url()).searchParams.get("cluster"));
  const first = sent.find((u) => u.pathname === "/lens/v1/gpu-aggregation/clusters");
  checkTrue("the cluster list is asked without ?cluster=", first && !first.searchParams.has("cluster"), first?.search);
});

await step("requests as the console sends them", async () => {
  const keys = sent.flatMap((u) => [...u.searchParams.keys()]);
  checkTrue("every parameter key the page sent is snake_case (camelCase converted)", keys.length > 0 && keys.every((k) => !/[A-Z]/.test(k)), JSON.stringify([...new Set(keys)]));
  const n = sent.find((u) => u.pathname === "/lens/v1/nodes");
  checkEq("/nodes is asked with page_num, page_size, the empty filters, order_by and desc", "page_num=1&page_size=10&name=&gpu_name=&status=&order_by=&desc=false&cluster=" + last, n?.search.slice(1));
  checkTrue(`every call after the cluster list carries cluster=${last}`, sent.filter((u) => !u.pathname.endsWith("/gpu-aggregation/clusters")).every((u) => u.searchParams.get("cluster") === last),
    JSON.stringify(sent.map((u) => u.pathname + u.search)));
});

await checkSections(page, last, last);
await shot(page, `page-${last}.png`);

await step("node table: order_by and desc, then page 2", async () => {
  const ordered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === "/lens/v1/nodes" && u.searchParams.get("order_by") === "gpu_count" && u.searchParams.get("desc") === "true";
  });
  await page.selectOption("#node-order", "gpu_count");
  await page.check("#node-desc");
  checkTrue("sorting by GPU count, descending, is sent as order_by=gpu_count&desc=true", Boolean(await ordered));
  await page.waitForFunction(() => /order_by=gpu_count&desc=true/.test(document.querySelector("#nodes").dataset.query) && document.querySelector("#nodes").dataset.state === "done");
  const p1 = await lensData("sorted nodes", await query(page, "nodes"));
  checkEq("the sorted table shows the hub's answer", expectNodeRows(p1.data), await cells(page, "#node-rows tr[data-node]"));
  const counts = p1.data.map((r) => r.gpu_count);
  checkTrue("the hub's answer is ordered by gpu_count, descending", counts.every((x, i) => i === 0 || counts[i - 1] >= x), JSON.stringify(counts));
  if (p1.total > 10) {
    await page.click("#node-next");
    await page.waitForFunction(() => /page_num=2&/.test(document.querySelector("#nodes").dataset.query) && document.querySelector("#nodes").dataset.state === "done");
    const p2 = await lensData("sorted nodes page 2", await query(page, "nodes"));
    checkEq("next: the table shows the hub's page 2 (page_num=2)", expectNodeRows(p2.data), await cells(page, "#node-rows tr[data-node]"));
    checkEq("page 2 holds the rest of the total", p1.total - 10, p2.data.length);
    await shot(page, "nodes-sorted-page2.png");
  } else notOk("next: page 2", `the cluster has ${p1.total} nodes, one page`);
});

await step("switching the picker", async () => {
  const before = await cells(page, "#node-rows tr[data-node]");
  const from = sent.length;
  await page.selectOption("#cluster-picker", other);
  await waitLoaded(page, other);
  checkEq("after switching, the URL names the new cluster", other, new URL(page.url()).searchParams.get("cluster"));
  const after = sent.slice(from);
  checkTrue(`every call after switching carries cluster=${other}`, after.length > 0 && after.every((u) => u.searchParams.get("cluster") === other), JSON.stringify(after.map((u) => u.pathname + u.search)));
  const shown = await cells(page, "#node-rows tr[data-node]");
  checkTrue("switching the picker changes the nodes shown", !same(before, shown), JSON.stringify(shown));
});
await checkSections(page, other, other);
await shot(page, `page-${other}.png`);

await step("a cluster the hub does not know", async () => {
  const { context, page: wp } = await newPage();
  await wp.goto(`${API}/lens_page.html?cluster=nosuch`);
  await waitLoaded(wp, "nosuch");
  checkEq("the picker keeps the unknown cluster selected (as Lens does)", "nosuch", await wp.inputValue("#cluster-picker"));
  for (const id of ["overview", "nodes", "workloads"]) {
    const q = await query(wp, id);
    const a = await lens(q);
    checkEq(`unknown cluster, ${id}: the hub answers HTTP 200 with a Lens error code`, [200, true], [a.status, typeof a.meta?.code === "number" && a.meta.code !== 2000]);
    checkEq(`unknown cluster, ${id}: the section shows the error`, "error", await stateOf(wp, id));
    checkEq(`unknown cluster, ${id}: the message shown is meta.message, with meta.code`, [a.meta?.message, `${a.meta?.code}`],
      [await wp.textContent(`#${id} .error`), await wp.getAttribute(`#${id} .error`, "data-code")]);
  }
  const o = await lens("/clusters/overview?cluster=nosuch");
  checkEq("unknown cluster: /clusters/overview says 4004 (LENS_API.md 1.3)", 4004, o.meta?.code);
  await shot(wp, "wrong-cluster.png");
  await context.close();
});

checkEq("no request left the hub's origin", [], foreign);
checkEq("no script error on any page", [], pageErrors);
await browser.close();
console.log("# browser checks done");
process.exit(failed ? 1 : 0);
