// paged.js — one filtered, paged table section over a list route that answers {data: [...], total}: a status
// filter, previous/next, a caption and a pager line, and loads that drop an answer a newer load overtook.
// The cluster page's GPU workloads (workloads.js) and the node page's GPU jobs (nodeagent.js) are two of these.
import { apiGet } from "./api.js";
import { el, isNum, notice, section } from "./dom.js";

export const PAGE_SIZE = 10;

/**
 * The section; call load() to (re)read the current page. o:
 *   prefix     element ids: PREFIX-status, -rows, -page-info, -prev, -next
 *   title, sectionId, tableId, intro (a node shown above the filter, optional)
 *   filters    [[status value, label], ...], the first the default; filterLabel, navLabel (aria labels)
 *   columns    header labels; numeric(i): column i holds numbers
 *   path, params   the route and its query besides status and paging
 *   row(item)  the <tr> of one item; empty(status) the text of an empty page; caption(total)
 *   noun       the pager's "· N noun"; what   the error's "Cannot load WHAT: ..."
 */
export function pagedTable(o) {
  const state = { status: o.filters[0][0], page: 1, total: 0, seq: 0, destroyed: false };
  const statusSelect = el("select", { id: `${o.prefix}-status`, name: `${o.prefix}_status` }, ...o.filters.map(([v, l]) => el("option", { value: v }, l)));
  const rows = el("tbody", { id: `${o.prefix}-rows` });
  const caption = el("caption", {}, o.title);
  const info = el("span", { id: `${o.prefix}-page-info`, class: "page-info", "aria-live": "polite" });
  const prev = el("button", { type: "button", id: `${o.prefix}-prev`, onclick: () => go(state.page - 1) }, "‹ Previous");
  const next = el("button", { type: "button", id: `${o.prefix}-next`, onclick: () => go(state.page + 1) }, "Next ›");
  const pages = () => Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  const go = (p) => {
    state.page = Math.min(Math.max(1, p), pages());
    load();
  };
  statusSelect.addEventListener("change", () => {
    state.status = statusSelect.value;
    state.page = 1;
    load();
  });
  const head = el("tr", {}, ...o.columns.map((h, i) => el("th", { scope: "col", class: o.numeric(i) ? "num" : "" }, h)));
  const [sec, body] = section(o.title, o.sectionId);
  body.append(
    ...(o.intro ? [o.intro] : []),
    el("form", { class: "filters", "aria-label": o.filterLabel, onsubmit: (e) => e.preventDefault() }, el("label", { for: `${o.prefix}-status` }, "Status"), statusSelect),
    el("div", { class: "table-wrap" }, el("table", { id: o.tableId, class: "data" }, caption, el("thead", {}, head), rows)),
    el("nav", { class: "pager", "aria-label": o.navLabel }, prev, info, next),
  );

  function render(list) {
    rows.replaceChildren(...list.map(o.row));
    if (list.length === 0) rows.append(el("tr", {}, el("td", { colspan: o.columns.length, class: "muted" }, o.empty(state.status))));
    caption.textContent = o.caption(state.total);
    info.textContent = `page ${state.page} of ${pages()} · ${state.total} ${o.noun}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages();
  }

  async function load() {
    const my = ++state.seq;
    try {
      const data = await apiGet(o.path, { ...o.params, status: state.status, page_num: state.page, page_size: PAGE_SIZE });
      if (my !== state.seq || state.destroyed) return true;
      state.total = isNum(data?.total) ? data.total : 0;
      if (state.page > pages() && state.total > 0) {
        go(pages());
        return true;
      }
      render(Array.isArray(data?.data) ? data.data : []);
      return true;
    } catch (e) {
      if (my !== state.seq || state.destroyed) return false;
      if (e.status !== 401) rows.replaceChildren(el("tr", {}, el("td", { colspan: o.columns.length }, notice("error", `Cannot load ${o.what}: ${e.message}`))));
      return false;
    }
  }

  return {
    el: sec,
    load,
    destroy() {
      state.destroyed = true;
    },
  };
}
