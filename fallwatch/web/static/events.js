// The events page (loaded after app.js, whose helpers it uses): the list follows the
// server's notices in place, without a reload, so what someone is typing into the
// filter stays; the filter itself lives in the URL (shareable), dates as ISO instants.
"use strict";

(() => {
  const form = document.getElementById("event-filters");
  const table = document.getElementById("events-table");
  const older = document.getElementById("older-events");
  if (!form || !table) return;
  const tbody = table.tBodies[0];
  const pageSize = Number(table.dataset.pageSize) || 50;
  const fromInput = document.getElementById("filter-from");
  const toInput = document.getElementById("filter-to");

  // --- dates: the browser's local days <-> the instants in the URL -------------------
  const pad = (n) => String(n).padStart(2, "0");
  const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  // Local midnight starting the day `value` ("2026-11-25"), `addDays` later, as ISO UTC.
  function dayStart(value, addDays) {
    const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(value || "");
    if (!m) return null;
    return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + addDays).toISOString();
  }
  const applied = new URLSearchParams(location.search);
  const since = parseIso(applied.get("since"));
  const until = parseIso(applied.get("until"));
  if (since && !isNaN(since)) fromInput.value = localDay(since);
  // `until` is the start of the day after the last one shown.
  if (until && !isNaN(until)) toInput.value = localDay(new Date(until.getTime() - 1));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const box of form.querySelectorAll("input[name=state]:checked")) params.append("state", box.value);
    const camera = form.elements.namedItem("camera_id").value;
    if (camera) params.set("camera_id", camera);
    const from = dayStart(fromInput.value, 0);
    if (from) params.set("since", from);
    const to = dayStart(toInput.value, 1);
    if (to) params.set("until", to);
    const text = form.elements.namedItem("q").value.trim();
    if (text) params.set("q", text);
    const qs = params.toString();
    location.href = "/events" + (qs ? "?" + qs : "");
  });

  // --- rows ------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props || {});
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  // A time on the event's row: the time alone on the day the event was raised, else
  // with its date (an alarm acknowledged after midnight says so).
  function rowTime(iso, raisedIso) {
    const d = parseIso(iso);
    const raised = parseIso(raisedIso);
    const sameDay = d && raised && localDay(d) === localDay(raised);
    return el("time", { dateTime: iso, title: iso, textContent: fmtTime(iso, sameDay) });
  }
  function stateCell(e) {
    const td = el("td", { className: "event-state" }, stateText(e.state));
    const line = (cls, text, iso) => {
      td.append(el("br"), el("small", { className: cls }, text, " ", rowTime(iso, e.created_at)));
    };
    if (e.recovered_at) line("recovered", t("up again"), e.recovered_at);
    if (e.acknowledged_at) line("acknowledged", t("acknowledged by {name} at", { name: e.acknowledged_by }), e.acknowledged_at);
    if (e.resolved_at) line("resolved", t("resolved by {name} at", { name: e.resolved_by }), e.resolved_at);
    return td;
  }
  function actionsCell(e) {
    const td = el("td");
    if (!canOperate) return td;
    const button = (cls, text) => el("button", { type: "button", className: cls, textContent: text });
    if (e.state === "open" || e.state === "suppressed") {
      const b = button("ack", t("Acknowledge")); b.dataset.eventId = e.id; td.append(b, " ");
    }
    if (e.state !== "resolved") {
      const b = button("resolve", t("Resolve")); b.dataset.eventId = e.id; td.append(b);
    }
    return td;
  }
  function cells(e) {
    const link = () => el("a", { href: `/events/${e.id}` });
    const thumb = el("td");
    if (e.snapshot_url) {
      const a = link(); a.append(el("img", { src: e.snapshot_url, alt: "snapshot", className: "thumb" })); thumb.append(a);
    }
    const id = el("td"); const a = link(); a.textContent = e.id; id.append(a);
    const alerts = el("td", {}, `${e.alerts_delivered}/${e.alerts_total}`);
    if (e.alerts_failed) alerts.append(" ", el("span", { className: "error", textContent: t("{n} failed", { n: e.alerts_failed }) }));
    return [
      thumb,
      id,
      el("td", {}, e.camera_name, el("br"), el("small", { textContent: e.location || "" })),
      el("td", { textContent: kindText(e.kind) }),
      el("td", {}, el("time", { dateTime: e.created_at, title: e.created_at, textContent: fmtTime(e.created_at) })),
      stateCell(e),
      alerts,
      actionsCell(e),
    ];
  }
  // The row's contents follow the event; an unchanged row is left alone (focus, hover).
  // A row that is new or changed since the page showed it glows for a moment (its cells
  // are new, so the animation runs again); the rows of the page as loaded do not.
  function fill(tr, e) {
    const sig = JSON.stringify(e);
    if (tr.dataset.sig === sig) return;
    const shown = tr.dataset.eventId !== undefined;
    const glow = !shown || tr.dataset.sig !== undefined;
    tr.dataset.sig = sig;
    tr.dataset.eventId = e.id;
    tr.className = `state-${e.state}${glow ? " fresh" : ""}`;
    tr.replaceChildren(...cells(e));
  }
  function render(events) {
    const rows = new Map([...tbody.querySelectorAll("tr[data-event-id]")].map((tr) => [tr.dataset.eventId, tr]));
    const wanted = events.map((e) => {
      const tr = rows.get(String(e.id)) || el("tr");
      fill(tr, e);
      return tr;
    });
    if (!wanted.length) wanted.push(el("tr", { className: "no-events" }, el("td", { colSpan: 8, className: "empty", textContent: t("No events.") })));
    // Rows already in place stay where they are (new ones go in above them); rows that
    // no longer match the filter go.
    wanted.forEach((tr, i) => { if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
    while (tbody.children.length > wanted.length) tbody.lastElementChild.remove();
    const full = events.length >= pageSize;
    older?.classList.toggle("hidden", !full);
    if (older && full) {
      const params = new URLSearchParams(location.search);
      params.set("before_id", events[events.length - 1].id);
      older.href = "/events?" + params.toString();
    }
  }

  // --- live ------------------------------------------------------------------------
  // The applied filter (the URL's), not what is being typed: the list changes only on a
  // submit. Notices that come while a fetch is out are answered by one more fetch.
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const params = new URLSearchParams(location.search);
        params.set("limit", String(pageSize));
        const events = await api("GET", "/api/events?" + params.toString());
        if (events) render(events);
      } while (again);
    } catch (e) {
      console.warn("events: could not refresh the list:", e.message);
    } finally {
      busy = false;
      window.fallwatchEventsRefreshed = (window.fallwatchEventsRefreshed || 0) + 1;
    }
  }
  document.addEventListener("fallwatch:event_new", refresh);
  document.addEventListener("fallwatch:reconnected", refresh);
  // preventDefault: this page takes an acknowledgement in place (app.js reloads others).
  document.addEventListener("fallwatch:event_changed", (ev) => { ev.preventDefault(); refresh(); });
})();
