// One camera's page: its tile full size and its recent events (after app.js and camera-tile.js).
"use strict";

const cameraPage = document.getElementById("camera-page");
const cameraId = cameraPage.dataset.cameraId;
const cameraTile = cameraPage.querySelector(".tile");

async function refreshCamera() {
  const c = await api("GET", `/api/cameras/${encodeURIComponent(cameraId)}`);
  if (c) updateTile(cameraTile, c);
}

async function refreshCameraEvents() {
  const events = await api("GET", `/api/events?camera_id=${encodeURIComponent(cameraId)}&limit=20`);
  if (!events) return;
  const list = document.getElementById("camera-events");
  list.replaceChildren();
  if (!events.length) {
    const li = document.createElement("li"); li.className = "empty"; li.textContent = t("No events on this camera."); list.append(li);
  }
  for (const e of events) {
    const li = document.createElement("li");
    li.className = `state-${e.state}`; li.dataset.eventId = e.id;
    const a = document.createElement("a"); a.href = `/events/${e.id}`; a.textContent = `#${e.id}`;
    const tm = document.createElement("time"); tm.dateTime = e.created_at; tm.textContent = fmtTime(e.created_at);
    const st = document.createElement("span"); st.className = "event-state"; st.textContent = stateText(e.state);
    li.append(a, ` ${kindText(e.kind)} `, tm, " ", st);
    list.append(li);
  }
}

cameraPage.addEventListener("click", (ev) => handleTileClick(ev, refreshCamera));
document.addEventListener("fallwatch:camera_changed", (ev) => { if (!ev.detail?.camera_id || ev.detail.camera_id === cameraId) refreshCamera(); });
for (const kind of ["event_new", "event_changed", "reconnected"]) {
  document.addEventListener(`fallwatch:${kind}`, (ev) => {
    if (!ev.detail?.camera_id || ev.detail.camera_id === cameraId) { refreshCamera(); refreshCameraEvents(); }
  });
}
refreshCamera();
setInterval(refreshCamera, 2000);
