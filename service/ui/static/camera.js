// Live camera views: every snapshot image reloads every few seconds (a new frame replaces the old one only once it
// has loaded, so the picture never flickers), and each status line shows the stream's state from the API.
"use strict";

const REFRESH_MS = 2000;

function refreshSnapshot(img) {
  const next = new Image();
  next.onload = () => {
    img.src = next.src;
    img.hidden = false;
    img.parentElement.style.aspectRatio = `${next.naturalWidth} / ${next.naturalHeight}`;
    img.parentElement.querySelector(".no-frame").hidden = true;
  };
  next.onerror = () => {
    img.hidden = true;
    img.parentElement.querySelector(".no-frame").hidden = false;
  };
  next.src = `${img.dataset.src}?t=${Date.now()}`;
}

async function refreshStatus(line) {
  try {
    const s = await api("GET", `/cameras/${line.dataset.cameraStatus}/status`);
    const last = s.last_frame_at ? new Date(s.last_frame_at).toLocaleTimeString() : "–";
    line.textContent = `${s.state} · ${s.fps.toFixed(1)} fps · ${last}${s.last_error ? " · " + s.last_error : ""}`;
    line.dataset.state = s.state;
  } catch (e) {
    line.dataset.state = "unknown";
  }
}

function refreshAll() {
  document.querySelectorAll("img.snapshot").forEach(refreshSnapshot);
  document.querySelectorAll("[data-camera-status]").forEach(refreshStatus);
}

refreshAll();
setInterval(refreshAll, REFRESH_MS);
