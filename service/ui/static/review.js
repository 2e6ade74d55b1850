// The review queue: keyboard shortcuts, verdicts held a few seconds for undo, bulk verdicts, no page reloads.
// j/k move between cases, f files (立案), r rejects (不予立案, asks first: it ends the case), l moves to the
// relabel choice (Enter applies it), x ticks the case, u undoes the latest decision not yet sent.
// A decision hides its cases at once and is sent to the API after UNDO_MS (or when the page is left); then the
// queue fragment is fetched again with htmx, so the page fills up without a reload.
"use strict";

const UNDO_MS = 6000;
const VERDICT = { file: "confirm", reject: "reject" };
const LABELS = JSON.parse(document.getElementById("review-labels").textContent);
const wrap = document.getElementById("queue-wrap");
const undoBar = document.getElementById("undo-bar");
const held = []; // decisions not sent yet, oldest first: { ids, verdict, violation, timer }
let current = 0;

function visibleItems() {
  return Array.from(wrap.querySelectorAll(".review-item:not([hidden])"));
}

function caseId(item) {
  return Number(item.dataset.case);
}

function focusItem(index) {
  const items = visibleItems();
  wrap.querySelectorAll(".review-item.current").forEach((item) => item.classList.remove("current"));
  if (!items.length) return;
  current = Math.max(0, Math.min(index, items.length - 1));
  items[current].classList.add("current");
  items[current].focus();
  items[current].scrollIntoView({ block: "nearest" });
}

function heldIds() {
  return new Set(held.flatMap((decision) => decision.ids));
}

function showUndo() {
  const last = held[held.length - 1];
  undoBar.hidden = !last;
  if (last) {
    document.getElementById("undo-text").textContent =
      LABELS["done." + last.verdict] + last.ids.map((id) => "#" + id).join(", ");
  }
}

/** Hide the cases of held decisions (also after htmx brought a fresh page in which they are still pending). */
function hideHeld() {
  const ids = heldIds();
  wrap.querySelectorAll(".review-item").forEach((item) => {
    item.hidden = ids.has(caseId(item));
  });
}

/** Send a decision: the verdict on the detection and, for file/reject, the move of the case. */
async function send(decision, keepalive) {
  const { ids, verdict, violation } = decision;
  const items = ids.map((id) =>
    verdict === "relabel" ? { case_id: id, verdict, violation } : { case_id: id, verdict: VERDICT[verdict] }
  );
  const calls = [api("POST", "/cases/verdicts", { items }, keepalive)];
  if (verdict !== "relabel") calls.push(api("POST", "/cases/actions", { case_ids: ids, action: verdict }, keepalive));
  return (await Promise.all(calls)).flatMap(bulkFailures);
}

async function commit(decision) {
  held.splice(held.indexOf(decision), 1);
  showUndo();
  try {
    const failed = await send(decision, false);
    if (failed.length) say(failed.join("; "), true);
  } catch (e) {
    say(e.message, true);
  }
  refill();
}

/** Fetch the current page of the queue again, keeping the focus on the same case where it is still there. */
function refill() {
  const focused = visibleItems()[current];
  wrap.dataset.focus = focused ? focused.dataset.case : "";
  const page = (document.getElementById("queue-count") || {}).dataset?.page || "1";
  htmx.ajax("GET", "/review/queue?page=" + page, { target: "#queue-wrap", swap: "innerHTML" });
}

function confirmReject() {
  const dialog = document.getElementById("confirm-reject");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "reject"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function decide(ids, verdict, violation) {
  if (!ids.length) {
    say(LABELS.none_selected, true);
    return;
  }
  if (verdict === "reject" && !(await confirmReject())) return;
  const decision = { ids, verdict, violation };
  decision.timer = setTimeout(() => commit(decision), UNDO_MS);
  held.push(decision);
  wrap.querySelectorAll(".select:checked").forEach((box) => { box.checked = false; });
  hideHeld();
  showUndo();
  say("");
  focusItem(current);
}

function undo() {
  const decision = held.pop();
  if (!decision) return;
  clearTimeout(decision.timer);
  hideHeld();
  showUndo();
  say(LABELS.undone);
  const items = visibleItems();
  focusItem(items.findIndex((item) => caseId(item) === decision.ids[0]));
}

function itemOf(element) {
  return element.closest(".review-item");
}

wrap.addEventListener("click", (event) => {
  const item = itemOf(event.target);
  if (!item) return;
  current = visibleItems().indexOf(item);
  wrap.querySelectorAll(".review-item").forEach((it) => it.classList.toggle("current", it === item));
  const button = event.target.closest("[data-verdict]");
  if (button) decide([caseId(item)], button.dataset.verdict, item.querySelector(".relabel").value);
});

wrap.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && event.target.classList.contains("relabel")) {
    event.preventDefault();
    decide([caseId(itemOf(event.target))], "relabel", event.target.value);
  }
});

document.querySelectorAll("[data-bulk]").forEach((button) => {
  button.addEventListener("click", () => {
    const boxes = wrap.querySelectorAll(".review-item:not([hidden]) .select:checked");
    decide(Array.from(boxes, (box) => Number(box.value)), button.dataset.bulk);
  });
});

document.getElementById("select-all").addEventListener("change", (event) => {
  wrap.querySelectorAll(".review-item:not([hidden]) .select").forEach((box) => { box.checked = event.target.checked; });
});

document.getElementById("undo").addEventListener("click", undo);

/** Keys are for the queue unless the operator is typing (a checkbox or button keeps them working). */
function typing(target) {
  const tag = target.tagName;
  return tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && !["checkbox", "radio", "button"].includes(target.type));
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (document.querySelector("dialog[open]")) return;
  const item = visibleItems()[current];
  const actions = {
    j: () => focusItem(current + 1),
    k: () => focusItem(current - 1),
    u: undo,
  };
  if (item) {
    actions.f = () => decide([caseId(item)], "file");
    actions.r = () => decide([caseId(item)], "reject");
    actions.l = () => item.querySelector(".relabel").focus();
    actions.x = () => { const box = item.querySelector(".select"); box.checked = !box.checked; };
  }
  const run = actions[event.key];
  if (run) {
    event.preventDefault();
    run();
  }
});

// After htmx swapped a page in: hide what is still held, and keep the focus on the same case (or the same place).
document.body.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target !== wrap) return;
  hideHeld();
  document.getElementById("select-all").checked = false;
  const items = visibleItems();
  const same = items.findIndex((item) => item.dataset.case === wrap.dataset.focus);
  focusItem(same >= 0 ? same : wrap.dataset.focus ? current : 0); // a refill keeps the place, a new page starts on top
  wrap.dataset.focus = "";
});

// Leaving the page sends what is still held (keepalive requests outlive the page): no decision is lost.
window.addEventListener("pagehide", () => {
  held.splice(0).forEach((decision) => {
    clearTimeout(decision.timer);
    send(decision, true).catch(() => {});
  });
});

focusItem(0);
