// console_test.mjs — drives Debian's chromium (headless, through playwright-core) against a running hub
// and compares what the console shows with what the hub's API answers for the same request. Started by
// console_test.sh, which sets up PostgreSQL, the clusters' data (psql rows or real spokes) and the hubs.
// Every route is the real hub's; the one answer supplied inside the browser is a utilization history
// (the psql fixture has no history samples), to draw that chart. Prints "ok - …" / "not ok - …" lines (the
// shell script counts them) and exits 1 if any check failed.
//
// Environment: FL_API (hub base URL), FL_WEB_DIR (web/, where playwright-core is installed),
// FL_ART (screenshot folder), FL_CHROMIUM (browser binary), FL_TOKEN_API and FL_TOKEN (a second hub on
// the same database with hub.api_tokens, and a token of it that sees some clusters only),
// FL_NODE_FILTER (a part of node names in cluster beta for the name filter), FL_EXPECT_IDLE_ALLOC=1 when
// the data has a cluster that must be flagged "allocated but idle", FL_AGENT_NODES (nodes of cluster beta
// whose node page is checked against the node agents' answers; default the first node of beta) and
// FL_EXPECT_AGENTS=1 when those must include an agent ok, an agent lost, no agent and a node the cluster
// role does not report, FL_HISTORY_GAPS=1 when fixture.sql's history with a 25-minute hole is in (node
// alpha-gpu-003, workload fixture-wl-gap).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const API = process.env.FL_API;
const ART = process.env.FL_ART;
const TOKEN_API = process.env.FL_TOKEN_API || "";
const TOKEN = process.env.FL_TOKEN || "";
const NODE_FILTER = process.env.FL_NODE_FILTER || "node-01";
const AGENT_NODES = (process.env.FL_AGENT_NODES || "").split(/\s+/).filter(Boolean);
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

/** One GET through Node's fetch. The hub closes a keep-alive connection after 500 ms idle (civetweb), and a
 * request that races that close fails in transport ("fetch failed", no answer at all): such a GET is sent
 * once more on a new connection, as any HTTP client does; a second transport failure is reported with its
 * cause. An answer, whatever its status, is never retried. */
async function fetchOnce(url, headers) {
  try {
    return await fetch(url, { headers });
  } catch (e) {
    try {
      return await fetch(url, { headers });
    } catch (e2) {
      throw new Error(`GET ${url}: ${e2.message} (${e2.cause?.code || e2.cause?.message || "no cause"}; first try: ${e.cause?.code || e.message})`);
    }
  }
}

async function api(path, base = API, headers = {}) {
  const res = await fetchOnce(base + path, headers);
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, data: body?.data };
}

