// The admin screens' changes, each sent to the REST API (app.js's api()) so its access rules and audit apply:
// photo upload with a byte progress bar (then htmx polls the batch's card), ingest tokens (create, shown once;
// revoke), webhooks (add, test, remove). Tables are refreshed in place by htmx ("refresh" event), never reloaded.
// Messages come from the page (#admin-words) in its language; a refused request is told by its status, in words.
"use strict";

const words = JSON.parse(document.getElementById("admin-words").textContent);

/** What went wrong, in the page's language: the API's status as a sentence (its detail is English). */
function failure(error) {
  return words[String(error.status)] || (error.status ? words["500"] : words.network);
}

function refresh(id) {
  htmx.trigger(document.getElementById(id), "refresh");
}

/** A form's check that failed: say it and put the cursor in the field (nothing is sent, nothing is lost). */
function refuse(field, message) {
  say(message, true);
  field.focus();
}

// ---- photo batches ----------------------------------------------------------------------------------------

/** POST the form to /batches with XMLHttpRequest (fetch reports no upload progress); resolves to the batch. */
function upload(form, onProgress) {
  const body = new FormData();
  for (const file of form.files.files) body.append("files", file, file.name);
  if (form.place.value) body.append("place", form.place.value);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/batches");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) resolve(JSON.parse(xhr.responseText));
      else reject(Object.assign(new Error(xhr.statusText), { status: xhr.status }));
    });
    xhr.addEventListener("error", () => reject(Object.assign(new Error("network"), { status: 0 })));
    xhr.send(body);
  });
}

const uploadForm = document.getElementById("upload-form");
if (uploadForm) {
  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!uploadForm.files.files.length) return refuse(uploadForm.files, words["batches.no_files"]);
    const button = uploadForm.querySelector("button[type=submit]");
    const bar = document.getElementById("upload-bar");
    document.getElementById("upload-progress").hidden = false;
    button.disabled = true;
    bar.value = 0;
    try {
      const batch = await upload(uploadForm, (share) => (bar.value = Math.round(100 * share)));
      bar.value = 100;
      say("");
      document.getElementById("no-batches")?.remove();
      // The batch's card polls itself every second until the batch is done (see _batch.html).
      await htmx.ajax("GET", `/admin/batches/${batch.id}`, { target: "#batches", swap: "afterbegin" });
      uploadForm.files.value = "";
    } catch (e) {
      say(failure(e), true); // the chosen photos stay chosen: send again when the cause is gone
    } finally {
      button.disabled = false;
      document.getElementById("upload-progress").hidden = true;
    }
  });
}

// ---- ingest tokens ------------------------------------------------------------------------------------------

const tokenForm = document.getElementById("token-form");
if (tokenForm) {
  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const nameField = tokenForm.elements.namedItem("name"); // not form.name: that is the form's own name
    const name = nameField.value.trim();
    const days = Number(tokenForm.days.value);
    if (!name) return refuse(nameField, words["tokens.need_name"]);
    if (!(days > 0 && days <= 366)) return refuse(tokenForm.days, words["tokens.bad_days"]);
    try {
      const created = await api("POST", "/tokens", { name, days, scopes: ["ingest"] });
      document.getElementById("token-value").textContent = created.token;
      document.getElementById("token-secret").hidden = false;
      nameField.value = "";
      say("");
      refresh("token-table");
    } catch (e) {
      say(failure(e), true);
    }
  });
  document.getElementById("token-copy").addEventListener("click", async () => {
    await navigator.clipboard.writeText(document.getElementById("token-value").textContent);
    say(words["tokens.copied"]);
  });
}

// ---- webhooks -----------------------------------------------------------------------------------------------

const hookForm = document.getElementById("hook-form");
if (hookForm) {
  document.getElementById("hook-generate").addEventListener("click", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    hookForm.secret.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  });
  hookForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = hookForm.url.value.trim();
    let scheme = "";
    try {
      scheme = new URL(url).protocol;
    } catch {
      scheme = "";
    }
    if (scheme !== "http:" && scheme !== "https:") return refuse(hookForm.url, words["hooks.bad_url"]);
    if (hookForm.secret.value.length < 16) return refuse(hookForm.secret, words["hooks.short_secret"]);
    const actions = Array.from(hookForm.querySelectorAll("input[name=actions]:checked"), (box) => box.value);
    try {
      await api("POST", "/webhooks", { url, secret: hookForm.secret.value, actions });
      hookForm.reset();
      say(words["hooks.added"]);
      refresh("hook-table");
    } catch (e) {
      say(failure(e), true);
    }
  });
}

/** What a test message got back, as a sentence. */
function testResult(answer) {
  if (answer.ok) return words["hooks.test_ok"].replace("{status}", answer.status);
  if (answer.status) return words["hooks.test_status"].replace("{status}", answer.status);
  return words["hooks.test_no_answer"];
}

// Buttons in the refreshed tables: one listener on the page, whatever htmx swapped in since.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-revoke], button[data-test], button[data-remove]");
  if (!button) return;
  const { revoke, test, remove } = button.dataset;
  if ((revoke && !confirm(words["tokens.confirm_revoke"])) || (remove && !confirm(words["hooks.confirm_remove"]))) {
    return;
  }
  button.disabled = true;
  try {
    if (revoke) {
      await api("DELETE", `/tokens/${revoke}`);
      say(words["tokens.done_revoke"]);
      refresh("token-table");
    } else if (remove) {
      await api("DELETE", `/webhooks/${remove}`);
      say(words["hooks.removed"]);
      refresh("hook-table");
    } else {
      const answer = await api("POST", `/webhooks/${test}/test`);
      say(testResult(answer), !answer.ok);
    }
  } catch (e) {
    say(failure(e), true);
  } finally {
    button.disabled = false;
  }
});
