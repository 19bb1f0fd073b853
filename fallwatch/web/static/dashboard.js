// The dashboard: live camera tiles (loaded after app.js and camera-tile.js).
"use strict";

const grid = document.getElementById("camera-grid");

// The server lists the cameras with an open alarm first: keep the page in that order
// (moving a tile keeps its stream).
function sortTiles(cameras) {
  const tiles = [...grid.querySelectorAll(".tile")];
  const order = cameras.map((c) => c.id);
  if (tiles.map((el) => el.dataset.cameraId).join("\n") === order.join("\n")) return;
  const byId = new Map(tiles.map((el) => [el.dataset.cameraId, el]));
  for (const id of order) { const el = byId.get(id); if (el) grid.append(el); }
}

async function refreshTiles() {
  const cameras = await api("GET", "/api/cameras");
  if (!cameras || !grid) return;
  const known = new Set([...grid.querySelectorAll(".tile")].map((el) => el.dataset.cameraId));
  if (cameras.some((c) => !known.has(c.id)) || cameras.length !== known.size) { location.reload(); return; }
  for (const c of cameras) {
    const tile = grid.querySelector(`.tile[data-camera-id="${CSS.escape(c.id)}"]`);
    if (tile) updateTile(tile, c);
  }
  sortTiles(cameras);
}

grid?.addEventListener("click", (ev) => handleTileClick(ev, refreshTiles));

document.getElementById("add-camera")?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const source = f.get("source").trim();
  const body = { id: f.get("id"), name: f.get("name"), location: f.get("location"), analysis_fps: Number(f.get("analysis_fps")), privacy: f.get("privacy") === "on" };
  if (/^[a-z]+:\/\//i.test(source)) body.url = source; else { body.path = source; body.loop = f.get("loop") === "on"; }
  const out = document.getElementById("add-camera-result");
  try { await api("POST", "/api/cameras", body); location.reload(); } catch (e) { out.textContent = e.message; }
});

for (const kind of ["camera_changed", "event_new", "event_changed", "reconnected"]) {
  document.addEventListener(`fallwatch:${kind}`, () => refreshTiles());
}
refreshTiles();
setInterval(refreshTiles, 2000);
