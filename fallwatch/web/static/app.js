// Fallwatch pages: live tiles, the alarm banner and beep (server-sent events), actions.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const canOperate = document.body.dataset.canOperate === "true";
window.fallwatchBeeps = 0;

// --- the session: a 401 anywhere means it ended; say so over the whole page ------------
let sessionExpired = false;
function showSessionExpired() {
  sessionExpired = true;
  const overlay = document.getElementById("session-expired");
  if (!overlay) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
  document.getElementById("session-login").href =
    "/login?next=" + encodeURIComponent(location.pathname + location.search);
  overlay.classList.remove("hidden");
  document.title = t("Session expired") + " – Fallwatch";
}

async function api(method, url, body) {
  if (sessionExpired) return null;
  const res = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) { showSessionExpired(); return null; }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.detail) || res.statusText);
  return data;
}

// --- shared helpers for the page scripts (dashboard.js, events.js, ...) ---------------
// Page scripts listen for the server's notices as DOM events: "fallwatch:event_new",
// "fallwatch:event_changed", "fallwatch:camera_changed" and "fallwatch:reconnected".
// A page script that handles a notice in place calls preventDefault(): false comes back.
function pageNotice(kind, data) {
  return document.dispatchEvent(new CustomEvent(`fallwatch:${kind}`, { detail: data, cancelable: true }));
}

// Text shown to people goes through t(): the page's message catalog (a JSON script
// element with id "fw-messages", filled by the server for the user's language) or the
// English text itself. "{name}" placeholders are filled from `vars`.
const FW_MESSAGES = (() => {
  try { return JSON.parse(document.getElementById("fw-messages")?.textContent || "{}"); } catch (e) { return {}; }
})();
function t(text, vars) {
  const s = FW_MESSAGES[text] || text;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// Words the server sends as codes, in the page's language.
function kindText(kind) {
  return { fall: t("fall"), found_down: t("found down") }[kind] || String(kind).replace("_", " ");
}
function stateText(state) {
  return { open: t("open"), acknowledged: t("acknowledged"), resolved: t("resolved"), suppressed: t("suppressed") }[state] || String(state);
}

// The language selector in the header: saved for the user, then the page in it.
document.getElementById("locale-select")?.addEventListener("change", async (ev) => {
  try { await api("PATCH", "/api/users/me", { locale: ev.target.value }); location.reload(); }
  catch (e) { alert(t("Could not change the language: {error}", { error: e.message })); }
});

// One time convention: the API speaks ISO 8601 (UTC); pages show the browser's local
// time with its zone ("14:39:36 GMT+9"), with the date unless `timeOnly`.
function parseIso(iso) {
  if (!iso) return null;
  const s = String(iso);
  return new Date(/(Z|[+-]\d\d:?\d\d)$/.test(s) ? s : s + "Z");
}
function fmtTime(iso, timeOnly) {
  const d = parseIso(iso);
  if (!d || isNaN(d)) return "–";
  const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" };
  if (!timeOnly) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
  return d.toLocaleString(document.documentElement.lang || undefined, opts);
}
// Server-rendered <time datetime="..."> elements are rewritten the same way on load.
function localiseTimes(root) {
  for (const el of (root || document).querySelectorAll("time[datetime]")) {
    el.textContent = fmtTime(el.getAttribute("datetime"), el.dataset.timeOnly === "true");
    el.title = el.getAttribute("datetime");
  }
}
localiseTimes();

// --- display mode and sound ------------------------------------------------------------
// A wall screen opens the page once with ?display=1 (remembered here; ?display=0 ends it).
// Sound, once switched on with a click, stays wanted across reloads; when the browser
// holds it back (no click yet since this load), the page says so in plain words.
const DISPLAY_KEY = "fallwatch.display";
const SOUND_KEY = "fallwatch.sound";
const store = { get: (k) => { try { return localStorage.getItem(k); } catch (e) { return null; } },
                set: (k, v) => { try { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { /* private mode */ } } };
const query = new URLSearchParams(location.search);
if (query.get("display") === "1") store.set(DISPLAY_KEY, "1");
if (query.get("display") === "0") store.set(DISPLAY_KEY, null);
const displayMode = store.get(DISPLAY_KEY) === "1";
document.body.classList.toggle("display", displayMode);
const soundWanted = () => displayMode || store.get(SOUND_KEY) === "on";

const SOUND_LABELS = { on: t("Sound: on"), off: t("Sound: off"), blocked: t("Sound: blocked") };
let audio = null;
const soundButton = document.getElementById("sound-toggle");
const soundBlocked = document.getElementById("sound-blocked");
function audioContext() {
  if (!audio) { try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { return null; } }
  return audio;
}
function showSoundState() {
  const running = audio !== null && audio.state === "running";
  window.fallwatchSound = running ? "on" : (soundWanted() ? "blocked" : "off");
  if (soundButton) soundButton.textContent = SOUND_LABELS[window.fallwatchSound];
  const alarming = !document.getElementById("alarm-banner")?.classList.contains("hidden");
  soundBlocked?.classList.toggle("hidden", running || !(soundWanted() || alarming));
}
// Called from a click: the browser lets sound start now; remember that it is wanted.
function enableSound() {
  const ctx = audioContext();
  store.set(SOUND_KEY, "on");
  if (ctx && ctx.state !== "running") ctx.resume().then(showSoundState, showSoundState);
  showSoundState();
}
// Without a click since this load, resume() is held back (or refused): find out, and say so.
function tryArmSound() {
  const ctx = audioContext();
  if (ctx && ctx.state !== "running") ctx.resume().then(showSoundState, showSoundState);
  setTimeout(showSoundState, 500);
}
// Browsers allow sound only after a user gesture; any click on the page counts.
document.addEventListener("click", enableSound);
soundButton?.addEventListener("click", enableSound);
document.getElementById("display-exit")?.addEventListener("click", () => { store.set(DISPLAY_KEY, null); location.search = ""; });
if (soundWanted()) tryArmSound(); else showSoundState();

function beep() {
  window.fallwatchBeeps += 1;
  if (!audioContext()) return;
  // An alarm the browser keeps silent: say so (and try, in case a click came meanwhile).
  if (audio.state !== "running") { soundBlocked?.classList.remove("hidden"); tryArmSound(); }
  const t0 = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.35);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + i * 0.35 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.35 + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + i * 0.35);
    osc.stop(t0 + i * 0.35 + 0.27);
  }
}

