// Admin pages (users, API tokens, alert deliveries) over the JSON API, with the page's
// CSRF token. No inline scripts: the Content-Security-Policy allows only files from here.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const message = document.getElementById("admin-message");

  async function call(method, url, body) {
    const res = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error(t("your session has ended: log in again"));
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.detail) || `${res.status} ${res.statusText}`);
    return data;
  }

  function say(text, isError = false) {
    if (!message) return;
    message.textContent = text;
    message.classList.toggle("error", isError);
  }

  function el(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function button(className, text) {
    return el("button", { type: "button", className, textContent: text });
  }

  // The API's times are ISO 8601 UTC; shown in the browser's zone, named (app.js).
  const when = (iso) => fmtTime(iso);

  function fill(tbody, rows, columns, emptyText) {
    if (!rows.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colSpan: columns, className: "empty", textContent: emptyText })));
    } else {
      tbody.replaceChildren(...rows);
    }
  }

  async function guarded(work) {
    try { await work(); } catch (e) { say(e.message, true); }
  }

  // --- users --------------------------------------------------------------------------
  function usersPage(root) {
    const tbody = root.querySelector("#users-table tbody");
    const roles = [...root.querySelectorAll("#user-add select[name=role] option")].map((o) => o.value);

    function row(u) {
      const role = el("select", { className: "role", title: t("Role of {name}", { name: u.username }) });
      for (const r of roles) role.append(el("option", { value: r, textContent: r, selected: r === u.role }));
      const tr = el("tr", { className: u.disabled ? "disabled" : "" },
        el("td", { className: "name", textContent: u.username }),
        el("td", {}, role),
        el("td", { className: "state", textContent: u.disabled ? t("disabled") : t("active") }),
        el("td", { textContent: when(u.created_at) }),
        el("td", { textContent: when(u.last_login_at) }),
        el("td", { className: "row-actions" },
          button("toggle", u.disabled ? t("Enable") : t("Disable")), " ",
          button("password", t("Set password")), " ",
          button("remove", t("Remove"))));
      tr.dataset.userId = u.id;
      tr.dataset.username = u.username;
      tr.dataset.disabled = u.disabled;
      return tr;
    }

    async function load() {
      const users = await call("GET", "/api/users");
      fill(tbody, users.map(row), 6, t("No users."));
    }

    function passwordForm(tr) {
      root.querySelector("tr.password-row")?.remove();
      const input = el("input", { type: "password", name: "password", required: true, minLength: 8, maxLength: 1024, autocomplete: "new-password" });
      const form = el("form", { className: "admin-form inline-form" },
        el("label", {}, t("New password for {name}", { name: tr.dataset.username }) + " ", input), " ",
        el("button", { type: "submit", textContent: t("Save password") }), " ",
        button("cancel", t("Cancel")));
      const extra = el("tr", { className: "password-row" }, el("td", { colSpan: 6 }, form));
      extra.dataset.userId = tr.dataset.userId;
      tr.after(extra);
      input.focus();
      form.querySelector("button.cancel").addEventListener("click", () => extra.remove());
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        guarded(async () => {
          await call("PATCH", `/api/users/${tr.dataset.userId}`, { password: input.value });
          extra.remove();
          say(t("Password of {name} changed; their sessions have ended.", { name: tr.dataset.username }));
        });
      });
    }

    root.querySelector("#user-add").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const f = new FormData(form);
      guarded(async () => {
        const u = await call("POST", "/api/users", { username: f.get("username").trim(), password: f.get("password"), role: f.get("role") });
        form.reset();
        say(t("User {name} added ({role}).", { name: u.username, role: u.role }));
        await load();
      });
    });

    tbody.addEventListener("change", (ev) => {
      if (!ev.target.matches("select.role")) return;
      const tr = ev.target.closest("tr");
      guarded(async () => {
        try {
          const u = await call("PATCH", `/api/users/${tr.dataset.userId}`, { role: ev.target.value });
          say(t("{name} is now {role}.", { name: u.username, role: u.role }));
        } finally { await load(); }
      });
    });

    tbody.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (!tr || !tr.dataset.username) return;
      const name = tr.dataset.username;
      if (ev.target.matches("button.toggle")) {
        const disable = tr.dataset.disabled !== "true";
        guarded(async () => {
          await call("PATCH", `/api/users/${tr.dataset.userId}`, { disabled: disable });
          say(disable ? t("{name} disabled; their sessions have ended.", { name }) : t("{name} enabled.", { name }));
          await load();
        });
      } else if (ev.target.matches("button.password")) {
        passwordForm(tr);
      } else if (ev.target.matches("button.remove")) {
        if (!confirm(t("Remove user {name}? Their sessions end and their API tokens are revoked.", { name }))) return;
        guarded(async () => {
          await call("DELETE", `/api/users/${tr.dataset.userId}`);
          say(t("User {name} removed.", { name }));
          await load();
        });
      }
    });

    guarded(load);
  }

  // --- API tokens ---------------------------------------------------------------------
  function tokensPage(root) {
    const tbody = root.querySelector("#tokens-table tbody");
    const created = root.querySelector("#token-created");

    function row(tk) {
      const tr = el("tr", { className: tk.revoked_at ? "revoked" : "" },
        el("td", { className: "name", textContent: tk.name }),
        el("td", {}, el("code", { textContent: tk.prefix + "…" })),
        el("td", { textContent: tk.role }),
        el("td", { textContent: when(tk.created_at) }),
        el("td", { textContent: when(tk.last_used_at) }),
        el("td", { className: "state", textContent: tk.revoked_at ? t("revoked {time}", { time: when(tk.revoked_at) }) : t("active") }),
        el("td", {}, tk.revoked_at ? null : button("revoke", t("Revoke"))));
      tr.dataset.tokenId = tk.id;
      tr.dataset.name = tk.name;
      return tr;
    }

    async function load() {
      const tokens = await call("GET", "/api/tokens");
      // Active ones first, each group newest first.
      tokens.sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || b.id - a.id);
      fill(tbody, tokens.map(row), 7, t("No API tokens."));
    }

    root.querySelector("#token-create").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const f = new FormData(form);
      guarded(async () => {
        const tk = await call("POST", "/api/tokens", { name: f.get("name").trim(), role: f.get("role") });
        form.reset();
        created.querySelector('[data-field="name"]').textContent = tk.name;
        created.querySelector('[data-field="role"]').textContent = tk.role;
        created.querySelector("#new-token").textContent = tk.token;
        created.classList.remove("hidden");
        say("");
        await load();
      });
    });

    root.querySelector("#copy-token").addEventListener("click", async () => {
      const text = created.querySelector("#new-token").textContent;
      try {
        await navigator.clipboard.writeText(text);
        say(t("Token copied."));
      } catch (e) {
        getSelection().selectAllChildren(created.querySelector("#new-token"));
        say(t("Copying is blocked here: the token is selected, press Ctrl+C."));
      }
    });

    tbody.addEventListener("click", (ev) => {
      if (!ev.target.matches("button.revoke")) return;
      const tr = ev.target.closest("tr");
      if (!confirm(t("Revoke the token {name}? Whatever uses it stops working.", { name: tr.dataset.name }))) return;
      guarded(async () => {
        await call("DELETE", `/api/tokens/${tr.dataset.tokenId}`);
        say(t("Token {name} revoked.", { name: tr.dataset.name }));
        await load();
      });
    });

    guarded(load);
  }

  // --- alert deliveries ---------------------------------------------------------------
  function alertsPage(root) {
    const tbody = root.querySelector("#alerts-table tbody");
    const form = root.querySelector("#alert-filters");
    const allStatuses = [...form.querySelectorAll("input[name=status]")].map((i) => i.value);
    const channelSelect = form.elements.channel;

    // The filters live in the address, so a reload or a shared link keeps them.
    const params = new URLSearchParams(location.search);
    for (const box of form.querySelectorAll("input[name=status]")) box.checked = params.getAll("status").includes(box.value);
    const wantedChannel = params.get("channel") || "";
    if (wantedChannel && ![...channelSelect.options].some((o) => o.value === wantedChannel)) {
      channelSelect.append(el("option", { value: wantedChannel, textContent: wantedChannel }));
    }
    channelSelect.value = wantedChannel;

    function attempts(a) {
      if (!a.attempt_log.length) return String(a.attempts);
      const list = el("ul");
      for (const at of a.attempt_log) {
        const outcome = at.ok === null ? t("in flight") : at.ok ? t("ok") : t("failed");
        list.append(el("li", { textContent: `${when(at.started_at)}: ${outcome}${at.http_status ? " HTTP " + at.http_status : ""}${at.error ? " – " + at.error : ""}` }));
      }
      return el("details", {}, el("summary", { textContent: String(a.attempts) }), list);
    }

    function row(a) {
      const tr = el("tr", { className: `status-${a.status}` },
        el("td", { className: "status", textContent: a.status }),
        el("td", { textContent: when(a.created_at) }),
        el("td", {}, el("a", { href: `/events/${a.event_id}`, textContent: `#${a.event_id}` })),
        el("td", { textContent: a.kind }),
        el("td", { className: "channel", textContent: a.channel }),
        el("td", { textContent: a.recipient || "–" }),
        el("td", {}, attempts(a)),
        el("td", { className: "last-error", textContent: a.last_error || "" }),
        el("td", { textContent: when(a.delivered_at) }));
      tr.dataset.alertId = a.id;
      return tr;
    }

    function query(statuses, limit) {
      const p = new URLSearchParams();
      for (const s of statuses) p.append("status", s);
      if (channelSelect.value) p.set("channel", channelSelect.value);
      p.set("limit", limit);
      return "/api/alerts?" + p;
    }

    async function load() {
      const chosen = [...form.querySelectorAll("input[name=status]:checked")].map((i) => i.value);
      const shown = new URLSearchParams();
      for (const s of chosen) shown.append("status", s);
      if (channelSelect.value) shown.set("channel", channelSelect.value);
      history.replaceState(null, "", location.pathname + (shown.toString() ? "?" + shown : ""));
      const wanted = chosen.length ? chosen : allStatuses;
      // Failed ones first (what needs a person), then the rest, newest first.
      const failed = wanted.includes("failed") ? await call("GET", query(["failed"], 200)) : [];
      const rest = wanted.filter((s) => s !== "failed");
      const others = rest.length ? await call("GET", query(rest, 300)) : [];
      const alerts = [...failed, ...others];
      for (const a of alerts) {
        if (![...channelSelect.options].some((o) => o.value === a.channel)) {
          channelSelect.append(el("option", { value: a.channel, textContent: a.channel }));
        }
      }
      fill(tbody, alerts.map(row), 9, t("No alerts match."));
      say(t("{count} alert(s), {failed} failed.", { count: alerts.length, failed: failed.length }), failed.length > 0);
    }

    form.addEventListener("change", () => guarded(load));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); guarded(load); });
    root.querySelector("#alerts-refresh").addEventListener("click", () => guarded(load));
    guarded(load);
  }

  const pages = { "users-page": usersPage, "tokens-page": tokensPage, "alerts-page": alertsPage };
  for (const [id, start] of Object.entries(pages)) {
    const root = document.getElementById(id);
    if (root) start(root);
  }
})();
