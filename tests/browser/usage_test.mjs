// usage_test.mjs — the GPU usage page (#/usage) in Debian's chromium (headless, playwright-core) against a hub
// with hub.api_tokens: the page is reached from the header's nav; for every grouping, a range and an order,
// the table and the sums show what /v1/usage answers to the very request the page sent (fetched again here
// with the token); every request and the CSV download carry the token; the downloaded file is the API's CSV.
// Started by usage_test.sh. Prints "ok - …" / "not ok - …" lines and "# browser checks done".
//
// Environment: FL_API (hub base URL), FL_TOKEN (an API token of it), FL_WEB_DIR (web/, where playwright-core is
// installed), FL_ART (screenshot folder), FL_CHROMIUM (browser binary), FL_DOWNLOADS (a scratch folder).
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const API = process.env.FL_API;
const TOKEN = process.env.FL_TOKEN;
const ART = process.env.FL_ART;
const require = createRequire(join(process.env.FL_WEB_DIR, "package.json"));
const { chromium } = require("playwright-core");
mkdirSync(ART, { recursive: true });

let failed = 0;
const ok = (what) => console.log(`ok - ${what}`);
const notOk = (what, why) => {
  failed++;
  console.log(`not ok - ${what}: ${why}`);
};
function checkEq(what, expected, actual) {
  if (JSON.stringify(expected) === JSON.stringify(actual)) ok(what);
  else notOk(what, `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    notOk(what, String(e.message || e).split("\n")[0]);
  }
}
const auth = { Authorization: `Bearer ${TOKEN}` };
async function apiJson(pathAndQuery) {
  const res = await fetch(API + pathAndQuery, { headers: auth });
  return (await res.json()).data;
}

// usage.js's formatting, restated.
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const gpuHours = (x) => (isNum(x) ? String(Number(x.toFixed(2))) : "–");
const share = (x) => (isNum(x) ? `${(x * 100).toFixed(1)}%` : "–");
const KEYS = {
  cluster: ["cluster_name"],
  namespace: ["namespace", "cluster_name"],
  workload: ["workload_name", "namespace", "cluster_name"],
  node: ["node_name", "cluster_name"],
};
const FIGURES = [
  ["gpu_hours_idle", gpuHours],
  ["idle_ratio", share],
  ["gpu_hours_allocated", gpuHours],
  ["gpu_hours_used", gpuHours],
  ["used_ratio", share],
  ["hours", (x) => String(x)],
];
const expectedRows = (group, data) =>
  data.data.map((r) => Object.fromEntries([...KEYS[group].map((k) => [k, r[k]]), ...FIGURES.map(([k, f]) => [k, f(r[k])])]));
const shownRows = (page) =>
  page.$$eval("#usage-rows tr", (trs) =>
    trs
      .filter((tr) => tr.querySelector("[data-field]"))
      .map((tr) => Object.fromEntries([...tr.querySelectorAll("[data-field]")].map((c) => [c.dataset.field, (c.querySelector("a") || c).textContent]))),
  );
const shownSums = (page) =>
  page.$$eval("#usage-sums [data-field]", (cards) => Object.fromEntries(cards.map((c) => [c.dataset.field, c.querySelector(".v").textContent])));

const browser = await chromium.launch({ executablePath: process.env.FL_CHROMIUM || "/usr/bin/chromium", args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
await context.addInitScript((t) => sessionStorage.setItem("fleetlens.token", t), TOKEN);
const page = await context.newPage();
page.setDefaultTimeout(15000);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(e.message));
const usageRequests = [];
page.on("request", (r) => {
  if (new URL(r.url()).pathname === "/v1/usage") usageRequests.push(r);
});
const usageAnswer = (pred) =>
  page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === "/v1/usage" && u.searchParams.get("format") !== "csv" && pred(u.searchParams);
  });

/** The page's answer to its request (res), the API's to the same query, and the table and sums compared. */
async function compare(label, res) {
  const u = new URL(res.url());
  const group = u.searchParams.get("group_by");
  const data = await apiJson(u.pathname + u.search);
  await page.waitForFunction((n) => document.querySelectorAll("#usage-rows tr").length === n && !document.querySelector("#usage-rows .notice"), data.data.length);
  checkEq(`${label}: the table shows /v1/usage's rows, in its order`, expectedRows(group, data), await shownRows(page));
  checkEq(`${label}: the sums`, { gpu_hours_allocated: gpuHours(data.sums.gpu_hours_allocated), gpu_hours_used: gpuHours(data.sums.gpu_hours_used), gpu_hours_idle: gpuHours(data.sums.gpu_hours_idle), idle_ratio: share(data.sums.idle_ratio) }, await shownSums(page));
  return { u, data };
}

let first = null; // the page's first answer, awaited by the next step
await step("nav link", async () => {
  await page.goto(`${API}/#/`);
  first = usageAnswer((p) => p.get("group_by") === "workload");
  await page.click("#nav-usage");
  await page.waitForFunction(() => location.hash.startsWith("#/usage"));
  ok("the header's 'GPU usage' link opens #/usage");
});

await step("default view", async () => {
  const res = await first;
  const { u, data } = await compare("workloads, last 24 h (the defaults)", res);
  checkEq("... over the last 24 hours", 86400, Number(u.searchParams.get("end")) - Number(u.searchParams.get("start")));
  checkEq("... the biggest idle holder first: the workload idle for 90 minutes (2 GPUs)", ["wl-idle", 3], [data.data[0].workload_uid, data.data[0].gpu_hours_idle]);
  checkEq("the idle threshold is named", "5 %", await page.textContent("#usage-threshold"));
  checkEq("the workload tab is selected", "true", await page.getAttribute("#usage-tab-workload", "aria-selected"));
  checkEq("a workload links to its page", "#/cluster/alpha/workload/wl-idle", await page.getAttribute("#usage-rows tr:first-child a[data-link=workload]", "href"));
  await page.screenshot({ path: join(ART, "usage.png"), fullPage: true });
});

for (const group of ["cluster", "namespace", "node"]) {
  await step(`tab ${group}`, async () => {
    const res = usageAnswer((p) => p.get("group_by") === group);
    await page.click(`#usage-tab-${group}`);
    await compare(`tab ${group}`, await res);
    checkEq(`tab ${group}: selected, and kept in the address`, ["true", group], [await page.getAttribute(`#usage-tab-${group}`, "aria-selected"), new URLSearchParams((await page.evaluate(() => location.hash)).split("?")[1]).get("group")]);
  });
}

await step("range and order", async () => {
  let res = usageAnswer((p) => p.get("group_by") === "node" && Number(p.get("end")) - Number(p.get("start")) === 7 * 86400);
  await page.selectOption("#usage-range", "7d");
  await compare("nodes, last 7 days", await res);
  res = usageAnswer((p) => p.get("order_by") === "idle_ratio");
  await page.selectOption("#usage-order", "idle_ratio");
  const { data } = await compare("nodes ordered by idle share", await res);
  checkEq("... alpha-n2 (idle all hour) first", "alpha-n2", data.data[0].node_name);
  // A custom range of H1 only: the hour starts of the fixture are whole hours 3 and 2 hours ago.
  const h1 = Math.floor(Date.now() / 3600000) * 3600 - 3 * 3600;
  const local = (s) => new Date(s * 1000).toISOString().slice(0, 16);
  await page.selectOption("#usage-range", "custom");
  await page.fill("#usage-start", local(h1));
  await page.fill("#usage-end", local(h1 + 3600));
  res = usageAnswer((p) => p.get("start") === String(h1) && p.get("end") === String(h1 + 3600));
  await page.click("#usage-apply");
  const c = await compare("a custom range (UTC): the first fixture hour", await res);
  checkEq("... every node row counts that one hour", [1], [...new Set(c.data.data.map((r) => r.hours))]);
});

await step("csv download", async () => {
  const href = await page.getAttribute("#usage-csv", "href");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#usage-csv")]);
  const path = join(process.env.FL_DOWNLOADS, "usage.csv");
  mkdirSync(process.env.FL_DOWNLOADS, { recursive: true });
  await download.saveAs(path);
  checkEq("the download is named usage-node.csv", "usage-node.csv", download.suggestedFilename());
  const want = await (await fetch(API + href, { headers: auth })).text();
  checkEq("the downloaded file is /v1/usage's CSV for the page's query", want, readFileSync(path, "utf8"));
  checkEq("... its header line", "node_name", want.split("\r\n")[0].split(",")[1]);
});

await step("token", async () => {
  const sent = usageRequests.map((r) => r.headers().authorization || "");
  checkEq(`every /v1/usage request (${sent.length}, the CSV's included) carried the token`, true, sent.length > 5 && sent.every((a) => a === `Bearer ${TOKEN}`));
  checkEq("the CSV was fetched with the token", true, usageRequests.some((r) => new URL(r.url()).searchParams.get("format") === "csv" && r.headers().authorization === `Bearer ${TOKEN}`));
});

checkEq("no script errors on the page", [], pageErrors);
await browser.close();
console.log("# browser checks done");
process.exit(failed ? 1 : 0);
