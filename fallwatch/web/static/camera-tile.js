// A camera tile kept truthful (the dashboard's tiles and the single-camera page): loaded
// after app.js, before the page script. The server computes each camera's status (one
// place, the same for the API); the picture is shown and streamed only while it is
// "live", and every other status covers the view with its own overlay, so an old frame
// (with its "PERSON DOWN") is never taken for the present.
"use strict";

const STATUS_LABELS = {
  live: () => t("Live"), paused: () => t("Paused"), disabled: () => t("Disabled"),
  no_signal: () => t("No signal"), stalled: () => t("Stalled"), starting: () => t("Starting"),
  restarting: () => t("Restarting"), ended: () => t("Ended"), stopped: () => t("Stopped"),
};
function statusLabel(status) { return (STATUS_LABELS[status] || (() => status))(); }

// Figures from a worker that is not running now would read as if they were current.
const FIGURES_SHOWN = new Set(["live", "no_signal", "stalled", "starting", "ended"]);

function fmtNum(n, digits) { return n === null || n === undefined ? "–" : Number(n).toFixed(digits); }

function liveUrl(id, view) { return `/api/cameras/${encodeURIComponent(id)}/live.mjpg?view=${view}`; }

// Start or stop the tile's MJPEG stream: removing the src ends the request, so the
// browser neither keeps the last frame on screen nor keeps downloading.
function showPicture(tile, live) {
  const img = tile.querySelector("img.live");
  if (!img) return;
  if (live) {
    if (!img.getAttribute("src")) img.src = liveUrl(tile.dataset.cameraId, img.dataset.view);
  } else if (img.getAttribute("src")) {
    img.removeAttribute("src");
  }
  img.classList.toggle("hidden", !live);
}

function fpsText(s) {
  const fps = `${fmtNum(s.analysis_fps, 1)}/${fmtNum(s.target_fps, 0)} fps`;
  // Motion gating (when the server reports it): "idle 1/5 fps · no motion".
  if (s.rate_mode === "idle") {
    return t("idle {fps}", { fps }) + (s.rate_reason ? ` · ${s.rate_reason}` : "");
  }
  return fps;
}

function updateTile(tile, c) {
  const set = (field, text) => { const el = tile.querySelector(`[data-field="${field}"]`); if (el) el.textContent = text; };
  const live = c.status === "live";
  tile.dataset.status = c.status;
  tile.dataset.alarmEventId = c.alarm_event_id || "";
  tile.classList.toggle("alarming", Boolean(c.alarm_event_id));
  set("status", statusLabel(c.status));
  set("overlay-title", statusLabel(c.status));
  set("reason", c.status_reason || "");
  tile.querySelector('[data-field="overlay"]')?.classList.toggle("hidden", live);
  showPicture(tile, live);
  const alarm = tile.querySelector('[data-field="alarm"]');
  if (alarm) {
    alarm.classList.toggle("hidden", !c.alarm_event_id);
    if (c.alarm_event_id) alarm.href = `/events/${c.alarm_event_id}`;
  }
  const s = FIGURES_SHOWN.has(c.status) ? c.stats : null;
  set("fps", s ? fpsText(s) : "– fps");
  set("dropped", s && s.dropped_per_s !== null && s.dropped_per_s !== undefined
    ? t("{rate} dropped/s", { rate: fmtNum(s.dropped_per_s, 1) }) : `– ${t("dropped/s")}`);
  set("inference", s ? `${fmtNum(s.inference_ms, 0)} ms` : "– ms");
  const pause = tile.querySelector("button.pause");
  if (pause) {
    // A camera disabled in its config has no worker to pause: no button that does nothing.
    pause.classList.toggle("hidden", c.enabled === false);
    pause.dataset.paused = c.paused;
    pause.textContent = c.paused ? t("Resume") : t("Pause");
  }
}

// The tile's buttons (one listener on a container of tiles).
function handleTileClick(ev, onChanged) {
  const tile = ev.target.closest(".tile");
  if (!tile) return;
  const id = tile.dataset.cameraId;
  if (ev.target.matches("button.toggle-view")) {
    const img = tile.querySelector("img.live");
    const next = img.dataset.view === "annotated" ? "raw" : "annotated";
    img.dataset.view = next;
    if (img.getAttribute("src")) img.src = liveUrl(id, next);
    ev.target.textContent = next === "annotated" ? t("Raw") : t("Annotated");
  } else if (ev.target.matches("button.pause")) {
    const paused = ev.target.dataset.paused === "true";
    api("POST", `/api/cameras/${encodeURIComponent(id)}/${paused ? "resume" : "pause"}`)
      .then(onChanged, (e) => alert(e.message));
  } else if (ev.target.matches("button.remove")) {
    if (!confirm(t("Remove camera {id}?", { id }))) return;
    api("DELETE", `/api/cameras/${encodeURIComponent(id)}`).then(() => location.reload(), (e) => alert(e.message));
  }
}
