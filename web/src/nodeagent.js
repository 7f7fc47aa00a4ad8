// nodeagent.js — what a node agent (a spoke in the node role, one per node) reports about its node, for the
// node page: the agent itself, the node's RDMA devices and its device changes (the `agent` part of
// /v1/nodes/{name}), and the node's GPU jobs (/v1/jobs?cluster=&node=, status filter and paging). A node no
// agent reports is shown as such, not hidden. Command lines and every other value are untrusted text: they
// reach the page through dom.js only (text nodes and attributes). Each GPU job links to its page (#/job/ID),
// and the node page's GPU table takes its memory used and health columns from here (AGENT_GPU_COLUMNS).
import { ago, bytes, count, el, isNum, notice, secondsSince, section, when } from "./dom.js";
import { pagedTable } from "./paged.js";

/** What the agent sections say when `agent` is null. */
export const NO_AGENT = "No node agent reports this node (no spoke in the node role has sent a frame for it), so its RDMA devices, device changes and GPU jobs are not known.";

/** A rate in bytes/s as the tables show it ("1.3 GiB/s"), or "–" when the agent has no figure yet. */
export const rate = (x) => (isNum(x) ? `${bytes(x)}/s` : "–");
const text = (s) => (typeof s === "string" && s !== "" ? s : "–");

/** The agent's facts as [field, label, value] (the browser test reads the same). */
export function agentFacts(a) {
  const version = a.spoke_version ? ` (version ${a.spoke_version})` : "";
  return [
    ["status", "status", text(a.status)],
    ...(a.status === "lost" ? [["lost_at", "lost since", when(a.lost_at)]] : []),
    ["last_seen", "last seen", when(a.last_seen)],
    ["first_seen", "first seen", when(a.first_seen)],
    ["gpu_source", "GPU source", text(a.gpu_source)],
    ["spoke", "spoke", `${text(a.spoke_id)}${version}`],
    ["gpus", "GPUs read", count(a.gpus)],
    ["jobs", "GPU jobs", `${count(a.running_jobs)} running, ${count(a.lost_jobs)} lost`],
  ];
}

/** A GPU's health as the node agent reads it: "unhealthy" in the error colour, with the detail beside
 * it ("healthy (ras ue 0 ce 0)"); "–" when no source says. */
export function gpuHealth(g) {
  const h = typeof g.health === "string" ? g.health : "";
  if (!h) return "–";
  const detail = typeof g.health_detail === "string" && g.health_detail ? ` (${g.health_detail})` : "";
  return el("span", { class: `gpu-health ${["healthy", "warning", "unhealthy"].includes(h) ? h : "other"}`, dataset: { health: h } }, `${h}${detail}`);
}

/** The GPU table's columns from the node agent (node.js's GPU_COLUMNS shape: field, label, cell, numeric):
 * memory used (MiB in the API, "–" unknown) and health. */
export const AGENT_GPU_COLUMNS = [
  ["memory_used", "Memory used", (g) => (isNum(g.memory_used) ? bytes(g.memory_used * 1048576) : "–"), true],
  ["health", "Health", gpuHealth, false],
];

/** The cells of one RDMA device row. */
export function rdmaCells(d) {
  return [text(d.name), text(d.node_guid), text(d.fw_version), text(d.port_state), text(d.link_layer), rate(d.rx_rate), rate(d.tx_rate)];
}

/** The cells of one device change row (a health change: old and new health, and why in the detail). */
export function changeCells(c) {
  return [when(c.changed_at), `${c.device_type === "gpu" ? "GPU" : c.device_type === "rdma" ? "RDMA" : text(c.device_type)} ${text(c.device)}`, text(c.change), text(c.old_identity), text(c.new_identity), text(c.detail)];
}

/** The cells of one GPU job row; the last, the command line, is shown cut short with the whole in its title. */
export function jobCells(j) {
  return [count(j.pid), text(j.name), text(j.framework), text(j.status), text(j.pod_uid), when(j.started_at), when(j.last_seen), text(j.cmdline)];
}

const table = (id, caption, heads, numCols, rows) =>
  el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      { class: "data", id },
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, ...heads.map((h, i) => el("th", { scope: "col", class: numCols.includes(i) ? "num" : "" }, h)))),
      el("tbody", {}, ...rows),
    ),
  );

/**
 * The "Node agent", "RDMA devices" and "Device changes" sections; show(agent) fills them from the answer of
 * /v1/nodes/{name} (agent null: no agent reports the node), fail(message) when that answer did not come.
 */