// The console's formatting, restated (dom.js): what the user must see for an API value.
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const pct = (x) => (isNum(x) ? `${x.toFixed(1)}%` : "–");
const cnt = (x) => (isNum(x) ? String(Math.round(x)) : "–");
const num = (x, digits = 1) => (isNum(x) ? String(Number(x.toFixed(digits))) : "–");
function bytes(x) {
  if (!isNum(x)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = x;
  let i = 0;
  for (; Math.abs(v) >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${Number(v.toFixed(1))} ${units[i]}`;
}
const when = (iso) => (typeof iso === "string" && iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "–");
// node.js's gpuSource and nodeagent.js's cells, restated.
const gpuSource = (s) => (s === "node" ? "node agent" : s === "cluster" ? "cluster role" : "–");
// nodeagent.js's AGENT_GPU_COLUMNS (memory used, health) and jobs.js's cells, restated.
const memUsed = (x) => (isNum(x.memory_used) ? bytes(x.memory_used * 1048576) : "–");
const health = (x) => (x.health ? `${x.health}${x.health_detail ? ` (${x.health_detail})` : ""}` : "–");
const gpuIds = (ids) => (Array.isArray(ids) && ids.length ? ids.join(", ") : "–");
const txt = (s) => (typeof s === "string" && s !== "" ? s : "–");
const rate = (x) => (isNum(x) ? `${bytes(x)}/s` : "–");
const NO_AGENT = "No node agent reports this node (no spoke in the node role has sent a frame for it), so its RDMA devices, device changes and GPU jobs are not known.";
const NO_KUBERNETES = "Kubernetes facts missing (the cluster role does not report this node).";
// node.js's factValue, restated.
function fact(k, v) {
  if (k === "taints") return Array.isArray(v) && v.length ? v.map((t) => `${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`).join(", ") : "none";
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (k === "cpu_millis") return `${num(v / 1000, 2)} cores`;
  if (k === "memory_bytes") return bytes(v);
  if (/utilization/.test(k)) return pct(v);
  return String(v);
}

const launchArgs = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
const browser = await chromium.launch({ executablePath: process.env.FL_CHROMIUM || "/usr/bin/chromium", args: launchArgs });
const apiOrigin = new URL(API).origin;
const foreign = [];
const pageErrors = [];
const dialogs = [];
async function newPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...opts });
  const page = await context.newPage();
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && ![apiOrigin, TOKEN_API && new URL(TOKEN_API).origin].includes(new URL(u).origin)) foreign.push(u);
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.setDefaultTimeout(15000);
  return { context, page };
}
const shot = (page, name) => page.screenshot({ path: join(ART, name), fullPage: true });

/** Each cluster row's cells as the user reads them. */
const readFleetRows = (page) =>
  page.$$eval("#cluster-rows tr[data-cluster]", (trs) =>
    trs.map((tr) => {
      const f = (k) => tr.querySelector(`[data-field="${k}"]`)?.childNodes[0]?.textContent.trim();
      return {
        name: tr.dataset.cluster,
        status: tr.querySelector(".badge")?.textContent,
        age: tr.querySelector(".age")?.textContent,
        healthyNodes: f("healthyNodes"),
        faultyNodes: f("faultyNodes"),
        gpus: f("gpus"),
        allocationRate: f("allocationRate"),
        utilization: f("utilization"),
        fullyIdleNodes: f("fullyIdleNodes"),
        partiallyIdleNodes: f("partiallyIdleNodes"),
        busyNodes: f("busyNodes"),
        flagged: Boolean(tr.querySelector('[data-flag="idle-alloc"]')),
      };
    }),
  );
const expectFleetRow = (c) => {
  const o = c.overview || {};
  return {
    name: c.name,
    status: c.status.replace("_", " "),
    healthyNodes: cnt(o.healthyNodes),
    faultyNodes: cnt(o.faultyNodes),
    gpus: c.overview ? `${cnt(o.gpusAllocated)} / ${cnt(o.gpusAllocatable)}` : "–",
    allocationRate: pct(o.allocationRate),
    utilization: pct(o.utilization),
    fullyIdleNodes: cnt(o.fullyIdleNodes),
    partiallyIdleNodes: cnt(o.partiallyIdleNodes),
    busyNodes: cnt(o.busyNodes),
  };
};
const cardText = (page, root, field) => page.textContent(`${root} [data-field="${field}"] .v`);
const readNodeRows = (page) =>
  page.$$eval("#node-rows tr[data-node]", (trs) =>
    trs.map((tr) => {
      const f = (k) => tr.querySelector(`[data-field="${k}"]`)?.childNodes[0]?.textContent.trim();
      return [tr.querySelector("a").textContent, f("ip"), f("gpu_name"), f("gpu_count"), f("gpu_allocation"), f("gpu_utilization"), f("status")];
    }),
  );
const expectNodeRows = (rows) => rows.map((r) => [r.name, r.ip || "–", r.gpu_name || "–", cnt(r.gpu_count), cnt(r.gpu_allocation), pct(r.gpu_utilization), r.status || "–"]);
/** Waits until the node table shows `first` as its first row (or any change when first is null). */
const waitFirstNode = (page, first) =>
  page.waitForFunction((n) => document.querySelector("#node-rows tr[data-node]")?.dataset.node === n, first);

const { page } = await newPage();
let clusters = [];

// --- fleet page -------------------------------------------------------------------------------------
await step("fleet page loads", async () => {
  await page.goto(API + "/");
  await page.waitForSelector("#cluster-rows tr[data-cluster]");
  clusters = (await api("/v1/clusters")).data;
  const rows = await readFleetRows(page);
  checkEq("fleet page lists every cluster /v1/clusters lists", clusters.map((c) => c.name).sort(), rows.map((r) => r.name).sort());
  for (const c of clusters) {
    const r = rows.find((x) => x.name === c.name) || {};
    const shown = { ...r };
    delete shown.age;
    delete shown.flagged;
    checkEq(`fleet row ${c.name} shows the API's status and numbers`, expectFleetRow(c), shown);
    checkTrue(`fleet row ${c.name} shows the age of its last frame`, c.lastFrameAgeSeconds == null ? r.age === "never" : /ago$/.test(r.age || ""), `age text '${r.age}'`);
  }
  const flagged = clusters.filter((c) => c.overview && c.overview.allocationRate - c.overview.utilization >= 30).map((c) => c.name);
  if (process.env.FL_EXPECT_IDLE_ALLOC === "1") checkTrue("the fixture has an allocated-but-idle cluster", flagged.length > 0, "none");
  checkEq("exactly the allocated-but-idle clusters are flagged", flagged.sort(), rows.filter((r) => r.flagged).map((r) => r.name).sort());
});

/** The summary bar as the user reads it, and what it must show for a /v1/fleet/overview answer. */
const readSummary = async (page) => {
  const card = (k) => cardText(page, "#fleet-summary", k);
  return [await card("clustersOnline"), await card("healthyNodes"), await card("faultyNodes"), await card("gpus"), await card("allocationRate"), await card("utilization"), await card("idle")];
};
const expectSummary = (f) => [
  `${f.byStatus.online} / ${f.clusters}`,
  `${cnt(f.healthyNodes)} / ${cnt(f.totalNodes)}`,
  cnt(f.faultyNodes),
  `${cnt(f.gpusAllocated)} / ${cnt(f.gpusAllocatable)}`,
  pct(f.allocationRate),
  pct(f.utilization),
  `${cnt(f.fullyIdleNodes)} / ${cnt(f.partiallyIdleNodes)} / ${cnt(f.busyNodes)}`,
];

await step("fleet summary", async () => {
  const fo = await api("/v1/fleet/overview");
  checkEq("/v1/fleet/overview answers 200", 200, fo.status);
  const f = fo.data;
  const sum = (k) => clusters.reduce((n, c) => n + (c.overview ? c.overview[k] : 0), 0);
  checkEq("the hub's fleet sums equal its clusters' overviews added up", ["totalNodes", "healthyNodes", "faultyNodes", "gpusAllocatable", "gpusAllocated"].map(sum),
    ["totalNodes", "healthyNodes", "faultyNodes", "gpusAllocatable", "gpusAllocated"].map((k) => f[k]));
  checkEq("the hub's byStatus counts what /v1/clusters says", clusters.filter((c) => c.status === "online").length, f.byStatus.online);
  checkEq("summary shows /v1/fleet/overview: clusters online, nodes, faulty, GPUs, allocation, utilization, idle buckets", expectSummary(f), await readSummary(page));
  const others = [["stale", f.byStatus.stale], ["offline", f.byStatus.offline], ["never seen", f.byStatus.never_seen]].filter(([, n]) => n > 0).map(([w, n]) => `${n} ${w}`).join(" · ");
  checkEq("summary names the clusters not online", others || null, await page.$eval("#fleet-summary", (e) => e.querySelector('[data-field="clustersOther"]')?.textContent ?? null));
  checkTrue("summary says the hub summed it", (await page.textContent("#fleet-summary-source")).startsWith(`Summed by the hub over ${f.clusters} clusters, ${f.clustersReporting} of them reporting`), await page.textContent("#fleet-summary-source"));
});

await step("fleet refresh", async () => {
  checkTrue("header says when the page was updated", /^updated \d+s ago$/.test(await page.textContent("#updated")), await page.textContent("#updated"));
  // The page's own timer asks again; the bound is generous so a busy machine cannot fail it.
  const req = page.waitForRequest((r) => new URL(r.url()).pathname === "/v1/clusters", { timeout: 60000 });
  checkTrue("the fleet page asks /v1/clusters again by itself (its refresh timer)", Boolean(await req));
});

await step("fleet sorting", async () => {
  const sorted = (key, desc) => {
    const v = (c) => (c.overview && isNum(c.overview[key]) ? c.overview[key] : null);
    return [...clusters]
      .sort((a, b) => {
        const va = v(a);
        const vb = v(b);
        if ((va === null) !== (vb === null)) return va === null ? 1 : -1;
        const r = va === null ? 0 : va - vb;
        return (desc ? -r : r) || (a.name < b.name ? -1 : 1);
      })
      .map((c) => c.name);
  };
  const names = async () => (await readFleetRows(page)).map((r) => r.name);
  await page.click('th[data-col="utilization"] button');
  checkEq("clicking Utilization sorts by it, ascending", sorted("utilization", false), await names());
  checkEq("the sorted column says so (aria-sort)", "ascending", await page.getAttribute('th[data-col="utilization"]', "aria-sort"));
  await page.focus('th[data-col="utilization"] button');
  await page.keyboard.press("Enter");
  checkEq("Enter on the focused header sorts descending (keyboard)", sorted("utilization", true), await names());
  await page.click('th[data-col="name"] button');
  checkEq("clicking Cluster sorts by name", clusters.map((c) => c.name).sort(), await names());
});

await step("fleet label filter", async () => {
  const req = page.waitForRequest((r) => r.url().includes("/v1/clusters?label=region%3Dus-east"));
  await page.fill("#label-filter", "region=us-east");
  await page.press("#label-filter", "Enter");
  checkTrue("the label filter asks the hub /v1/clusters?label=region=us-east", Boolean(await req));
  const want = clusters.filter((c) => c.labels?.region === "us-east").map((c) => c.name).sort();
  await page.waitForFunction((n) => document.querySelectorAll("#cluster-rows tr[data-cluster]").length === n, want.length);
  checkEq("with region=us-east only those clusters are listed", want, (await readFleetRows(page)).map((r) => r.name).sort());
  checkEq("the caption counts them", `Clusters with label region=us-east: ${want.length}`, await page.textContent("#clusters caption"));
  const fe = (await api("/v1/fleet/overview?label=region%3Dus-east")).data;
  await page.waitForFunction((t) => document.querySelector('#fleet-summary [data-field="gpus"] .v')?.textContent === t, `${cnt(fe.gpusAllocated)} / ${cnt(fe.gpusAllocatable)}`);
  checkEq("with region=us-east the summary shows /v1/fleet/overview?label=region=us-east", expectSummary(fe), await readSummary(page));
  await shot(page, "fleet-filtered.png");
  await page.fill("#label-filter", "region=mars");
  await page.press("#label-filter", "Enter");
  await page.waitForFunction(() => document.querySelector("#cluster-rows")?.textContent.includes("no cluster has the label region=mars"));
  await page.waitForFunction(() => document.querySelector('#fleet-summary [data-field="clustersOnline"] .v')?.textContent === "0 / 0");
  ok("a label no cluster has: the table says so and the summary counts 0 / 0 clusters");
  await page.click("text=Clear");
  await page.waitForFunction((n) => document.querySelectorAll("#cluster-rows tr[data-cluster]").length === n, clusters.length);
  ok("Clear lists every cluster again");
  await shot(page, "fleet.png");
});

// --- cluster page -----------------------------------------------------------------------------------
const C = "beta";
await step("cluster page", async () => {
  await page.click(`tr[data-cluster="${C}"] a[data-link="cluster"]`);
  await page.waitForSelector('#overview-cards [data-field="healthyNodes"]');
  checkEq("a click on a cluster opens its page", `#/cluster/${C}`, new URL(page.url()).hash);
  checkTrue("the page's heading names the cluster", (await page.textContent("h1")).includes(`Cluster ${C}`));
  const o = (await api(`/v1/clusters/overview?cluster=${C}`)).data;
  checkEq("cluster page shows the overview's status", o.status, await page.textContent("h1 .badge"));
  const card = (k) => cardText(page, "#overview-cards", k);
  checkEq("overview card: GPU nodes healthy / total", `${cnt(o.healthyNodes)} / ${cnt(o.totalNodes)}`, await card("healthyNodes"));
  checkEq("overview card: faulty", cnt(o.faultyNodes), await card("faultyNodes"));
  checkEq("overview card: GPUs allocated / allocatable", `${cnt(o.gpusAllocated)} / ${cnt(o.gpusAllocatable)}`, await card("gpus"));
  checkEq("overview card: allocation rate", pct(o.allocationRate), await card("allocationRate"));
  checkEq("overview card: utilization", pct(o.utilization), await card("utilization"));
  checkEq("overview cards: fully idle, partially idle, busy", [o.fullyIdleNodes, o.partiallyIdleNodes, o.busyNodes].map(cnt), [await card("fullyIdleNodes"), await card("partiallyIdleNodes"), await card("busyNodes")]);
});

await step("node table", async () => {
  await page.waitForSelector("#node-rows tr[data-node]");
  const p1 = (await api(`/v1/nodes?cluster=${C}&page_num=1&page_size=10`)).data;
  checkEq("node table page 1 shows the API's rows", expectNodeRows(p1.data), await readNodeRows(page));
  const pages = Math.ceil(p1.total / 10);
  checkEq("pager shows the page and the API's total", `page 1 of ${pages} · ${p1.total} nodes`, await page.textContent("#node-page-info"));
  checkTrue("Previous is disabled on page 1", await page.isDisabled("#node-prev"));

  const p2 = (await api(`/v1/nodes?cluster=${C}&page_num=2&page_size=10`)).data;
  await page.click("#node-next");
  await waitFirstNode(page, p2.data[0].name);
  checkEq("Next shows the API's page 2", expectNodeRows(p2.data), await readNodeRows(page));

  const big = (await api(`/v1/nodes?cluster=${C}&page_num=1&page_size=25`)).data;
  await page.selectOption("#node-page-size", "25");
  await page.waitForFunction((n) => document.querySelectorAll("#node-rows tr[data-node]").length === n, big.data.length);
  checkEq("25 rows per page shows the API's first 25", expectNodeRows(big.data), await readNodeRows(page));
  await page.selectOption("#node-page-size", "10");
  await waitFirstNode(page, p1.data[0].name);

  // Filters and sorting: the table must show what the hub answers for the last request the page made.
  const asked = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/v1/nodes") asked.push(new URL(r.url()));
  });
  for (const [what, param, value, act] of [
    [`name filter '${NODE_FILTER}'`, "name", NODE_FILTER, async () => {
      await page.fill("#node-name", NODE_FILTER);
      await page.press("#node-name", "Enter");
    }],
    ["status filter NotReady", "status", "NotReady", async () => {
      await page.fill("#node-name", "");
      await page.selectOption("#node-status", "NotReady");
    }],
    ["sorting by utilization", "order_by", "gpu_utilization", async () => {
      await page.selectOption("#node-status", "");
      await page.click('th[data-col="gpu_utilization"] button');
    }],
  ]) {
    const sent = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/nodes" && new URL(r.url()).searchParams.get(param) === value);
    await act();
    checkTrue(`${what} is sent as ?${param}=${value}`, Boolean(await sent));
    await page.waitForTimeout(700); // the name box is debounced (400 ms): let the last request land
    const url = asked[asked.length - 1];
    const answer = (await api(url.pathname + url.search)).data;
    checkEq(`${what}: the table shows the hub's answer to ${url.search}`, expectNodeRows(answer.data), await readNodeRows(page));
    if (param === "name") {
      checkTrue(`the hub's answer to ?name=${NODE_FILTER} is not empty and every row matches`, answer.data.length > 0 && answer.data.every((r) => r.name.includes(NODE_FILTER)), JSON.stringify(answer.data.map((r) => r.name)));
    }
  }
  await page.click('th[data-col="gpu_utilization"] button'); // back to the hub's order: descending, then…
  await page.waitForTimeout(300);
});

