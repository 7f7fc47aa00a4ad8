// console_test.mjs — drives Debian's chromium (headless, through playwright-core) against a running hub
// and compares what the console shows with what the API answers. Started by console_test.sh, which
// sets up PostgreSQL, the rows and the hub. Prints "ok - …" / "not ok - …" lines (the shell script
// counts them) and exits 1 if any check failed.
//
// Environment: FL_API (hub base URL), FL_WEB_DIR (web/, where playwright-core is installed),
// FL_ART (screenshot folder), FL_CHROMIUM (browser binary), FL_TOKEN_API and FL_TOKEN (a second hub
// with hub.api_tokens and its token; unset when the hub does not support tokens).
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const API = process.env.FL_API;
const ART = process.env.FL_ART;
const TOKEN_API = process.env.FL_TOKEN_API || "";
const TOKEN = process.env.FL_TOKEN || "";
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

async function api(path, base = API, headers = {}) {
  const res = await fetch(base + path, { headers });
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, data: body?.data };
}
const missing = (r) => r.status === 501 || (r.status === 404 && /^no route/i.test(r.body?.meta?.message || ""));

// The console's formatting, restated (dom.js): what the user must see for an API value.
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const pct = (x) => (isNum(x) ? `${x.toFixed(1)}%` : "–");
const cnt = (x) => (isNum(x) ? String(Math.round(x)) : "–");

const launchArgs = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
const browser = await chromium.launch({ executablePath: process.env.FL_CHROMIUM || "/usr/bin/chromium", args: launchArgs });
const apiOrigin = new URL(API).origin;
const foreign = [];
const pageErrors = [];
async function newPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...opts });
  const page = await context.newPage();
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && ![apiOrigin, TOKEN_API && new URL(TOKEN_API).origin].includes(new URL(u).origin)) foreign.push(u);
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
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
  checkTrue("the fixture has an allocated-but-idle cluster", flagged.length > 0, "none");
  checkEq("exactly the allocated-but-idle clusters are flagged", flagged.sort(), rows.filter((r) => r.flagged).map((r) => r.name).sort());
});

await step("fleet summary", async () => {
  const fo = await api("/v1/fleet/overview");
  let f;
  if (fo.status === 200) {
    f = fo.data.overview || fo.data;
    checkEq("summary says it comes from /v1/fleet/overview", "api", await page.getAttribute("#fleet-summary-source", "data-source"));
  } else {
    checkTrue("/v1/fleet/overview is missing (404 no route / 501), not broken", missing(fo), `HTTP ${fo.status}`);
    checkEq("summary says it was added up in the browser", "browser", await page.getAttribute("#fleet-summary-source", "data-source"));
    f = { totalNodes: 0, healthyNodes: 0, faultyNodes: 0, fullyIdleNodes: 0, partiallyIdleNodes: 0, busyNodes: 0, gpusAllocatable: 0, gpusAllocated: 0 };
    let uw = 0;
    let us = 0;
    for (const c of clusters) {
      if (!c.overview) continue;
      for (const k of Object.keys(f)) f[k] += c.overview[k] || 0;
      if (isNum(c.overview.utilization) && c.overview.gpusAllocatable > 0) {
        us += c.overview.utilization * c.overview.gpusAllocatable;
        uw += c.overview.gpusAllocatable;
      }
    }
    f.allocationRate = f.gpusAllocatable ? (100 * f.gpusAllocated) / f.gpusAllocatable : 0;
    f.utilization = uw ? us / uw : 0;
  }
  const card = (k) => cardText(page, "#fleet-summary", k);
  checkEq("summary: clusters online", `${clusters.filter((c) => c.status === "online").length} / ${clusters.length}`, await card("clustersOnline"));
  checkEq("summary: GPU nodes healthy / total", `${cnt(f.healthyNodes)} / ${cnt(f.totalNodes)}`, await card("healthyNodes"));
  checkEq("summary: faulty GPU nodes", cnt(f.faultyNodes), await card("faultyNodes"));
  checkEq("summary: GPUs allocated / allocatable", `${cnt(f.gpusAllocated)} / ${cnt(f.gpusAllocatable)}`, await card("gpus"));
  checkEq("summary: allocation rate", pct(f.allocationRate), await card("allocationRate"));
  checkEq("summary: utilization", pct(f.utilization), await card("utilization"));
  checkEq("summary: idle buckets", `${cnt(f.fullyIdleNodes)} / ${cnt(f.partiallyIdleNodes)} / ${cnt(f.busyNodes)}`, await card("idle"));
});

