// The review queue: keyboard shortcuts and bulk verdicts.
// j/k move between cases, f files (立案), r rejects (不予立案), l moves to the relabel choice (Enter applies it),
// x ticks the case.
// Filing and rejecting record the operator's verdict on the detection, then move the case.
"use strict";

const items = Array.from(document.querySelectorAll(".review-item"));
let current = 0;

function focusItem(index) {
  if (!items.length) return;
  current = Math.max(0, Math.min(index, items.length - 1));
  items.forEach((item, i) => item.classList.toggle("current", i === current));
  items[current].focus();
  items[current].scrollIntoView({ block: "nearest" });
}

const LIFECYCLE = { file: "file", reject: "reject" };
const VERDICT = { file: "confirm", reject: "reject" };

/** Apply a verdict to cases: file/reject also move them; relabel only retypes (the case stays for review). */
async function decide(ids, verdict, violation) {
  if (!ids.length) return;
  const items = ids.map((id) =>
    verdict === "relabel" ? { case_id: id, verdict, violation } : { case_id: id, verdict: VERDICT[verdict] }
  );
  try {
    let failed = bulkFailures(await api("POST", "/cases/verdicts", { items }));
    if (verdict !== "relabel") {
      failed = failed.concat(bulkFailures(await api("POST", "/cases/actions", { case_ids: ids, action: LIFECYCLE[verdict] })));
    }
    if (failed.length) {
      say(failed.join("; "), true);
      return;
    }
    // Reload, keeping the place: the next case after the last one decided gets the focus.
    const url = new URL(window.location.href);
    url.searchParams.set("after", String(Math.min(...ids)));
    window.location.assign(url.toString());
  } catch (e) {
    say(e.message, true);
  }
}

function caseId(item) {
  return Number(item.dataset.case);
}

items.forEach((item, index) => {
  item.addEventListener("click", () => { current = index; items.forEach((it, i) => it.classList.toggle("current", i === index)); });
  item.querySelector(".relabel").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      decide([caseId(item)], "relabel", event.target.value);
    }
  });
  item.querySelectorAll("[data-verdict]").forEach((button) => {
    button.addEventListener("click", () => {
      const verdict = button.dataset.verdict;
      decide([caseId(item)], verdict, item.querySelector(".relabel").value);
    });
  });
});

document.querySelectorAll("[data-bulk]").forEach((button) => {
  button.addEventListener("click", () => {
    const ids = Array.from(document.querySelectorAll(".select:checked")).map((box) => Number(box.value));
    decide(ids, button.dataset.bulk);
  });
});

const all = document.getElementById("select-all");
if (all) {
  all.addEventListener("change", () => document.querySelectorAll(".select").forEach((box) => { box.checked = all.checked; }));
}

document.addEventListener("keydown", (event) => {
  const tag = event.target.tagName;
  if (event.ctrlKey || event.metaKey || event.altKey || tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  if (!items.length) return;
  const item = items[current];
  const actions = {
    j: () => focusItem(current + 1),
    k: () => focusItem(current - 1),
    f: () => decide([caseId(item)], "file"),
    r: () => decide([caseId(item)], "reject"),
    l: () => item.querySelector(".relabel").focus(),
    x: () => { const box = item.querySelector(".select"); box.checked = !box.checked; },
  };
  const run = actions[event.key];
  if (run) {
    event.preventDefault();
    run();
  }
});

// Start where the last decision left off (?after=ID: the first case listed after it), else at the top.
const after = Number(new URLSearchParams(window.location.search).get("after"));
const start = after ? items.findIndex((item) => caseId(item) < after) : 0;
focusItem(start >= 0 ? start : items.length - 1);