await step("heat map", async () => {
  const hm = await api(`/v1/clusters/gpuHeatmap?cluster=${C}`);
  checkEq("/v1/clusters/gpuHeatmap answers 200", 200, hm.status);
  const rows = hm.data.rows;
  const ids = [...new Set(rows.flatMap((r) => r.gpu_ids))].sort((a, b) => a - b);
  checkTrue("the hub's heat map has rows, every row of this cluster", rows.length > 0 && rows.every((r) => r.cluster_name === C), `${rows.length} rows`);
  checkEq("the hub's maxGpus is its widest row", Math.max(...rows.map((r) => r.gpu_ids.length)), hm.data.maxGpus);
  await page.waitForSelector("#heatmap-chart canvas");
  ok("heat map: drawn with ECharts from the hub's answer");
  checkEq("heat map table: one column per GPU id of the answer", ["Node", ...ids.map((g) => `GPU ${g}`)], await page.$$eval("#heatmap-table thead th", (ths) => ths.map((t) => t.textContent)));
  const want = rows.map((r) => [r.name, ...ids.map((g) => {
    const k = r.gpu_ids.indexOf(g);
    return k < 0 ? "" : isNum(r.utilization[k]) ? r.utilization[k].toFixed(1) : "–";
  })]);
  checkEq("heat map table: every node's GPU utilization as the hub answers it", want, await page.$$eval("#heatmap-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent))));
  const figures = rows.reduce((n, r) => n + r.utilization.filter(isNum).length, 0);
  const none = rows.reduce((n, r) => n + r.utilization.filter((u) => !isNum(u)).length, 0);
  checkEq("heat map summary counts the GPUs with and without a figure", `utilization (%) of ${figures} GPUs on ${rows.length} nodes${none ? `; ${none} GPUs report no utilization (–)` : ""}`, await page.textContent("#heatmap-summary"));
});

await step("history (real hub)", async () => {
  const node = await page.getAttribute("#node-rows tr[data-node]", "data-node");
  const end = Math.floor(Date.now() / 1000);
  const h = await api(`/v1/nodes/${node}/utilizationHistory?cluster=${C}&start=${end - 3600}&end=${end}&step=15`);
  checkEq("utilizationHistory answers 200 / 2000", "200 2000", `${h.status} ${h.body?.meta?.code}`);
  const points = (h.data?.series || []).reduce((n, x) => n + x.points.length, 0);
  if (points > 0) {
    // frames from real spokes leave samples: the chart is drawn from the hub's answer
    await page.waitForFunction(() => / series, \d+ points/.test(document.querySelector("#history")?.textContent || ""));
    checkTrue("history: the page counts the hub's series and points", (await page.textContent("#history")).includes("points"), await page.textContent("#history"));
  } else {
    // rows written with psql leave no samples: the page says so rather than drawing zeros
    await page.waitForSelector('#history [data-state="empty"]');
    checkTrue("history: the page says there is no history in this range", (await page.textContent("#history")).includes("no utilization history"), await page.textContent("#history"));
  }
  await page.waitForTimeout(300);
  await shot(page, "cluster.png");
});

await step("workloads", async () => {
  const expectRows = (list) => list.map((w) => [`${w.namespace}/${w.name}`, w.kind, w.status, cnt(w.gpu_request), cnt(w.pods), pct(w.gpu_utilization), when(w.created_at), when(w.ended_at)]);
  const readRows = () => page.$$eval("#workload-rows tr[data-workload]", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  const live = (await api(`/v1/workloads?cluster=${C}&status=Running,Pending&page_num=1&page_size=10`)).data;
  if (live.total > 0) {
    await page.waitForSelector("#workload-rows tr[data-workload]");
    checkEq("workloads: the table shows the hub's running or pending workloads, page 1", expectRows(live.data), await readRows());
  } else {
    await page.waitForFunction(() => (document.querySelector("#workload-rows")?.textContent || "").includes("no GPU workload"));
    ok("workloads: the cluster has none running or pending, and the table says so");
  }
  checkEq("workloads: the pager counts the hub's total", `page 1 of ${Math.max(1, Math.ceil(live.total / 10))} · ${live.total} workloads`, await page.textContent("#workload-page-info"));
  const all = (await api(`/v1/workloads?cluster=${C}&page_num=1&page_size=10`)).data;
  const sent = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/workloads" && !new URL(r.url()).searchParams.has("status"));
  await page.selectOption("#workload-status", "");
  checkTrue("workloads: 'any' asks the hub without a status", Boolean(await sent));
  await page.waitForFunction((n) => document.querySelector("#workload-page-info")?.textContent.endsWith(`· ${n} workloads`), all.total);
  checkEq("workloads: 'any' shows the hub's first page of every workload", expectRows(all.data), await readRows());
  if (process.env.FL_FIXTURE === "spokes") checkTrue("workloads: the simulated spokes' clusters have GPU workloads", all.total > 0, `${all.total}`);
  await page.selectOption("#workload-status", "Running,Pending");
  if (live.total > 0) {
    // A workload's page: its facts, its pods as the hub lists them, its history panel.
    const w = live.data[0];
    await page.waitForSelector(`#workload-rows tr[data-workload="${w.uid}"] a[data-link="workload"]`);
    await page.click(`#workload-rows tr[data-workload="${w.uid}"] a[data-link="workload"]`);
    await page.waitForSelector("#workload-facts");
    checkEq("a click on a workload opens its page", `#/cluster/${C}/workload/${w.uid}`, new URL(page.url()).hash);
    const one = (await api(`/v1/workloads/${w.uid}?cluster=${C}`)).data;
    checkEq("workload page: heading, status, GPUs and live pods as the hub answers", [`${one.kind} ${one.namespace}/${one.name}`, one.status, cnt(one.gpu_request), cnt(one.pods)],
      [await page.textContent("h1"), await page.textContent('#workload-facts [data-field="status"]'), await page.textContent('#workload-facts [data-field="GPUs requested"]'), await page.textContent('#workload-facts [data-field="live pods"]')]);
    const podRows = (list) => list.map((p) => [p.name, p.node_name || "–", cnt(p.gpus), p.phase || "–", pct(p.gpu_utilization), when(p.created_at)]);
    await page.waitForSelector("#workload-pods tbody tr");
    checkEq("workload page: its pods as the hub lists them", podRows(one.gpu_pods), await page.$$eval("#workload-pods tbody tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent))));
    await page.waitForFunction(() => / series, \d+ points|no utilization history/.test(document.querySelector("#workload-history-section")?.textContent || ""));
    ok("workload page: the history panel answers from /v1/workloads/{uid}/utilizationHistory");
    await shot(page, "workload.png");
    await page.goBack();
    await page.waitForSelector("#node-rows tr[data-node]");
  }
});

// --- node page --------------------------------------------------------------------------------------
await step("node page", async () => {
  const first = await page.getAttribute("#node-rows tr[data-node]", "data-node");
  await page.focus(`#node-rows tr[data-node="${first}"] a`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#facts dl, #facts [data-state]:not([data-state=loading])");
  checkEq("Enter on a node link opens the node page (keyboard)", `#/cluster/${C}/node/${first}`, new URL(page.url()).hash);
  const facts = await api(`/v1/nodes/${first}?cluster=${C}`);
  checkEq("/v1/nodes/{name} answers 200", 200, facts.status);
  await page.waitForSelector("#node-facts dd");
  const shown = Object.fromEntries(await page.$$eval("#node-facts dd", (dds) => dds.map((d) => [d.dataset.field, d.textContent])));
  const factKeys = Object.keys(facts.data).filter((k) => k !== "agent" && k !== "kubernetes");
  checkEq("node facts list every field /v1/nodes/{name} gives but agent and kubernetes (the agent's sections)", factKeys.sort(), Object.keys(shown).sort());
  checkEq("node facts show the hub's values", factKeys.sort().map((k) => [k, fact(k, facts.data[k])]), Object.keys(shown).sort().map((k) => [k, shown[k]]));
  const gd = await api(`/v1/nodes/${first}/gpuDevices?cluster=${C}`);
  checkEq("/v1/nodes/{name}/gpuDevices answers 200 with the node's GPUs", [200, facts.data.gpu_devices], [gd.status, gd.data.length]);
  await page.waitForSelector("#gpu-devices tbody tr");
  const g = await page.$$eval("#gpu-devices tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.childNodes[0]?.textContent.trim())));
  checkEq("GPU table shows every GPU of the answer with every figure, memory used, health and who read it", gd.data.map((x) => [String(x.gpu_id), x.gpu_model || "–", bytes(x.memory * 1048576), pct(x.utilization), isNum(x.temperature) ? `${num(x.temperature)} °C` : "–", isNum(x.power) ? `${num(x.power)} W` : "–", x.serial || "–", String(x.numa), memUsed(x), health(x), gpuSource(x.source)]), g);
  await page.waitForTimeout(300);
  await shot(page, "node.png");
});

// --- node agents: the agent, RDMA devices, device changes and GPU jobs on the node page ----------------
await step("node agents", async () => {
  const nodes = AGENT_NODES.length ? AGENT_NODES : [(await api(`/v1/nodes?cluster=${C}&page_size=1`)).data.data[0].name];
  const seen = { ok: 0, lost: 0, none: 0, noKubernetes: 0, rdma: 0, changes: 0, jobPages: 0, unhealthy: 0, healthChange: 0 };
  const readRows = (sel) => page.$$eval(sel, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  for (const [i, n] of nodes.entries()) {
    await page.evaluate((h) => (location.hash = h), `#/cluster/${C}/node/${encodeURIComponent(n)}`);
    await page.waitForFunction((t) => document.querySelector("h1")?.textContent === t, `Node ${n}`);
    await page.waitForSelector('#agent-facts, #agent [data-state="missing"], #agent [data-state="error"]');
    const f = await api(`/v1/nodes/${encodeURIComponent(n)}?cluster=${C}`);
    checkEq(`${n}: /v1/nodes/{name} answers 200 with kubernetes true or false`, [200, "boolean"], [f.status, typeof f.data.kubernetes]);
    const a = f.data.agent;
    await page.waitForSelector("#node-facts");
    const missing = await page.$$eval('#facts [data-state="missing"]', (ps) => ps.map((p) => p.textContent));
    if (f.data.kubernetes === false) {
      seen.noKubernetes++;
      checkEq(`${n}: the facts say the Kubernetes facts are missing, and list what the hub has`, [[NO_KUBERNETES], ["cluster_name", "name"]],
        [missing, (await page.$$eval("#node-facts dd", (dds) => dds.map((d) => d.dataset.field))).sort()]);
    } else {
      checkEq(`${n}: the cluster role reports it: no 'Kubernetes facts missing'`, [], missing);
    }
    if (a === null) {
      seen.none++;
      checkEq(`${n}: agent null: the page says no node agent reports this node, and what is not known`, [NO_AGENT, "Not known: no node agent reports this node.", "Not known: no node agent reports this node."],
        [await page.textContent('#agent [data-state="missing"]'), await page.textContent('#rdma [data-state="missing"]'), await page.textContent('#device-changes-section [data-state="missing"]')]);
    } else {
      seen[a.status === "lost" ? "lost" : "ok"]++;
      const dd = (k) => page.$eval(`#agent-facts [data-field="${k}"]`, (d) => d.childNodes[0]?.textContent ?? null).catch(() => null);
      checkEq(`${n}: the agent's status, last seen, GPU source, spoke and job counts as the hub answers`,
        [a.status, a.status === "lost" ? when(a.lost_at) : null, when(a.last_seen), txt(a.gpu_source), `${a.spoke_id}${a.spoke_version ? ` (version ${a.spoke_version})` : ""}`, cnt(a.gpus), `${cnt(a.running_jobs)} running, ${cnt(a.lost_jobs)} lost`],
        [await page.textContent("#agent-facts .agent-status"), await dd("lost_at"), await dd("last_seen"), await dd("gpu_source"), await dd("spoke"), await dd("gpus"), await dd("jobs")]);
      if (a.rdma_devices.length) {
        seen.rdma++;
        checkEq(`${n}: the RDMA table shows every device with GUID, firmware, port, link and rates (bytes/s, – when none)`,
          a.rdma_devices.map((d) => [d.name, txt(d.node_guid), txt(d.fw_version), txt(d.port_state), txt(d.link_layer), rate(d.rx_rate), rate(d.tx_rate)]), await readRows("#rdma-devices tbody tr"));
        checkEq(`${n}: the first RDMA device's GUID is on the page`, a.rdma_devices[0].node_guid, await page.textContent(`#rdma-devices tr[data-rdma="${a.rdma_devices[0].name}"] td`));
      } else {
        checkTrue(`${n}: no RDMA devices: the page says so`, (await page.textContent("#rdma")).includes("reports no RDMA devices"), await page.textContent("#rdma"));
      }
      if (a.device_changes.length) {
        seen.changes++;
        const dev = (c) => `${c.device_type === "gpu" ? "GPU" : "RDMA"} ${c.device}`;
        if (a.device_changes.some((c) => c.change === "health")) seen.healthChange++;
        checkEq(`${n}: the device changes, newest first, as the hub answers`, a.device_changes.map((c) => [when(c.changed_at), dev(c), c.change, txt(c.old_identity), txt(c.new_identity), txt(c.detail)]), await readRows("#device-changes tbody tr"));
      } else {
        checkTrue(`${n}: no device changes: the page says so`, (await page.textContent("#device-changes-section")).includes("No device has appeared"), await page.textContent("#device-changes-section"));
      }
    }
    // GPU jobs: running or lost (the default), then any status, page by page.
    const jobRows = (list) => list.map((j) => [cnt(j.pid), txt(j.name), txt(j.framework), txt(j.status), txt(j.pod_uid), when(j.started_at), when(j.last_seen), txt(j.cmdline)]);
    const q = (status, p) => `/v1/jobs?cluster=${C}&node=${encodeURIComponent(n)}${status ? `&status=${status}` : ""}&page_num=${p}&page_size=10`;
    const showsJobs = async (what, status, p) => {
      const want = (await api(q(status, p))).data;
      const pages = Math.max(1, Math.ceil(want.total / 10));
      await page.waitForFunction((t) => document.querySelector("#job-page-info")?.textContent === t, `page ${p} of ${pages} · ${want.total} jobs`);
      const rows = await readRows("#job-rows tr[data-job]");
      checkEq(`${n}: GPU jobs (${what}, page ${p}): as many rows as the hub answers, with every cell`, [want.data.length, jobRows(want.data)], [rows.length, rows]);
      checkEq(`${n}: GPU jobs (${what}, page ${p}): each row links to its job's page`, want.data.map((j) => `#/job/${j.id}`), await page.$$eval('#job-rows tr[data-job] a[data-link="job"]', (as) => as.map((a) => a.getAttribute("href"))));
      checkEq(`${n}: GPU jobs (${what}, page ${p}): each command line's whole text is in its title`, want.data.map((j) => j.cmdline || null), await page.$$eval("#job-rows tr[data-job] td.cmdline", (tds) => tds.map((t) => t.getAttribute("title"))));
      if (want.total === 0) checkTrue(`${n}: GPU jobs (${what}): none, and the table says so`, (await page.textContent("#job-rows")).includes("no GPU job"), await page.textContent("#job-rows"));
      return want;
    };
    await showsJobs("running or lost", "running,lost", 1);
    const sent = page.waitForResponse((r) => new URL(r.url()).pathname === "/v1/jobs" && !new URL(r.url()).searchParams.has("status"));
    await page.selectOption("#job-status", "");
    checkTrue(`${n}: GPU jobs 'any' asks /v1/jobs with cluster and node and no status`, ((u) => u.searchParams.get("cluster") === C && u.searchParams.get("node") === n)(new URL((await sent).url())));
    const any = await showsJobs("any", "", 1);
    if (any.total > 10) {
      seen.jobPages++;
      checkTrue(`${n}: GPU jobs: Previous is disabled on page 1`, await page.isDisabled("#job-prev"));
      await page.click("#job-next");
      await showsJobs("any", "", 2);
    }
    const lost = any.data.filter((j) => j.status === "lost").length;
    if (lost) checkEq(`${n}: lost jobs are shown lost`, lost, await page.locator("#job-rows .job-status.lost").count());
    checkEq(`${n}: command lines are text, never markup (no element from them)`, 0, await page.locator("#jobs td.cmdline *").count());
    const gd = (await api(`/v1/nodes/${encodeURIComponent(n)}/gpuDevices?cluster=${C}`)).data;
    if (gd.length) {
      await page.waitForSelector("#gpu-devices tbody tr");
      checkEq(`${n}: the GPU table says who read each GPU (gpuDevices' source)`, gd.map((g) => gpuSource(g.source)), await page.$$eval('#gpu-devices tbody [data-field="source"]', (tds) => tds.map((t) => t.textContent)));
      checkEq(`${n}: the GPU table shows each GPU's memory used and health as gpuDevices answers`, gd.map((g) => [memUsed(g), health(g)]),
        await page.$$eval("#gpu-devices tbody tr", (trs) => trs.map((tr) => ["memory_used", "health"].map((k) => tr.querySelector(`[data-field="${k}"]`).textContent))));
      const bad = gd.filter((g) => g.health === "unhealthy").map((g) => String(g.gpu_id));
      if (bad.length) {
        seen.unhealthy++;
        checkEq(`${n}: unhealthy GPUs (${bad.join(", ")}) are drawn in the error colour (as a lost job)`, bad.map(() => "rgb(255, 138, 128)"),
          await page.$$eval('#gpu-devices .gpu-health[data-health="unhealthy"]', (ss) => ss.map((x) => getComputedStyle(x).color)));
      }
    }
    if (i === 0) {
      await page.waitForTimeout(300);
      await shot(page, "node-agent.png");
      const again = page.waitForRequest((r) => new URL(r.url()).pathname === "/v1/jobs", { timeout: 60000 });
      checkTrue(`${n}: the node page asks /v1/jobs again by itself (the page's refresh timer)`, Boolean(await again));
    }
  }
  if (process.env.FL_EXPECT_AGENTS === "1") {
    checkEq("the fixture's nodes cover an agent ok, an agent lost, no agent, no Kubernetes facts, RDMA devices, device changes, two pages of jobs, an unhealthy GPU and a health change",
      { ok: true, lost: true, none: true, noKubernetes: true, rdma: true, changes: true, jobPages: true, unhealthy: true, healthChange: true }, Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v > 0])));
  }
});

// --- GPU jobs: the fleet's jobs page (#/jobs) and one job's page (#/job/ID), issue 18 ---------------------
const fleetJobCells = (j) => [txt(j.cluster_name), txt(j.node_name), cnt(j.pid), txt(j.name), txt(j.framework), txt(j.status), pct(j.cpu_percent),
  bytes(j.rss_bytes), bytes(j.gpu_memory_bytes), pct(j.gpu_utilization), gpuIds(j.gpu_ids), when(j.idle_since), when(j.started_at)];
const paramText = (v) => (isNum(v) ? String(v) : typeof v === "string" ? v : JSON.stringify(v));
/** Waits until the jobs table shows the hub's answer to the same query (its rows' ids and pager), then
 * compares every cell and link with it. `sent` is the query the page is expected to have sent. */
async function showsFleetJobs(what, sent, p = 1) {
  const want = (await api(`/v1/jobs?${sent ? `${sent}&` : ""}page_num=${p}&page_size=10`)).data;
  const pages = Math.max(1, Math.ceil(want.total / 10));
  await page.waitForFunction(([ids, info]) => [...document.querySelectorAll("#jobs-rows tr[data-job]")].map((t) => t.dataset.job).join() === ids && document.querySelector("#jobs-page-info")?.textContent === info,
    [want.data.map((j) => String(j.id)).join(), `page ${p} of ${pages} · ${want.total} jobs`]);
  checkEq(`jobs page (${what}, page ${p}): every row and cell as /v1/jobs?${sent} answers`, want.data.map(fleetJobCells),
    await page.$$eval("#jobs-rows tr[data-job]", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent))));
  checkEq(`jobs page (${what}, page ${p}): each row's PID links to its job's page`, want.data.map((j) => `#/job/${j.id}`),
    await page.$$eval('#jobs-rows a[data-link="job"]', (as) => as.map((a) => a.getAttribute("href"))));
  if (want.total === 0) checkTrue(`jobs page (${what}): none, and the table says so`, (await page.textContent("#jobs-rows")).includes("no GPU job matches"), await page.textContent("#jobs-rows"));
  return want;
}
/** Sets one filter and checks the request the page sends carries it (param=value). */
async function jobFilter(what, param, value, act) {
  const sent = page.waitForRequest((r) => new URL(r.url()).pathname === "/v1/jobs" && new URL(r.url()).searchParams.get(param) === value);
  await act();
  const u = new URL((await sent).url());
  checkTrue(`jobs page: ${what} is sent as ?${param}=${value}, from page 1`, u.searchParams.get("page_num") === "1", u.search);
  return u;
}
const EXPECT_JOBS = process.env.FL_EXPECT_AGENTS === "1"; // fixture.sql's jobs (issue 18's fields) are in

await step("GPU jobs page", async () => {
  await page.click("#nav-jobs");
  await page.waitForSelector("#jobs-filters");
  checkEq("the header's GPU jobs link opens #/jobs, marked as the current page", ["#/jobs", "page"], [new URL(page.url()).hash, await page.getAttribute("#nav-jobs", "aria-current")]);
  const live = await showsFleetJobs("running or lost", "status=running%2Clost");
  if (live.total > 10) {
    await page.click("#jobs-next");
    await showsFleetJobs("running or lost", "status=running%2Clost", 2);
  }
  await jobFilter("status any", "page_num", "1", () => page.selectOption("#jobs-status", ""));
  const any = await showsFleetJobs("any status", "");
  if (EXPECT_JOBS) checkEq("the fixture's 17 GPU jobs across the fleet", 17, any.total);
  await jobFilter("the parameter filter", "param", "batch-size=256", async () => {
    await page.fill("#jobs-param", "batch-size=256");
    await page.press("#jobs-param", "Enter");
  });
  const byParam = await showsFleetJobs("parameter batch-size=256", "param=batch-size%3D256");
  if (EXPECT_JOBS) checkEq("param=batch-size=256 finds fixture job 4013 alone", [4013], byParam.data.map((j) => j.pid));
  await jobFilter("the parameter filter with a number", "param", "seed=7", async () => {
    await page.fill("#jobs-param", "seed=7");
    await page.press("#jobs-param", "Enter");
  });
  const bySeed = await showsFleetJobs("parameter seed=7", "param=seed%3D7");
  if (EXPECT_JOBS) checkEq("param=seed=7 finds fixture job 4007 alone (7 the number)", [4007], bySeed.data.map((j) => j.pid));
  await page.fill("#jobs-param", "");
  await jobFilter("the idle checkbox", "idle", "true", () => page.check("#jobs-idle"));
  const idle = await showsFleetJobs("idle", "idle=true");
  if (EXPECT_JOBS) checkEq("idle=true finds fixture job 4004 alone, idle since 45 minutes ago", [[4004], 1], [idle.data.map((j) => j.pid), idle.total]);
  await page.uncheck("#jobs-idle");
  await jobFilter("cluster, node and framework", "framework", "jax", async () => {
    await page.selectOption("#jobs-cluster", "beta");
    await page.fill("#jobs-node", "beta-node-001");
    await page.fill("#jobs-framework", "jax");
    await page.press("#jobs-framework", "Enter");
  });
  const jax = await showsFleetJobs("beta, beta-node-001, jax", "cluster=beta&node=beta-node-001&framework=jax");
  if (EXPECT_JOBS) checkEq("cluster beta, node beta-node-001, framework jax: fixture jobs 4012, 4008, 4004", [4012, 4008, 4004], jax.data.map((j) => j.pid));
  checkEq("the filters are in the address", "#/jobs?cluster=beta&node=beta-node-001&framework=jax&status=any", new URL(page.url()).hash);
  await page.reload();
  await page.waitForSelector("#jobs-filters");
  await showsFleetJobs("after a reload", "cluster=beta&node=beta-node-001&framework=jax");
  checkEq("after a reload the filters are as the address says", ["beta", "beta-node-001", "jax", ""], await Promise.all(["#jobs-cluster", "#jobs-node", "#jobs-framework", "#jobs-status"].map((s) => page.inputValue(s))));
  await page.waitForTimeout(300);
  await shot(page, "jobs.png");
});

/** One job's page against /v1/jobs/{id} and the metrics answer the page itself received. */
async function checkJobPage(id, go = () => page.evaluate((h) => (location.hash = h), `#/job/${id}`)) {
  const metrics = page.waitForResponse((r) => new URL(r.url()).pathname === `/v1/jobs/${id}/metrics`);
  await go();
  checkEq(`job ${id}: the page's address`, `#/job/${id}`, new URL(page.url()).hash);
  const j = (await api(`/v1/jobs/${id}`)).data;
  const who = `job ${id} (pid ${j.pid})`;
  await page.waitForFunction((t) => document.querySelector("h1")?.textContent === t, `GPU job ${txt(j.name)} (PID ${cnt(j.pid)}) on ${txt(j.node_name)}`);
  await page.waitForSelector("#job-facts");
  const dd = (sel) => page.$$eval(`${sel} dd`, (dds) => Object.fromEntries(dds.map((d) => [d.dataset.field, d.textContent])));
  checkEq(`${who}: the facts as /v1/jobs/{id} answers, the command line whole`, {
    cluster: txt(j.cluster_name), node: txt(j.node_name), pid: cnt(j.pid), ppid: cnt(j.ppid), pgid: cnt(j.pgid), name: txt(j.name), framework: txt(j.framework),
    pod_uid: txt(j.pod_uid), status: txt(j.status), started_at: when(j.started_at), first_seen: when(j.first_seen), last_seen: when(j.last_seen),
    ended_at: when(j.ended_at), cwd: txt(j.cwd), cmdline: txt(j.cmdline), devices: txt(j.devices), gpu_ids: gpuIds(j.gpu_ids), idle_since: when(j.idle_since),
  }, await dd("#job-facts"));
  checkEq(`${who}: cluster and node link to their pages`, [`#/cluster/${j.cluster_name}`, `#/cluster/${j.cluster_name}/node/${j.node_name}`],
    await page.$$eval('#job-facts [data-field="cluster"] a, #job-facts [data-field="node"] a', (as) => as.map((a) => a.getAttribute("href"))));
  if (j.sampled_at === null) {
    checkEq(`${who}: no sample: the page says "no sample yet"`, "no sample yet", await page.textContent('#job-sample-section [data-state="empty"]'));
  } else {
    checkEq(`${who}: the newest sample as /v1/jobs/{id} answers`, { sampled_at: when(j.sampled_at), state: txt(j.state), cpu_percent: pct(j.cpu_percent), rss_bytes: bytes(j.rss_bytes),
      threads: cnt(j.threads), fds: cnt(j.fds), gpu_memory_bytes: bytes(j.gpu_memory_bytes), gpu_utilization: pct(j.gpu_utilization) }, await dd("#job-sample"));
  }
  const kv = (sel) => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[1].textContent, tr.children[1].classList.contains("num")]));
  const params = Object.entries(j.params || {});
  if (params.length) checkEq(`${who}: the parameters in the hub's order, numbers right-aligned`, params.map(([k, v]) => [k, paramText(v), isNum(v)]), await kv("#job-params"));
  else checkTrue(`${who}: no parameters: the page says so`, (await page.textContent("#job-params-section")).includes("No parameters"));
  const env = Object.entries(j.env || {});
  if (env.length) checkEq(`${who}: the allowlisted environment as the hub answers`, env.map(([k, v]) => [k, v, false]), await kv("#job-env"));
  else checkTrue(`${who}: no environment: the page says so`, (await page.textContent("#job-env-section")).includes("None of the allowlisted"));
  checkEq(`${who}: the config path as text, not read`, [j.config_path || "none named", true],
    [await page.textContent('#job-config [data-field="config_path"]'), (await page.textContent("#job-config")).includes("does not read the file")]);
  checkEq(`${who}: parameter values are text, never markup`, 0, await page.locator("#job-params td *").count());
  const m = (await (await metrics).json()).data;
  const u = new URL((await metrics).url());
  checkEq(`${who}: the metrics asked for the last hour, step 60`, [3600, "60"], [Number(u.searchParams.get("end")) - Number(u.searchParams.get("start")), u.searchParams.get("step")]);
  const series = Object.fromEntries((m.series || []).map((s) => [s.name, s.points]));
  const counts = (m.series || []).map((s) => `${s.name} ${s.points.length}`).join(", ");
  if ((m.series || []).some((s) => s.points.length)) {
    await page.waitForSelector("#job-cpu-chart[data-gaps]");
    checkTrue(`${who}: the metrics panel counts the hub's points per series (${counts})`, (await page.textContent("#job-metrics-status")).includes(`points: ${counts}`), await page.textContent("#job-metrics-status"));
  } else {
    await page.waitForSelector('#job-metrics-status [data-state="empty"]');
    ok(`${who}: no samples in the last hour: the metrics panel says so`);
  }
  return { j, series, m };
}