await step("fleet refresh", async () => {
  checkTrue("header says when the page was updated", /^updated \d+s ago$/.test(await page.textContent("#updated")), await page.textContent("#updated"));
  const req = page.waitForRequest((r) => new URL(r.url()).pathname === "/v1/clusters", { timeout: 8000 });
  checkTrue("the fleet page asks /v1/clusters again by itself within 8 s", Boolean(await req));
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
  await shot(page, "fleet-filtered.png");
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
    ["name filter 'node-01'", "name", "node-01", async () => {
      await page.fill("#node-name", "node-01");
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
      const ignored = answer.data.some((r) => !r.name.includes("node-01"));
      checkEq(`the 'filters not applied' note is ${ignored ? "shown (this hub ignores ?name=)" : "hidden (the hub filters)"}`, !ignored, await page.isHidden("#node-filter-note"));
    }
  }
  await page.click('th[data-col="gpu_utilization"] button'); // back to the hub's order: descending, then…
  await page.waitForTimeout(300);
});

await step("heat map and history (real hub)", async () => {
  const hm = await api(`/v1/clusters/gpuHeatmap?cluster=${C}`);
  if (missing(hm)) {
    await page.waitForSelector('#heatmap [data-state="missing"]');
    ok("heat map: the hub has no /v1/clusters/gpuHeatmap yet and the page says 'not available'");
  } else {
    checkEq("/v1/clusters/gpuHeatmap answers 200", 200, hm.status);
    await page.waitForSelector("#heatmap-chart canvas");
    ok("heat map: drawn from the hub's answer");
  }
  const node = await page.getAttribute("#node-rows tr[data-node]", "data-node");
  const end = Math.floor(Date.now() / 1000);
  const h = await api(`/v1/nodes/${node}/utilizationHistory?cluster=${C}&start=${end - 3600}&end=${end}&step=15`);
  if (missing(h)) {
    await page.waitForSelector('#history [data-state="missing"]');
    checkTrue("history: the page says 'History not available yet'", (await page.textContent("#history")).includes("History not available yet"));
  } else {
    checkEq("utilizationHistory answers 200", 200, h.status);
    await page.waitForSelector("#history-chart canvas, #history [data-state=empty]");
    ok("history: drawn (or 'no history') from the hub's answer");
  }
  await page.waitForTimeout(300);
  await shot(page, "cluster.png");
});