// --- the alarm banner -----------------------------------------------------------------
// Shown for the newest open alarm on every page, from the server's list at each page load
// (and every poll), not only on a live event_new: a reloaded wall display still alarms.
const banner = document.getElementById("alarm-banner");
const REBEEP_MS = 10000;
let bannerEvent = null;
function showAlarm(data, more) {
  const changed = String(data.id) !== String(bannerEvent);
  bannerEvent = data.id;
  document.getElementById("alarm-text").textContent =
    `${data.camera_name}${data.location ? " – " + data.location : ""} ` +
    t("({kind}, event {id})", { kind: kindText(data.kind), id: data.id });
  const extra = document.getElementById("alarm-more");
  if (extra) extra.textContent = more ? t("+{count} more open", { count: more }) : "";
  document.getElementById("alarm-view").href = `/events/${data.id}`;
  banner.dataset.eventId = data.id;
  banner.classList.remove("hidden");
  document.title = t("PERSON DOWN") + " – Fallwatch";
  if (changed) beep();
}
function hideAlarm(id) {
  if (id !== undefined && String(id) !== String(bannerEvent)) return;
  banner.classList.add("hidden");
  bannerEvent = null;
  document.title = "Fallwatch";
}
// The banner follows the open alarms: the one shown stays while open, else the newest.
function showOpenAlarms(events) {
  const count = document.getElementById("alarm-count");
  if (count) count.textContent = events.length;
  if (!events.length) { hideAlarm(); return; }
  const shown = events.find((e) => String(e.id) === String(bannerEvent)) || events[0];
  showAlarm(shown, events.length - 1);
}
// Until someone acknowledges, the beep repeats.
setInterval(() => { if (bannerEvent !== null) beep(); }, REBEEP_MS);
document.getElementById("alarm-ack")?.addEventListener("click", async () => {
  if (bannerEvent === null) return;
  const id = bannerEvent;
  try { await api("POST", `/api/events/${id}/acknowledge`, {}); hideAlarm(id); refreshAlarms(); }
  catch (e) { alert(t("Could not acknowledge: {error}", { error: e.message })); }
});