export function agentPanels(node) {
  const [agentSec, agentBody] = section("Node agent", "agent");
  const [rdmaSec, rdmaBody] = section("RDMA devices", "rdma");
  const [changeSec, changeBody] = section("Device changes", "device-changes-section");
  for (const b of [agentBody, rdmaBody, changeBody]) b.append(notice("loading", "loading…"));

  function show(a) {
    if (!a || typeof a !== "object") {
      agentBody.replaceChildren(notice("missing", NO_AGENT));
      rdmaBody.replaceChildren(notice("missing", "Not known: no node agent reports this node."));
      changeBody.replaceChildren(notice("missing", "Not known: no node agent reports this node."));
      return;
    }
    agentBody.replaceChildren(
      ...(a.status === "lost" ? [notice("missing", "Lost: the hub has had no frame from this node agent for longer than hub.node_lost_after; what it reported (GPUs, RDMA devices, jobs) is as of when it was last seen.")] : []),
      el(
        "dl",
        { class: "facts", id: "agent-facts" },
        ...agentFacts(a).flatMap(([k, l, v]) => [
          el("dt", {}, l),
          el(
            "dd",
            { dataset: { field: k } },
            k === "status" ? el("span", { class: `agent-status ${a.status === "lost" ? "lost" : "ok"}`, dataset: { status: a.status } }, v) : v,
            k === "last_seen" ? el("span", { class: "age" }, ago(secondsSince(a.last_seen))) : null,
          ),
        ]),
      ),
    );
    const devices = Array.isArray(a.rdma_devices) ? a.rdma_devices : [];
    rdmaBody.replaceChildren(
      devices.length === 0
        ? notice("empty", "The node agent reports no RDMA devices on this node.")
        : table(
            "rdma-devices",
            `RDMA devices of ${node}: ${devices.length}`,
            ["Device", "Node GUID", "Firmware", "Port state", "Link layer", "RX rate", "TX rate"],
            [5, 6],
            devices.map((d) =>
              el(
                "tr",
                { dataset: { rdma: d.name } },
                ...rdmaCells(d).map((c, i) => el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : undefined, class: i >= 5 ? "num" : "" }, c)),
              ),
            ),
          ),
    );
    const changes = Array.isArray(a.device_changes) ? a.device_changes : [];
    changeBody.replaceChildren(
      changes.length === 0
        ? notice("empty", "No device has appeared, disappeared or been replaced since the node agent first reported.")
        : table(
            "device-changes",
            `Devices added, removed or replaced on ${node}: the last ${changes.length}, newest first`,
            ["When", "Device", "Change", "Old identity", "New identity", "Detail"],
            [],
            changes.map((c) => el("tr", { dataset: { change: c.change } }, ...changeCells(c).map((v) => el("td", {}, v)))),
          ),
    );
  }

  function fail(message) {
    for (const b of [agentBody, rdmaBody, changeBody]) b.replaceChildren(notice("error", `Cannot load the node agent: ${message}`));
  }

  return { sections: [agentSec, rdmaSec, changeSec], show, fail };
}

export const JOB_FILTERS = [
  ["running,lost", "running or lost"],
  ["", "any"],
  ["ended", "ended"],
];
const JOB_COLUMNS = ["PID", "Name", "Framework", "Status", "Pod UID", "Started", "Last seen", "Command line"];

/** The node's GPU jobs section; call load() to (re)read the current page. */
export function jobsPanel(cluster, node) {
  return pagedTable({
    prefix: "job",
    title: "GPU jobs",
    sectionId: "jobs-section",
    tableId: "jobs",
    intro: el("p", { class: "muted small" }, "Processes that hold GPU device files, as the node agent reads them."),
    filters: JOB_FILTERS,
    filterLabel: "Filter GPU jobs",
    navLabel: "GPU job table pages",
    columns: JOB_COLUMNS,
    numeric: (i) => i === 0,
    path: "/v1/jobs",
    params: { cluster, node },
    row: (j) => {
      const c = jobCells(j);
      return el(
        "tr",
        { dataset: { job: j.id } },
        el("th", { scope: "row", class: "num" }, isNum(j.id) ? el("a", { href: `#/job/${j.id}`, dataset: { link: "job" } }, c[0]) : c[0]),
        el("td", {}, c[1]),
        el("td", {}, c[2]),
        el("td", {}, el("span", { class: `job-status ${j.status === "running" || j.status === "lost" ? j.status : "ended"}` }, c[3])),
        el("td", { class: "uid" }, c[4]),
        el("td", {}, c[5]),
        el("td", {}, c[6]),
        el("td", { class: "cmdline", title: j.cmdline || undefined }, c[7]),
      );
    },
    empty: (status) => (status ? "no GPU job with this status on this node" : "no GPU job reported on this node"),
    caption: (total) => `GPU jobs on ${node}: ${total}`,
    noun: "jobs",
    what: "the GPU jobs",
  });
}