if (EXPECT_JOBS)
  await step("GPU job page", async () => {
    const ids = Object.fromEntries((await api("/v1/jobs?cluster=beta&page_size=50")).data.data.map((j) => [j.pid, j.id]));
    // 4013: parameters (markup in one), environment, 34 samples a minute apart with a 25-minute hole
    await page.evaluate((h) => (location.hash = h), "#/jobs?param=batch-size%3D256&status=any");
    await page.waitForSelector(`#jobs-rows a[href="#/job/${ids[4013]}"]`);
    const { j, series } = await checkJobPage(ids[4013], () => page.click(`#jobs-rows a[href="#/job/${ids[4013]}"]`));
    const sorted = (o) => Object.entries(o || {}).sort(([a], [b]) => (a < b ? -1 : 1)); // jsonb keeps no key order
    checkEq("job 4013: the hub's parameters are the fixture's, numbers as numbers", sorted({ run: "<img src=x onerror=alert(1)>", note: "a&b", data: "/datasets/imagenet/train", epochs: 90, "batch-size": 256, lr: 0.1 }), sorted(j.params));
    checkEq("job 4013: the hub's metrics: six series, 34 points each, the newest CPU 250 %", [["cpu_percent", "rss_bytes", "gpu_memory_bytes", "gpu_utilization", "threads", "fds"], 34, 250],
      [Object.keys(series), series.cpu_percent?.length, series.cpu_percent?.at(-1)?.[1]]);
    const pts = series.cpu_percent || [];
    const hole = pts.slice(1).map((p, k) => [pts[k][0], p[0]]).filter(([a, b]) => b - a >= 1200);
    checkEq("job 4013: the hub's CPU series has one hole of 20 minutes or more", 1, hole.length);
    for (const cid of ["#job-cpu-chart", "#job-mem-chart"]) {
      const gaps = JSON.parse(await page.getAttribute(cid, "data-gaps"));
      checkTrue(`job 4013: ${cid}'s two series each break once, inside the hub's hole`, gaps.length === 2 && gaps.every((g) => g.length === 1 && g[0] > hole[0][0] * 1000 && g[0] < hole[0][1] * 1000), JSON.stringify(gaps));
    }
    await page.waitForTimeout(300);
    await shot(page, "job.png");
    // 4004: idle, a sample a minute, no hole; 4005: ended, no sample; 900 on beta-edge-001: GPU memory unknown
    const idle = await checkJobPage(ids[4004]);
    checkEq("job 4004: idle since 45 minutes ago, its charts without a gap", [true, "[[],[]]"],
      [Math.abs(Date.parse(idle.j.idle_since) - (Date.now() - 45 * 60000)) < 10 * 60000, await page.getAttribute("#job-cpu-chart", "data-gaps")]);
    const ended = await checkJobPage(ids[4005]);
    checkEq("job 4005 (ended): no sample", null, ended.j.sampled_at);
    const edge = await checkJobPage(ids[900]);
    checkEq("job 900: GPU memory unknown (null), shown –", [null, "–"], [edge.j.gpu_memory_bytes, await page.textContent('#job-sample [data-field="gpu_memory_bytes"]')]);
    const res = await api("/v1/jobs/999999999");
    await page.evaluate(() => (location.hash = "#/job/999999999"));
    await page.waitForSelector('#job-facts-section [data-state="error"]');
    checkEq("a job the hub does not know: the page shows the hub's message", `Cannot load the job: ${res.body?.meta?.message}`, await page.textContent('#job-facts-section [data-state="error"]'));
  });

