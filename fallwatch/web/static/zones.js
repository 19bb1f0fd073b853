// The zone editor (/cameras/{id}/zones): ignore-zone polygons drawn on the camera's
// current picture. The SVG's user space is the camera's source frame in pixels (the size
// comes from the server's X-Frame-Width/Height headers, since the JPEG may be scaled), so
// every point read from the mouse is already in the pixels the worker tests against.
"use strict";

(() => {
  const root = document.getElementById("zone-editor");
  if (!root) return;
  const cameraId = root.dataset.cameraId;
  const canSave = root.dataset.canSave === "true";
  const base = `/api/cameras/${encodeURIComponent(cameraId)}`;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const svg = $("zone-svg");
  const img = $("zone-picture");

  let frame = null; // { w, h } of the source frame, pixels
  let zones = []; // [{ name, points: [[x, y], ...] }]
  let selected = -1;
  let drawing = null; // corners of the zone being drawn, or null
  let drag = null; // { zone, corner (or -1: the whole zone), from: [x, y], start: points }
  let pictureUrl = null;

  function say(text, isError) {
    const el = $("zone-message");
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  function markDirty() {
    say(canSave ? t("Unsaved changes") : "");
    $("zone-yaml-box").classList.add("hidden");
  }

  // --- the picture and its size ----------------------------------------------------------
  async function loadPicture() {
    let res;
    try {
      res = await fetch(`${base}/frame.jpg`, { credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      setTimeout(loadPicture, 2000);
      return;
    }
    if (res.status === 401) { showSessionExpired(); return; }
    if (!res.ok) {
      $("zone-no-picture").classList.remove("hidden");
      setTimeout(loadPicture, 2000);
      return;
    }
    const w = Number(res.headers.get("X-Frame-Width"));
    const h = Number(res.headers.get("X-Frame-Height"));
    const blob = await res.blob();
    if (pictureUrl) URL.revokeObjectURL(pictureUrl);
    pictureUrl = URL.createObjectURL(blob);
    img.onload = () => {
      frame = { w, h };
      svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
      svg.classList.remove("hidden");
      $("zone-no-picture").classList.add("hidden");
      root.dataset.frameWidth = String(w);
      root.dataset.frameHeight = String(h);
      root.dataset.ready = "true";
      updateButtons();
      render();
    };
    img.src = pictureUrl;
  }

  // Frame pixels per screen pixel: handles and labels keep their size on screen.
  function unit() {
    const width = svg.getBoundingClientRect().width;
    return frame && width > 0 ? frame.w / width : 1;
  }

  function toFrame(ev) {
    const pt = svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    const clamp = (v, hi) => Math.round(Math.min(Math.max(v, 0), hi));
    return [clamp(p.x, frame.w), clamp(p.y, frame.h)];
  }

  // --- drawing the SVG -----------------------------------------------------------------
  function el(name, attrs) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  // `withList` false redraws the picture only, so a name being typed keeps its focus.
  function render(withList = true) {
    if (withList) renderList();
    if (!frame) return;
    svg.replaceChildren();
    const u = unit();
    zones.forEach((z, i) => {
      const g = el("g", { class: "zone" + (i === selected ? " selected" : ""), "data-zone": i });
      g.append(el("polygon", { points: z.points.map((p) => p.join(",")).join(" "), "data-zone": i }));
      const label = el("text", { x: z.points[0][0] + 4 * u, y: z.points[0][1] - 6 * u, "font-size": 14 * u });
      label.textContent = z.name;
      g.append(label);
      if (i === selected) {
        z.points.forEach((p, c) => {
          g.append(el("circle", { cx: p[0], cy: p[1], r: 7 * u, class: "corner", "data-zone": i, "data-corner": c }));
        });
      }
      svg.append(g);
    });
    if (drawing) {
      const g = el("g", { class: "drawing" });
      g.append(el("polyline", { points: drawing.map((p) => p.join(",")).join(" ") }));
      for (const p of drawing) g.append(el("circle", { cx: p[0], cy: p[1], r: 5 * u, class: "corner" }));
      svg.append(g);
    }
  }

  function renderList() {
    const list = $("zone-list");
    list.replaceChildren();
    zones.forEach((z, i) => {
      const li = document.createElement("li");
      li.dataset.zone = String(i);
      li.classList.toggle("selected", i === selected);
      const name = document.createElement("input");
      name.className = "zone-name";
      name.value = z.name;
      name.maxLength = 64;
      name.setAttribute("aria-label", t("Zone name"));
      name.addEventListener("input", () => {
        z.name = name.value;
        markDirty();
        if (/[^\x20-\x7e]/.test(z.name)) {
          say(t("The live view writes zone names in Latin letters only: other characters show as ?"));
        }
        render(false);
      });
      name.addEventListener("focus", () => {
        if (selected !== i) { selected = i; render(false); markSelected(); }
      });
      const corners = document.createElement("span");
      corners.className = "muted";
      corners.textContent = t("{n} corners", { n: z.points.length });
      const del = document.createElement("button");
      del.type = "button";
      del.className = "zone-delete";
      del.textContent = t("Delete");
      del.addEventListener("click", () => removeZone(i));
      li.append(name, corners, del);
      list.append(li);
    });
    $("zone-empty").classList.toggle("hidden", zones.length > 0);
  }

  function markSelected() {
    for (const li of $("zone-list").children) li.classList.toggle("selected", Number(li.dataset.zone) === selected);
  }

  // --- editing ---------------------------------------------------------------------------
  function updateButtons() {
    $("zone-draw").disabled = drawing !== null || !frame;
    $("zone-finish").disabled = drawing === null;
    $("zone-cancel").disabled = drawing === null;
  }

  function setDrawing(points) {
    drawing = points;
    updateButtons();
    root.classList.toggle("is-drawing", drawing !== null);
    $("zone-hint").textContent = drawing === null ? "" : t("Click the corners; double-click the last one or press Finish.");
    render();
  }

  function finishDrawing() {
    if (!drawing) return;
    if (drawing.length < 3) {
      say(t("A zone needs at least 3 corners, this one has {n}", { n: drawing.length }), true);
      return;
    }
    // Not translated: the live view draws names with OpenCV's font, Latin letters only.
    const used = new Set(zones.map((z) => z.name));
    let n = zones.length + 1;
    while (used.has(`zone ${n}`)) n += 1;
    zones.push({ name: `zone ${n}`, points: drawing });
    selected = zones.length - 1;
    setDrawing(null);
    markDirty();
    const inputs = $("zone-list").querySelectorAll("input.zone-name");
    inputs[inputs.length - 1]?.select();
  }

  function removeZone(i) {
    zones.splice(i, 1);
    selected = -1;
    markDirty();
    render();
  }

  svg.addEventListener("click", (ev) => {
    if (!drawing || !frame) return;
    const p = toFrame(ev);
    const last = drawing[drawing.length - 1];
    // The two clicks of a double-click land on one spot: one corner, not two.
    if (last && Math.hypot(p[0] - last[0], p[1] - last[1]) < 5 * unit()) return;
    drawing.push(p);
    render();
  });
  svg.addEventListener("dblclick", (ev) => { if (drawing) { ev.preventDefault(); finishDrawing(); } });

  svg.addEventListener("pointerdown", (ev) => {
    if (drawing || !frame || ev.button !== 0) return;
    const target = ev.target;
    const zone = target.dataset ? target.dataset.zone : undefined;
    if (zone === undefined) {
      if (selected !== -1) { selected = -1; render(); }
      return;
    }
    const i = Number(zone);
    const corner = target.dataset.corner === undefined ? -1 : Number(target.dataset.corner);
    selected = i;
    drag = { zone: i, corner, from: toFrame(ev), start: zones[i].points.map((p) => p.slice()), moved: false };
    svg.setPointerCapture(ev.pointerId);
    ev.preventDefault();
    render();
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = toFrame(ev);
    const z = zones[drag.zone];
    if (drag.corner >= 0) {
      z.points[drag.corner] = p;
    } else {
      // The whole zone moves, but never past the frame's edges.
      const xs = drag.start.map((q) => q[0]);
      const ys = drag.start.map((q) => q[1]);
      const dx = Math.min(Math.max(p[0] - drag.from[0], -Math.min(...xs)), frame.w - Math.max(...xs));
      const dy = Math.min(Math.max(p[1] - drag.from[1], -Math.min(...ys)), frame.h - Math.max(...ys));
      z.points = drag.start.map((q) => [q[0] + dx, q[1] + dy]);
    }
    drag.moved = true;
    render();
  });
  const endDrag = () => {
    if (drag && drag.moved) markDirty();
    drag = null;
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  document.addEventListener("keydown", (ev) => {
    if (ev.target instanceof HTMLInputElement) return;
    if (ev.key === "Escape" && drawing) setDrawing(null);
    else if (ev.key === "Enter" && drawing) finishDrawing();
    else if ((ev.key === "Delete" || ev.key === "Backspace") && selected >= 0 && !drawing) removeZone(selected);
  });

  $("zone-draw").addEventListener("click", () => { selected = -1; say(""); setDrawing([]); });
  $("zone-finish").addEventListener("click", finishDrawing);
  $("zone-cancel").addEventListener("click", () => setDrawing(null));
  $("zone-picture-reload").addEventListener("click", loadPicture);
  window.addEventListener("resize", render);

  // --- saving, or the YAML for the config file ----------------------------------------
  const body = () => ({ zones: zones.map((z) => ({ name: z.name, polygon_xy: z.points })) });

  function adopt(data) {
    zones = data.zones.map((z) => ({ name: z.name, points: z.polygon_xy.map((p) => [p[0], p[1]]) }));
    if (selected >= zones.length) selected = -1;
    render();
  }

  $("zone-save")?.addEventListener("click", async () => {
    if (drawing) finishDrawing();
    if (drawing) return;
    try {
      const data = await api("PUT", `${base}/zones`, body());
      if (!data) return;
      adopt(data);
      say(t("Saved: the camera restarts with these zones."));
      root.dataset.saved = String(Number(root.dataset.saved || "0") + 1);
    } catch (e) {
      say(e.message, true);
    }
  });

  $("zone-yaml-make")?.addEventListener("click", async () => {
    if (drawing) finishDrawing();
    if (drawing) return;
    try {
      const data = await api("POST", `${base}/zones/check`, body());
      if (!data) return;
      $("zone-yaml").textContent = data.yaml;
      $("zone-yaml-box").classList.remove("hidden");
      say("");
    } catch (e) {
      say(e.message, true);
    }
  });

  $("zone-copy").addEventListener("click", async () => {
    const text = $("zone-yaml").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // No clipboard API off a secure origin (plain http to a server): select and copy.
      const range = document.createRange();
      range.selectNodeContents($("zone-yaml"));
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      if (!document.execCommand("copy")) { say(t("Select the text and copy it")); return; }
    }
    say(t("Copied"));
  });

  (async () => {
    try {
      const data = await api("GET", `${base}/zones`);
      if (data) adopt(data);
    } catch (e) {
      say(e.message, true);
    }
    setDrawing(null);
    await loadPicture();
  })();
})();
