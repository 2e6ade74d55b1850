// Live camera views: every snapshot image reloads every few seconds (a new frame replaces the old one only once it
// has loaded, so the picture never flickers), and each status line shows the stream's state from the API.
"use strict";

const REFRESH_MS = 2000;
// State names, words, error patterns ([regex, text with $1]) and the site's zone, in the page's language
// (service/ui/notes.py camera_words).
const WORDS = JSON.parse(document.getElementById("camera-words").textContent);

function said(error) {
  for (const [pattern, template] of WORDS.errors) {
    const match = error.match(new RegExp(pattern));
    if (match) return template.replace("$1", match[1] ?? "");
  }
  return error;
}

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
    const last = s.last_frame_at
      ? new Date(s.last_frame_at).toLocaleTimeString(WORDS.lang, { timeZone: WORDS.tz, hour12: false })
      : "–";
    const state = WORDS.states[s.state] || s.state;
    const error = s.last_error ? " · " + said(s.last_error) : "";
    line.textContent = `${state} · ${s.fps.toFixed(1)} ${WORDS.words.fps} · ${WORDS.words.last_frame} ${last}${error}`;
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