// --- the history chart, from an answer with points supplied in the browser (the psql fixture has none) ----
await step("history chart (mocked utilizationHistory)", async () => {
  const { context, page: mp } = await newPage();
  const now = Date.now();
  const hist = { series: [0, 1].map((g) => ({ name: `GPU ${g}`, points: Array.from({ length: 30 }, (_, k) => [Math.floor((now - (30 - k) * 60000) / 1000), 40 + g * 10 + (k % 7)]) })) };
  let asked = 0;
  await context.route(
    (u) => /^\/v1\/nodes\/[^/]+\/utilizationHistory$/.test(u.pathname),
    (route) => {
      asked++;
      return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ meta: { code: 2000, message: "OK" }, data: hist }) });
    },
  );
  await mp.goto(`${API}/#/cluster/${C}`);
  await mp.waitForSelector("#history-chart canvas");
  checkTrue("(mocked utilizationHistory) the cluster page's history chart is drawn with both series", (await mp.textContent("#history")).includes("2 series, 60 points"), await mp.textContent("#history .chart-status"));
  await mp.waitForTimeout(300);
  await shot(mp, "history-mocked.png");
  const node = await mp.getAttribute("#node-rows tr[data-node]", "data-node");
  await mp.goto(`${API}/#/cluster/${C}/node/${node}`);
  await mp.waitForSelector("#node-history-chart canvas");
  ok("(mocked utilizationHistory) the node page draws its history");
  checkTrue("(mocked utilizationHistory) both pages asked the history route", asked >= 2, `asked ${asked}`);
  checkEq("(mocked utilizationHistory) samples a minute apart without a hole: the chart's series hold no null", "[[],[]]", await mp.getAttribute("#node-history-chart", "data-gaps"));
  await context.close();
});