// --- lists that change with events ---------------------------------------------------
async function refreshAlarms() {
  const events = await api("GET", "/api/events?state=open&state=suppressed&limit=50");
  if (!events) return;
  showOpenAlarms(events);
  const list = document.getElementById("alarm-list");
  if (!list) return;
  list.replaceChildren();
  if (!events.length) {
    const li = document.createElement("li"); li.className = "empty"; li.textContent = t("No open alarms."); list.append(li);
  }
  for (const e of events) {
    const li = document.createElement("li");
    li.className = "alarm"; li.dataset.eventId = e.id;
    if (e.snapshot_url) { const img = document.createElement("img"); img.src = e.snapshot_url; img.className = "thumb"; img.alt = t("snapshot"); li.append(img); }
    const a = document.createElement("a"); a.href = `/events/${e.id}`; a.textContent = e.camera_name; li.append(a);
    li.append(` ${e.location || ""} – ${kindText(e.kind)} `);
    const tm = document.createElement("time"); tm.dateTime = e.created_at; tm.textContent = fmtTime(e.created_at); li.append(tm);
    if (canOperate) { const b = document.createElement("button"); b.type = "button"; b.className = "ack"; b.dataset.eventId = e.id; b.textContent = t("Acknowledge"); li.append(" ", b); }
    list.append(li);
  }
}

document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button.ack, button.resolve");
  if (!button) return;
  const id = button.dataset.eventId;
  const action = button.classList.contains("ack") ? "acknowledge" : "resolve";
  const note = document.getElementById("action-note")?.value || null;
  button.disabled = true;
  try {
    const row = await api("POST", `/api/events/${id}/${action}`, note ? { note } : {});
    hideAlarm(id);
    if (document.body.dataset.page === "dashboard") refreshAlarms();
    else if (pageNotice("event_changed", row || { id: Number(id) })) location.reload();
  } catch (e) {
    button.disabled = false;
    const what = action === "acknowledge" ? t("Could not acknowledge: {error}") : t("Could not resolve: {error}");
    alert(what.replace("{error}", e.message));
  }
});

// --- live updates ------------------------------------------------------------------
function connect() {
  const source = new EventSource("/api/stream");
  const lost = document.getElementById("connection-lost");
  source.onopen = () => { lost?.classList.add("hidden"); };
  source.onerror = () => {
    if (sessionExpired) { source.close(); return; }
    lost?.classList.remove("hidden");
    // The browser gives up on an error answer (401: the session ended): find out which,
    // then try again; a 401 shows the overlay.
    if (source.readyState === EventSource.CLOSED) {
      refreshAlarms().catch(() => {}).finally(() => { if (!sessionExpired) setTimeout(connect, 5000); });
    }
  };
  source.addEventListener("event_new", (m) => {
    const data = JSON.parse(m.data);
    showAlarm(data);
    refreshAlarms();
    pageNotice("event_new", data);
  });
  source.addEventListener("event_changed", (m) => {
    const data = JSON.parse(m.data);
    if (data.state && data.state !== "open") hideAlarm(data.id);
    refreshAlarms();
    pageNotice("event_changed", data);
  });
  source.addEventListener("camera_changed", (m) => pageNotice("camera_changed", JSON.parse(m.data || "{}")));
  // After a reconnect, page scripts reload their lists: notices may have been missed.
  source.addEventListener("open", () => pageNotice("reconnected", {}));
}

connect();
// The alarm state from the server on every page load, and again every poll (which also
// keeps the session alive while the page is open, and finds out when it has ended).
const ALARM_POLL_MS = 15000;
refreshAlarms();
setInterval(refreshAlarms, ALARM_POLL_MS);