// --- node page --------------------------------------------------------------------------------------
await step("node page", async () => {
  const first = await page.getAttribute("#node-rows tr[data-node]", "data-node");
  await page.focus(`#node-rows tr[data-node="${first}"] a`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#facts dl, #facts [data-state]:not([data-state=loading])");
  checkEq("Enter on a node link opens the node page (keyboard)", `#/cluster/${C}/node/${first}`, new URL(page.url()).hash);
  const facts = await api(`/v1/nodes/${first}?cluster=${C}`);
  if (missing(facts)) {
    const list = (await api(`/v1/nodes?cluster=${C}&page_size=1000`)).data.data.find((r) => r.name === first);
    await page.waitForSelector('#node-facts[data-source="list"]');
    checkEq("node facts (no /v1/nodes/{name} yet) come from the node list's row", [first, cnt(list.gpu_count), cnt(list.gpu_allocation), list.status],
      [await page.textContent('#node-facts [data-field="name"]'), await page.textContent('#node-facts [data-field="gpu_count"]'), await page.textContent('#node-facts [data-field="gpu_allocation"]'), await page.textContent('#node-facts [data-field="status"]')]);
  } else {
    checkEq("/v1/nodes/{name} answers 200", 200, facts.status);
    await page.waitForSelector('#node-facts[data-source="node"]');
    const shown = await page.$$eval("#node-facts dd", (dds) => dds.map((d) => d.dataset.field));
    checkEq("node facts list every field the API gives", Object.keys(facts.data).sort(), shown.sort());
  }
  const gd = await api(`/v1/nodes/${first}/gpuDevices?cluster=${C}`);
  if (missing(gd)) {
    await page.waitForSelector('#gpus [data-state="missing"]');
    ok("per-GPU figures: the hub has no gpuDevices route yet and the page says 'not available'");
  } else {
    const rows = Array.isArray(gd.data) ? gd.data : gd.data?.data || [];
    await page.waitForSelector("#gpu-devices tbody tr");
    const shown = await page.$$eval("#gpu-devices tbody tr", (trs) => trs.map((tr) => [tr.dataset.gpu, tr.querySelector('[data-field="utilization"]').childNodes[0].textContent]));
    checkEq("GPU table shows the API's GPUs and their utilization", rows.map((g) => [String(g.gpu_id), pct(g.utilization)]), shown);
  }
  await page.waitForTimeout(300);
  await shot(page, "node.png");
});

// --- the charts and node routes with Lens-shaped answers (mocked in the browser) ---------------------
await step("charts with mocked answers", async () => {
  const { context, page: mp } = await newPage();
  const env = (data) => ({ status: 200, contentType: "application/json", body: JSON.stringify({ meta: { code: 2000, message: "OK" }, data }) });
  const nodes = ["beta-node-001", "beta-node-002", "beta-node-003"];
  const items = (f) => nodes.flatMap((n, i) => [0, 1, 2, 3].map((g) => ({ node_name: n, gpu_id: g, value: f(i, g) })));
  const heat = {
    utilization: { serial: 1, unit: "%", yaxis_max: 100, yaxis_min: 0, data: items((i, g) => 10 * i + 5 * g + 0.5) },
    temperature: { serial: 3, unit: "℃", yaxis_max: 110, yaxis_min: 20, data: items((i, g) => 40 + i + g) },
    power: { serial: 2, unit: "W", yaxis_max: 850, yaxis_min: 0, data: items((i, g) => 300 + 10 * g) },
  };
  const now = Date.now();
  const hist = { series: [0, 1].map((g) => ({ name: `GPU ${g}`, points: Array.from({ length: 30 }, (_, k) => [Math.floor((now - (30 - k) * 60000) / 1000), 40 + g * 10 + (k % 7)]) })) };
  const gpus = [0, 1, 2, 3].map((g) => ({ gpu_id: g, gpu_model: "AMD Instinct MI300X", memory: 196608, utilization: 50 + g, temperature: 60.5 + g, power: 500 + g, serial: `SN${g}`, numa: g >> 1 }));
  const fleet = { totalNodes: 999, healthyNodes: 990, faultyNodes: 9, fullyIdleNodes: 100, partiallyIdleNodes: 500, busyNodes: 390, allocationRate: 77.7, utilization: 44.4, gpusAllocatable: 7920, gpusAllocated: 6154 };
  await context.route(
    (u) => /^\/v1\/(clusters\/gpuHeatmap|fleet\/overview|nodes\/[^/]+(\/gpuDevices|\/utilizationHistory)?)$/.test(u.pathname) && u.pathname !== "/v1/nodes/gpuAllocation",
    (route) => {
      const p = new URL(route.request().url()).pathname;
      if (p === "/v1/clusters/gpuHeatmap") return route.fulfill(env(heat));
      if (p === "/v1/fleet/overview") return route.fulfill(env(fleet));
      if (p.endsWith("/gpuDevices")) return route.fulfill(env(gpus));
      if (p.endsWith("/utilizationHistory")) return route.fulfill(env(hist));
      return route.fulfill(env({ name: decodeURIComponent(p.split("/")[3]), ip: "10.2.0.1", status: "Ready", gpu_count: 4, kubelet_version: "v1.30.4", os_image: "Ubuntu 22.04.4 LTS" }));
    },
  );
  await mp.goto(API + "/");
  await mp.waitForSelector('#fleet-summary-source[data-source="api"]');
  checkEq("(mocked /v1/fleet/overview) the summary shows its figures", ["990 / 999", "6154 / 7920", "77.7%", "44.4%"],
    [await cardText(mp, "#fleet-summary", "healthyNodes"), await cardText(mp, "#fleet-summary", "gpus"), await cardText(mp, "#fleet-summary", "allocationRate"), await cardText(mp, "#fleet-summary", "utilization")]);
  await mp.goto(`${API}/#/cluster/${C}`);
  await mp.waitForSelector("#heatmap-chart canvas");
  ok("(mocked gpuHeatmap, Lens shape) the heat map is drawn with ECharts");
  checkEq("(mocked gpuHeatmap) the figure choice offers utilization, power, temperature", ["utilization", "power", "temperature"], await mp.$$eval("#heat-metric option", (os) => os.map((o) => o.value)));
  const cells = await mp.$$eval("#heatmap details tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  checkEq("(mocked gpuHeatmap) the heat map's table holds the answer's values", nodes.map((_, i) => [0, 1, 2, 3].map((g) => (10 * i + 5 * g + 0.5).toFixed(1))), cells);
  await mp.selectOption("#heat-metric", "temperature");
  await mp.waitForFunction(() => document.querySelector("#heatmap details caption")?.textContent.includes("temperature"));
  ok("(mocked gpuHeatmap) choosing temperature redraws the heat map");
  await mp.waitForSelector("#history-chart canvas");
  checkTrue("(mocked utilizationHistory) the history chart is drawn with both series", (await mp.textContent("#history")).includes("2 series, 60 points"), await mp.textContent("#history .chart-status"));
  await mp.waitForTimeout(300);
  await shot(mp, "cluster-charts.png");
  await mp.goto(`${API}/#/cluster/${C}/node/beta-node-002`);
  await mp.waitForSelector("#gpu-devices tbody tr");
  const g = await mp.$$eval("#gpu-devices tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.childNodes[0]?.textContent.trim())));
  checkEq("(mocked gpuDevices) the GPU table shows every field", gpus.map((x) => [String(x.gpu_id), x.gpu_model, "192 GiB", pct(x.utilization), `${x.temperature} °C`, `${x.power} W`, x.serial, String(x.numa)]), g);
  checkEq("(mocked /v1/nodes/{name}) the node facts show the answer", ["beta-node-002", "v1.30.4"], [await mp.textContent('#node-facts [data-field="name"]'), await mp.textContent('#node-facts [data-field="kubelet_version"]')]);
  await mp.waitForSelector("#node-history-chart canvas");
  ok("(mocked utilizationHistory) the node page draws its history");
  await shot(mp, "node-mocked.png");
  await context.close();
});

// --- tokens -----------------------------------------------------------------------------------------
async function tokenChecks(label, base, token, setup) {
  const { context, page: tp } = await newPage();
  if (setup) await setup(context);
  await tp.goto(base + "/");
  await tp.waitForSelector("#token-input");
  checkEq(`${label}: a 401 shows one token form`, 1, await tp.locator("form.token-form").count());
  checkEq(`${label}: no cluster is shown before sign-in`, 0, await tp.locator("#cluster-rows tr[data-cluster]").count());
  await shot(tp, `token-prompt-${label.replace(/\W+/g, "-")}.png`);
  await tp.fill("#token-input", "wrong-token");
  await tp.press("#token-input", "Enter");
  await tp.waitForFunction(() => document.querySelector("#token-help")?.textContent.includes("refused"));
  ok(`${label}: a wrong token is refused and the form asks again`);
  const sent = [];
  tp.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/v1/")) sent.push(r.headers().authorization || "");
  });
  await tp.fill("#token-input", token);
  await tp.click("form.token-form button[type=submit]");
  await tp.waitForSelector("#cluster-rows tr[data-cluster]");
  const want = (await api("/v1/clusters", base, { Authorization: `Bearer ${token}` })).data.map((c) => c.name).sort();
  checkEq(`${label}: after sign-in the fleet lists the clusters the token may see`, want, (await readFleetRows(tp)).map((r) => r.name).sort());
  checkTrue(`${label}: every API call carries Authorization: Bearer <token>`, sent.length > 0 && sent.every((h) => h === `Bearer ${token}`), JSON.stringify(sent));
  checkEq(`${label}: the token is kept in sessionStorage`, token, await tp.evaluate(() => sessionStorage.getItem("fleetlens.token")));
  await tp.reload();
  await tp.waitForSelector("#cluster-rows tr[data-cluster]");
  checkEq(`${label}: a reload does not ask again`, 0, await tp.locator("#token-input").count());
  await tp.click("#signout");
  await tp.waitForSelector("#token-input");
  checkEq(`${label}: sign out forgets the token and the form comes back`, null, await tp.evaluate(() => sessionStorage.getItem("fleetlens.token")));
  await context.close();
}

await step("token prompt (simulated 401s)", () =>
  tokenChecks("simulated 401", API, "console-test-token", (context) =>
    context.route(
      (u) => u.pathname.startsWith("/v1/"),
      (route) => {
        const auth = route.request().headers().authorization;
        if (auth === "Bearer console-test-token") return route.continue();
        return route.fulfill({ status: 401, contentType: "application/json", body: JSON.stringify({ meta: { code: 4003, message: "a valid API token is required" }, data: null }) });
      },
    ),
  ),
);
if (TOKEN_API) await step("token prompt (hub with api_tokens)", () => tokenChecks("hub api_tokens", TOKEN_API, TOKEN));

checkEq("no request left the hub's origin (everything is bundled)", [], foreign);
checkEq("no script error on any page", [], pageErrors);
await browser.close();
console.log("# browser checks done");
process.exit(failed ? 1 : 0);