// --- gaps: fixture.sql's history has a 25-minute hole; the charts break their line there -------------
/** The hole in the hub's 1-hour answer for `path`: the one spacing between points of 20 minutes or more,
 * as [before, after] (ms), and the number of such spacings; `spacings` the other spacings (s), distinct. */
async function hubHole(path, cluster) {
  const end = Math.floor(Date.now() / 1000);
  const h = await api(`${path}?cluster=${cluster}&start=${end - 3600}&end=${end}&step=15`);
  const pts = h.data?.series?.[0]?.points || [];
  const holes = [];
  const spacings = new Set();
  for (let k = 1; k < pts.length; k++) {
    const d = pts[k][0] - pts[k - 1][0];
    if (d >= 1200) holes.push([pts[k - 1][0] * 1000, pts[k][0] * 1000]);
    else spacings.add(d);
  }
  return { step: h.data?.step, points: pts.length, holes, spacings: [...spacings].sort((a, b) => a - b) };
}
/** The chart's nulls: exactly one, inside the hub's hole. The fixture's samples are a whole number of 30 s
 * apart, so the hub's 15 s buckets keep every spacing at 30 s but the hole's whenever the test runs (the
 * hubHole checks say so first): withGaps' cadence is 30 s and the hole its one spacing of 60 s or more. */
