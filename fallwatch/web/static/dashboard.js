// The dashboard: live camera tiles (loaded after app.js, whose helpers it uses).
"use strict";

// --- camera tiles ------------------------------------------------------------------
function fmt(n, digits) { return n === null || n === undefined ? "–" : Number(n).toFixed(digits); }
async function refreshTiles() {
  const cameras = await api("GET", "/api/cameras");
  if (!cameras) return;
  const known = new Set([...document.querySelectorAll(".tile")].map((t) => t.dataset.cameraId));
  if (cameras.some((c) => !known.has(c.id)) || cameras.length !== known.size) { location.reload(); return; }
  for (const c of cameras) {
    const tile = document.querySelector(`.tile[data-camera-id="${CSS.escape(c.id)}"]`);
    if (!tile) continue;
    const s = c.stats;
    const set = (field, text) => { const el = tile.querySelector(`[data-field="${field}"]`); if (el) el.textContent = text; };
    set("state", c.paused ? "paused" : c.worker);
    set("fps", s ? `${fmt(s.analysis_fps, 1)}/${fmt(s.target_fps, 0)} fps` : "– fps");
    set("dropped", s ? `${s.dropped} dropped` : "0 dropped");
    set("inference", s ? `${fmt(s.inference_ms, 0)} ms` : "– ms");
    let conn = s ? s.connection : "–";
    if (s && ["disconnected", "stalled"].includes(s.connection) && s.retry_in_s !== null) conn += `, retry in ${fmt(s.retry_in_s, 0)} s`;
    set("connection", conn);
    set("error", (s && s.last_error) || (c.worker === "restarting" ? c.worker_message : ""));
    tile.dataset.connection = s ? s.connection : "";
    tile.dataset.worker = c.worker;
    const pause = tile.querySelector("button.pause");
    if (pause) { pause.dataset.paused = c.paused; pause.textContent = c.paused ? "Resume" : "Pause"; }
  }
}

document.getElementById("camera-grid")?.addEventListener("click", async (ev) => {
  const tile = ev.target.closest(".tile");
  if (!tile) return;
  const id = tile.dataset.cameraId;
  if (ev.target.matches("button.toggle-view")) {
    const img = tile.querySelector("img.live");
    const next = img.dataset.view === "annotated" ? "raw" : "annotated";
    img.dataset.view = next;
    img.src = `/api/cameras/${encodeURIComponent(id)}/live.mjpg?view=${next}`;
    ev.target.textContent = next === "annotated" ? "Raw" : "Annotated";
  } else if (ev.target.matches("button.pause")) {
    const paused = ev.target.dataset.paused === "true";
    try { await api("POST", `/api/cameras/${encodeURIComponent(id)}/${paused ? "resume" : "pause"}`); refreshTiles(); }
    catch (e) { alert(e.message); }
  } else if (ev.target.matches("button.remove")) {
    if (!confirm(`Remove camera ${id}?`)) return;
    try { await api("DELETE", `/api/cameras/${encodeURIComponent(id)}`); location.reload(); } catch (e) { alert(e.message); }
  }
});

document.getElementById("add-camera")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const source = f.get("source").trim();
  const body = { id: f.get("id"), name: f.get("name"), location: f.get("location"), analysis_fps: Number(f.get("analysis_fps")), privacy: f.get("privacy") === "on" };
  if (/^[a-z]+:\/\//i.test(source)) body.url = source; else { body.path = source; body.loop = f.get("loop") === "on"; }
  const out = document.getElementById("add-camera-result");
  try { await api("POST", "/api/cameras", body); location.reload(); } catch (e) { out.textContent = e.message; }
});

document.addEventListener("fallwatch:camera_changed", () => refreshTiles());
refreshTiles();
setInterval(refreshTiles, 2000);
