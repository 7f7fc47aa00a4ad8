// main.js — hash routing, the refresh loop, the "updated Ns ago" line and the error banner.
//   #/                              fleet page
//   #/cluster/NAME                  cluster page
//   #/cluster/NAME/node/NODE        node page
//   #/cluster/NAME/workload/UID     workload page
//   #/usage                         GPU usage (GPU-hours allocated, used, idle)
//   #/jobs                          the fleet's GPU jobs
//   #/job/ID                        one GPU job
import "./style.css";
import { initAuth } from "./auth.js";
import { el } from "./dom.js";
import { fleetPage } from "./fleet.js";
import { clusterPage } from "./cluster.js";
import { nodePage } from "./node.js";
import { workloadPage } from "./workloads.js";
import { usagePage } from "./usage.js";
import { jobPage, jobsPage } from "./jobs.js";

const mainEl = document.getElementById("main");
const crumbsEl = document.getElementById("crumbs");
const updatedEl = document.getElementById("updated");
const errorEl = document.getElementById("error");

let current = null; // { page, timer }
let lastOk = 0;
let generation = 0;

/** Parses location.hash into a route: { name, params, query }. */
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/";
  const [path, qs = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = new URLSearchParams(qs);
  if (parts.length === 0) return { name: "fleet", params: {}, query };
  if (parts[0] === "usage" && parts.length === 1) return { name: "usage", params: {}, query };
  if (parts[0] === "jobs" && parts.length === 1) return { name: "jobs", params: {}, query };
  if (parts[0] === "job" && parts.length === 2 && /^[1-9][0-9]{0,18}$/.test(parts[1])) return { name: "job", params: { id: parts[1] }, query };
  if (parts[0] === "cluster" && parts.length === 2) return { name: "cluster", params: { cluster: parts[1] }, query };
  if (parts[0] === "cluster" && parts[2] === "node" && parts.length === 4)
    return { name: "node", params: { cluster: parts[1], node: parts[3] }, query };
  if (parts[0] === "cluster" && parts[2] === "workload" && parts.length === 4)
    return { name: "workload", params: { cluster: parts[1], uid: parts[3] }, query };
  return { name: "unknown", params: { path }, query };
}

export const href = {
  fleet: () => "#/",
  cluster: (c) => `#/cluster/${encodeURIComponent(c)}`,
  node: (c, n) => `#/cluster/${encodeURIComponent(c)}/node/${encodeURIComponent(n)}`,
  workload: (c, u) => `#/cluster/${encodeURIComponent(c)}/workload/${encodeURIComponent(u)}`,
  usage: () => "#/usage",
  jobs: () => "#/jobs",
  job: (id) => `#/job/${encodeURIComponent(id)}`,
};

/** Marks the header's page link of the current page (aria-current). */
function markNav(name) {
  const jobs = name === "jobs" || name === "job";
  for (const [id, on] of [["nav-fleet", name !== "usage" && !jobs], ["nav-usage", name === "usage"], ["nav-jobs", jobs]]) {
    const a = document.getElementById(id);
    if (!a) continue;
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

const ctx = {
  href,
  setError(message) {
    errorEl.hidden = !message;
    errorEl.textContent = message || "";
  },
  markUpdated() {
    lastOk = Date.now();
    tick();
  },
  setCrumbs(items) {
    crumbsEl.replaceChildren(
      ...items.map(([text, link], i) =>
        el(
          "li",
          {},
          link && i < items.length - 1 ? el("a", { href: link }, text) : el("span", { "aria-current": "page" }, text),
        ),
      ),
    );
  },
  /** Replaces the query part of the hash without adding a history entry or re-routing. */
  setQuery(query) {
    const base = location.hash.split("?")[0] || "#/";
    const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null)).toString();
    history.replaceState(null, "", qs ? `${base}?${qs}` : base);
  },
};

function tick() {
  updatedEl.textContent = lastOk ? `updated ${Math.max(0, Math.round((Date.now() - lastOk) / 1000))}s ago` : "loading…";
}

const auth = initAuth(() => route()); // after sign-in (or out) the page loads again, focus on its heading

function route(keepFocus = false) {
  const gen = ++generation;
  if (current) {
    clearInterval(current.timer);
    current.page.destroy?.();
    current = null;
  }
  ctx.setError("");
  lastOk = 0;
  tick();
  const r = parseHash(location.hash);
  markNav(r.name);
  mainEl.replaceChildren();
  let page;
  if (r.name === "fleet") page = fleetPage(mainEl, r, ctx);
  else if (r.name === "cluster") page = clusterPage(mainEl, r, ctx);
  else if (r.name === "node") page = nodePage(mainEl, r, ctx);
  else if (r.name === "workload") page = workloadPage(mainEl, r, ctx);
  else if (r.name === "usage") page = usagePage(mainEl, r, ctx);
  else if (r.name === "jobs") page = jobsPage(mainEl, r, ctx);
  else if (r.name === "job") page = jobPage(mainEl, r, ctx);
  else {
    ctx.setCrumbs([["Fleet", href.fleet()], ["Not found"]]);
    mainEl.append(
      el("h1", { tabindex: "-1" }, "No such page"),
      el("p", {}, "The address ", el("code", {}, location.hash), " is not a console page. ", el("a", { href: "#/" }, "Go to the fleet")),
    );
    return;
  }
  const refresh = () => {
    if (gen !== generation || auth.isPrompting() || document.hidden) return;
    page.refresh();
  };
  current = { page, timer: setInterval(refresh, page.refreshMs || 5000) };
  page.refresh();
  if (!keepFocus) mainEl.querySelector("h1")?.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => route());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && current && !auth.isPrompting()) current.page.refresh();
});
setInterval(tick, 1000);
route(true);