async function checkGap(what, chartSel, hole) {
  await page.waitForSelector(`${chartSel}[data-gaps]`);
  const gaps = JSON.parse(await page.getAttribute(chartSel, "data-gaps"));
  const counts = gaps.map((g) => g.length);
  const at = JSON.stringify(gaps.map((g) => g.map((t) => new Date(t).toISOString())));
  checkTrue(`${what}: the chart's one series holds one null`, same([1], counts), `expected [1], got ${JSON.stringify(counts)}: nulls at ${at}`);
  const t = gaps[0]?.[0];
  checkTrue(`${what}: the null lies inside the hub's hole (${new Date(hole[0]).toISOString()} – ${new Date(hole[1]).toISOString()})`, t > hole[0] && t < hole[1], `null at ${t}`);
}
if (process.env.FL_HISTORY_GAPS === "1")
  await step("history gaps (fixture with a 25-minute hole)", async () => {
    const node = await hubHole("/v1/nodes/alpha-gpu-003/utilizationHistory", "alpha");
    checkEq("the hub's node history: step 15 s as asked, one hole of 20 minutes or more", [15, 1], [node.step, node.holes.length]);
    checkEq("the hub's node history: every other spacing is 30 s (fixture.sql's cadence, whatever second it ran)", [30], node.spacings);
    checkTrue("the hub's node history has points either side of the hole", node.points > 40, `${node.points} points`);
    await page.evaluate((h) => (location.hash = h), "#/cluster/alpha/node/alpha-gpu-003");
    if (node.holes.length === 1) await checkGap("node alpha-gpu-003", "#node-history-chart", node.holes[0]);
    checkTrue("node alpha-gpu-003: the panel counts the gap", (await page.textContent("#node-history-section")).includes("; 1 gap without samples"), await page.textContent("#node-history-section .chart-status"));

    const wl = await hubHole("/v1/workloads/fixture-wl-gap/utilizationHistory", "alpha");
    checkEq("the hub's workload history: one hole of 20 minutes or more", 1, wl.holes.length);
    checkEq("the hub's workload history: every other spacing is 30 s", [30], wl.spacings);
    const w = (await api("/v1/workloads/fixture-wl-gap?cluster=alpha")).data;
    await page.evaluate((h) => (location.hash = h), "#/cluster/alpha/workload/fixture-wl-gap");
    await page.waitForFunction(() => document.querySelector("h1")?.textContent === "PyTorchJob research/train-gap");
    if (wl.holes.length === 1) await checkGap("workload research/train-gap", "#workload-history-chart", wl.holes[0]);
    checkEq("workload page: started is the hub's created_at", when(w.created_at), await page.textContent('#workload-facts [data-field="started"]'));
    const range = JSON.parse(await page.getAttribute("#workload-history-chart", "data-range"));
    checkEq("workload page: its 1-hour chart begins at the workload's start, not an hour ago", Date.parse(w.created_at), range[0]);
    checkTrue("workload page: ... and ends now", Math.abs(range[1] - Date.now()) < 120000, JSON.stringify(range));
    await page.waitForTimeout(300);
    await shot(page, "history-gap.png");
  });

