// Case actions: each form sends its action to the API, then the page reloads to show the new state and timeline.
// The handling photo (处置反馈) goes as multipart to /cases/{id}/handle; every other action is JSON.
"use strict";

function noteOf(form) {
  const note = form.note ? form.note.value.trim() : "";
  return note || undefined;
}

async function submitAction(form) {
  const id = form.dataset.case;
  const action = form.dataset.action;
  if (action === "handle") {
    const body = new FormData();
    body.append("photo", form.photo.files[0]);
    if (noteOf(form)) body.append("note", noteOf(form));
    return api("POST", `/cases/${id}/handle`, body);
  }
  // 督办 and a unit's requests for 延期 / 缓办 (the note is the request's reason).
  if (action === "supervise") return api("POST", `/cases/${id}/supervise`, { note: noteOf(form) });
  if (action === "request_extend" || action === "request_defer") {
    const request = { kind: action.slice("request_".length), reason: noteOf(form) };
    if (action === "request_extend") request.deadline = `${form.deadline.value}:00${form.deadline.dataset.offset}`;
    return api("POST", `/cases/${id}/requests`, request);
  }
  const body = { note: noteOf(form) };
  if (action === "dispatch" && form.unit_id.value) body.unit_id = form.unit_id.value;
  // The site's local time, sent with the site's UTC offset (the browser may be in another zone).
  if (action === "extend") body.deadline = `${form.deadline.value}:00${form.deadline.dataset.offset}`;
  return api("POST", `/cases/${id}/actions/${action}`, body);
}

document.querySelectorAll("form.action").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await submitAction(form);
      window.location.reload();
    } catch (e) {
      say(e.message, true);
      button.disabled = false;
    }
  });
});

const relabel = document.getElementById("form-relabel");
if (relabel) {
  relabel.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const item = { verdict: "relabel", violation: relabel.violation.value };
      await api("POST", `/cases/${relabel.dataset.case}/verdicts`, item);
      window.location.reload();
    } catch (e) {
      say(e.message, true);
    }
  });
}
