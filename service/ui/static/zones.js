// The zone editor: camera zones drawn as polygons over the live snapshot, in normalised image coordinates
// ((0, 0) top-left, (1, 1) bottom-right), saved with PUT /api/v1/site/cameras/{id}/zones.
// Mouse: "New zone", then click points; click the first point (or press Enter) to close, Escape cancels.
// Drag a point to move it; click a point then Delete/Backspace removes it (a zone keeps at least three).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const CLOSE_PX = 12; // a click this close to the first point closes the polygon
  const config = JSON.parse(document.getElementById("zone-config").textContent);
  const zones = JSON.parse(document.getElementById("zone-data").textContent);
  const svg = document.getElementById("zone-svg");
  const list = document.getElementById("zone-list");
  let selected = zones.length ? 0 : -1;
  let vertex = -1; // selected point of the selected zone
  let drawing = null; // points of the polygon being drawn
  let drag = null; // {zone, point} while a point is dragged

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    parent.appendChild(node);
    return node;
  }

  function toUnit(event) {
    const box = svg.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  }

  function pixelDistance(a, b) {
    const box = svg.getBoundingClientRect();
    return Math.hypot((a[0] - b[0]) * box.width, (a[1] - b[1]) * box.height);
  }

  // A dot of constant screen size in a stretched 0..1 viewBox: a zero-length line with round caps.
  function handle(point, cls, parent) {
    const [x, y] = point;
    return el("line", { x1: x, y1: y, x2: x, y2: y, class: cls, "vector-effect": "non-scaling-stroke" }, parent);
  }

  function draw() {
    svg.replaceChildren();
    zones.forEach((zone, zi) => {
      const group = el("g", { class: `zone kind-${zone.kind}${zi === selected ? " selected" : ""}` }, svg);
      const points = zone.polygon.map((p) => p.join(",")).join(" ");
      const shape = el("polygon", { points, "vector-effect": "non-scaling-stroke", "data-zone": zone.id }, group);
      el("title", {}, shape).textContent = `${zone.id} (${zone.kind})`;
      shape.addEventListener("pointerdown", (event) => {
        if (drawing) return;
        event.stopPropagation();
        select(zi, -1);
      });
      if (zi !== selected || !config.editable) return;
      zone.polygon.forEach((point, pi) => {
        const dot = handle(point, pi === vertex ? "handle active" : "handle", group);
        dot.addEventListener("pointerdown", (event) => {
          event.stopPropagation();
          vertex = pi;
          drag = { zone: zi, point: pi };
          svg.setPointerCapture(event.pointerId);
          draw();
        });
      });
    });
    if (drawing) {
      const group = el("g", { class: "zone drawing" }, svg);
      el("polyline", { points: drawing.map((p) => p.join(",")).join(" "), "vector-effect": "non-scaling-stroke" }, group);
      drawing.forEach((point, i) => handle(point, i === 0 ? "handle first" : "handle", group));
    }
  }

  function renderList() {
    list.replaceChildren();
    zones.forEach((zone, zi) => {
      const item = document.createElement("li");
      item.className = zi === selected ? "selected" : "";
      const idLabel = document.createElement("label");
      idLabel.textContent = `${config.labels.id} `;
      const id = document.createElement("input");
      id.value = zone.id;
      id.name = `zone-id-${zi}`;
      id.pattern = "[a-z0-9][a-z0-9_.\\-]{0,63}";
      id.disabled = !config.editable;
      id.addEventListener("change", () => { zone.id = id.value.trim(); draw(); });
      id.addEventListener("focus", () => select(zi, -1, false));
      idLabel.appendChild(id);
      const kindLabel = document.createElement("label");
      kindLabel.textContent = `${config.labels.kind} `;
      const kind = document.createElement("select");
      kind.name = `zone-kind-${zi}`;
      kind.disabled = !config.editable;
      config.kinds.forEach(([value, name]) => kind.add(new Option(name, value, false, value === zone.kind)));
      kind.addEventListener("change", () => { zone.kind = kind.value; draw(); });
      kindLabel.appendChild(kind);
      item.append(idLabel, kindLabel);
      if (config.editable) {
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "danger";
        remove.textContent = config.labels.delete;
        remove.addEventListener("click", () => {
          zones.splice(zi, 1);
          select(Math.min(zi, zones.length - 1), -1);
        });
        item.appendChild(remove);
      }
      list.appendChild(item);
    });
  }

  function select(zi, point, rerenderList = true) {
    selected = zi;
    vertex = point;
    draw();
    if (rerenderList) renderList();
  }

  function newId() {
    let n = zones.length + 1;
    while (zones.some((z) => z.id === `zone-${n}`)) n += 1;
    return `zone-${n}`;
  }

  function finishDrawing() {
    if (!drawing || drawing.length < 3) return;
    zones.push({ id: newId(), kind: config.kinds[0][0], polygon: drawing, active: [] });
    drawing = null;
    document.getElementById("drawing").hidden = true;
    select(zones.length - 1, -1);
  }

  if (config.editable) {
    svg.addEventListener("pointerdown", (event) => {
      if (!drawing) {
        select(-1, -1);
        return;
      }
      const point = toUnit(event);
      if (drawing.length >= 3 && pixelDistance(point, drawing[0]) <= CLOSE_PX) {
        finishDrawing();
      } else {
        drawing.push(point);
        draw();
      }
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      zones[drag.zone].polygon[drag.point] = toUnit(event);
      draw();
    });
    svg.addEventListener("pointerup", () => { drag = null; });

    document.getElementById("zone-new").addEventListener("click", () => {
      drawing = [];
      document.getElementById("drawing").hidden = false;
      select(-1, -1);
    });

    document.addEventListener("keydown", (event) => {
      const tag = event.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
      if (event.key === "Enter" && drawing) {
        event.preventDefault();
        finishDrawing();
      } else if (event.key === "Escape" && drawing) {
        drawing = null;
        document.getElementById("drawing").hidden = true;
        draw();
      } else if ((event.key === "Delete" || event.key === "Backspace") && selected >= 0 && vertex >= 0) {
        const polygon = zones[selected].polygon;
        if (polygon.length > 3) {
          event.preventDefault();
          polygon.splice(vertex, 1);
          select(selected, -1, false);
        }
      }
    });

    document.getElementById("zone-save").addEventListener("click", async () => {
      const round = (v) => Math.round(v * 10000) / 10000;
      const body = zones.map((z) => ({
        id: z.id, kind: z.kind, polygon: z.polygon.map(([x, y]) => [round(x), round(y)]), active: z.active || [],
      }));
      try {
        await api("PUT", `/site/cameras/${encodeURIComponent(config.camera)}/zones`, body);
        say(config.labels.saved);
      } catch (e) {
        say(`${config.labels.failed}: ${e.message}`, true);
      }
    });
  }

  draw();
  renderList();
})();