// --- tokens -----------------------------------------------------------------------------------------
// Against the second hub, which has hub.api_tokens; TOKEN sees some clusters only.
async function tokenChecks(base, token) {
  const { context, page: tp } = await newPage();
  const auth = { Authorization: `Bearer ${token}` };
  const label = "api_tokens";
  await tp.goto(base + "/");
  await tp.waitForSelector("#token-input");
  checkEq(`${label}: the hub's 401 shows one token form`, 1, await tp.locator("form.token-form").count());
  checkEq(`${label}: no cluster is shown before sign-in`, 0, await tp.locator("#cluster-rows tr[data-cluster]").count());
  await shot(tp, "token-prompt.png");
  await tp.fill("#token-input", "wrong-token-0123456789");
  await tp.press("#token-input", "Enter");
  await tp.waitForFunction(() => document.querySelector("#token-help")?.textContent.includes("refused"));
  ok(`${label}: a wrong token is refused by the hub and the form asks again`);
  const sent = [];
  tp.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/v1/")) sent.push(r.headers().authorization || "");
  });
  await tp.fill("#token-input", token);
  await tp.click("form.token-form button[type=submit]");
  await tp.waitForSelector("#cluster-rows tr[data-cluster]");
  const seen = (await api("/v1/clusters", base, auth)).data.map((c) => c.name).sort();
  const all = clusters.map((c) => c.name).sort();
  checkTrue(`${label}: the token's scope is some clusters, not all`, seen.length > 0 && seen.length < all.length, JSON.stringify(seen));
  checkEq(`${label}: after sign-in the fleet lists the clusters the token may see`, seen, (await readFleetRows(tp)).map((r) => r.name).sort());
  const fo = (await api("/v1/fleet/overview", base, auth)).data;
  await tp.waitForSelector('#fleet-summary [data-field="gpus"]');
  checkEq(`${label}: the summary shows the token's /v1/fleet/overview`, expectSummary(fo), await readSummary(tp));
  checkTrue(`${label}: every API call carries Authorization: Bearer <token>`, sent.length > 0 && sent.every((h) => h === `Bearer ${token}`), JSON.stringify(sent));
  checkEq(`${label}: the token is kept in sessionStorage`, token, await tp.evaluate(() => sessionStorage.getItem("fleetlens.token")));
  const outside = all.find((n) => !seen.includes(n));
  await tp.goto(`${base}/#/cluster/${outside}`);
  await tp.waitForSelector("#overview-cards [data-state=error]");
  checkEq(`${label}: a cluster outside the token's scope is not found (${outside})`, `cluster '${outside}' not found`, await tp.textContent("#overview-cards [data-state=error]"));
  await tp.goto(`${base}/#/`);
  await tp.reload();
  await tp.waitForSelector("#cluster-rows tr[data-cluster]");
  checkEq(`${label}: a reload does not ask again`, 0, await tp.locator("#token-input").count());
  await tp.click("#signout");
  await tp.waitForSelector("#token-input");
  checkEq(`${label}: sign out forgets the token and the form comes back`, null, await tp.evaluate(() => sessionStorage.getItem("fleetlens.token")));
  await context.close();
}

if (TOKEN_API) await step("token prompt (hub with api_tokens)", () => tokenChecks(TOKEN_API, TOKEN));
else notOk("token prompt (hub with api_tokens)", "console_test.sh started no hub with tokens (FL_TOKEN_API unset)");

checkEq("no request left the hub's origin (everything is bundled)", [], foreign);
checkEq("no script error on any page", [], pageErrors);
checkEq("no dialog opened on any page (markup in the API's values, e.g. command lines, stays text)", [], dialogs);
await browser.close();
console.log("# browser checks done");
process.exit(failed ? 1 : 0);
