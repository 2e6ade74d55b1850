// Maps with Leaflet (vendored): grid polygons, places, cameras and cases from the JSON script an element names in its
// data-map-source (the dashboard's site map, a case page's map of that case). No tile layer unless the deployment
// names its own tile server (GRIDWATCH_MAP_TILES): nothing loads from the internet.
"use strict";

function drawMap(element, data) {
  const map = L.map(element, { attributionControl: Boolean(data.tiles), zoomSnap: 0.25 });
  if (data.tiles) L.tileLayer(data.tiles, { maxZoom: 20 }).addTo(map);
  const shapes = [];
  data.grids.forEach((grid) => {
    shapes.push(L.polygon(grid.ring, { color: "#0b5cad", weight: 2, fillOpacity: 0.08 }).bindTooltip(grid.name));
  });
  const layers = [
    ["places", { radius: 5, color: "#5b6570", fillOpacity: 0.7 }],
    ["cameras", { radius: 6, color: "#1b7f3b", fillOpacity: 0.8 }],
    ["cases", { radius: 5, color: "#b3261e", fillOpacity: 0.9 }],
  ];
  layers.forEach(([key, style]) => {
    data[key].forEach((point) => {
      const marker = L.circleMarker([point.lat, point.lon], { ...style, className: "map-" + key }).bindTooltip(point.name);
      if (point.id !== undefined) marker.on("click", () => window.location.assign("/cases/" + point.id));
      shapes.push(marker);
    });
  });
  const group = L.featureGroup(shapes).addTo(map);
  if (shapes.length) map.fitBounds(group.getBounds(), { padding: [20, 20], maxZoom: 18 });
  else map.setView([0, 0], 2);
}

if (typeof L !== "undefined") {
  document.querySelectorAll("[data-map-source]").forEach((element) => {
    const source = document.getElementById(element.dataset.mapSource);
    if (source) drawMap(element, JSON.parse(source.textContent));
  });
}
