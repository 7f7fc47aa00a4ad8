// dom.js — small DOM and formatting helpers. Every value from the API reaches the page through
// textContent or an attribute, never through innerHTML.

/** el("td", {class: "num", dataset: {field: "x"}}, child, "text", …) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "text") e.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const isNum = (x) => typeof x === "number" && Number.isFinite(x);

/** 42.456 → "42.5%"; not a number → "–". */
export function pct(x) {
  return isNum(x) ? `${x.toFixed(1)}%` : "–";
}

/** An integer count, or "–". */
export function count(x) {
  return isNum(x) ? String(Math.round(x)) : "–";
}

/** A number with at most `digits` decimals, or "–". */
export function num(x, digits = 1) {
  return isNum(x) ? String(Number(x.toFixed(digits))) : "–";
}

/** Seconds → "12s ago", "3m ago", "2h 5m ago", "4d ago"; null → "never". */
export function ago(seconds) {
  if (!isNum(seconds)) return "never";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** An API time (RFC 3339, UTC) as "YYYY-MM-DD HH:MM" UTC; "–" when unknown. */
export function when(iso) {
  return typeof iso === "string" && iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "–";
}

/** Seconds from an API time until now (≥ 0), or null when it is not a time. */
export function secondsSince(iso) {
  const t = typeof iso === "string" ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 1000) : null;
}

/** Bytes → "1.5 TiB" (binary units); not a number → "–". */
export function bytes(x) {
  if (!isNum(x)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = x;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(1))} ${units[i]}`;
}

const STATUSES = ["online", "stale", "offline", "never_seen"];

/** The status badge: the word is in the text, the colour only repeats it. */
export function statusBadge(status) {
  const s = STATUSES.includes(status) ? status : "never_seen";
  return el("span", { class: `badge ${s}`, dataset: { status: s } }, s.replace("_", " "));
}

/** A bar beside a percentage (decorative: the number is the text). */
export function bar(value, cls = "") {
  const b = el("span", { class: `bar ${cls}`, "aria-hidden": "true" });
  if (isNum(value)) b.append(el("span", { style: `width:${Math.min(100, Math.max(0, value))}%` }));
  return b;
}

/** A card with a big value and a label; extra lines under it. */
export function card(value, label, field, ...extra) {
  return el(
    "div",
    { class: "card", dataset: field ? { field } : undefined },
    el("div", { class: "v" }, value),
    el("div", { class: "k" }, label),
    ...extra,
  );
}

/** A notice in place of a part that is not available: kind "missing" | "error" | "empty" | "loading". */
export function notice(kind, text) {
  return el("p", { class: `notice ${kind}`, dataset: { state: kind }, role: kind === "error" ? "alert" : undefined }, text);
}

/** A section with a heading; returns [section, body]. */
export function section(title, id, ...headerExtra) {
  const body = el("div", { class: "section-body" });
  const s = el(
    "section",
    { class: "panel", "aria-labelledby": `${id}-h`, id },
    el("div", { class: "section-head" }, el("h2", { id: `${id}-h` }, title), ...headerExtra),
    body,
  );
  return [s, body];
}
