// The workflow screens' forms (units' requests, cases filed by hand, missed violations, users): each is sent to the
// REST API; a refusal is said in the page's language beside the form and in the status line, and the form keeps
// what was typed. The words for the API's refusals come from the page (service/ui/api_errors.py).
"use strict";

const WORDS = JSON.parse(document.getElementById("api-errors").textContent);

/** The first [pattern, words] pair whose pattern matches text, applied ($1, $2 for its groups); else null. */
function translated(text, pairs) {
  for (const [pattern, words] of pairs) {
    const re = new RegExp(pattern);
    if (re.test(text)) return text.replace(re, words);
  }
  return null;
}

/** What the form calls the field the API names ("grids.0" is the grids field). */
function fieldLabel(form, field) {
  const element = form.elements.namedItem(field.split(".")[0]);
  if (!element) return null;
  const first = element instanceof RadioNodeList ? element[0] : element;
  const group = first.closest("fieldset.wf-choice");
  if (element instanceof RadioNodeList && group) return group.querySelector("legend").textContent.trim();
  const label = first.labels && first.labels[0];
  return (label && label.childNodes[0].textContent.trim()) || null;
}

/** A refusal in the page's language: each refused field by its label, else the API's detail translated, else its
 * status's sentence; English keeps the API's detail. */
function refusal(form, error) {
  if (error.said) return error.said;
  if (!error.status) return WORDS.network; // fetch itself failed: nothing reached the server
  const body = error.body || {};
  if (Array.isArray(body.errors) && WORDS.fields.length) {
    return body.errors
      .map((e) => {
        const reason = translated(e.msg, WORDS.details) || translated(e.msg, WORDS.fields);
        const label = e.field ? fieldLabel(form, e.field) : null;
        return label ? WORDS.field.replace("{label}", label).replace("{reason}", reason) : reason;
      })
      .join("；");
  }
  const detail = String(error.message || "");
  return translated(detail, WORDS.details) || WORDS.status[error.status] || detail;
}

/** Send the form with call(form, submitter) on submit, then after(result); buttons wait meanwhile. */
function handle(form, call, after) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    const shown = form.querySelector(".wf-error");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await after(await call(form, event.submitter));
    } catch (error) {
      const text = refusal(form, error);
      if (shown) shown.textContent = text;
      say(WORDS.failed + text, true);
      buttons.forEach((b) => (b.disabled = false));
    }
  });
}

/** A field's trimmed value, undefined when empty (the API's default applies). */
function value(form, name) {
  const field = form.elements.namedItem(name);
  const text = field ? String(field.value).trim() : "";
  return text || undefined;
}

/** A datetime-local input as an instant: the site's local time with the site's UTC offset. */
function instant(form, name) {
  const input = form.elements.namedItem(name);
  return input.value ? `${input.value}:00${input.dataset.offset}` : undefined;
}

const reload = () => window.location.reload();

// ---- requests: approve or refuse ----
document.querySelectorAll("form.decide").forEach((form) => {
  handle(
    form,
    (f, submitter) => {
      const body = { note: value(f, "note") };
      const deadline = f.elements.namedItem("deadline");
      // Approving an extension grants the deadline asked for unless the operator changed it.
      if (submitter.value === "approve" && deadline && deadline.value !== deadline.dataset.asked) {
        body.deadline = instant(f, "deadline");
      }
      return api("POST", `/requests/${f.dataset.request}/${submitter.value}`, body);
    },
    reload,
  );
});

// ---- a case filed by hand, then placed in the grid or unit chosen ----
const intake = document.getElementById("intake-form");
if (intake) {
  handle(
    intake,
    async (f) => {
      const body = new FormData();
      for (const name of ["source", "violation", "description", "reporter", "place_id", "lat", "lon"]) {
        if (value(f, name) !== undefined) body.append(name, value(f, name));
      }
      if (instant(f, "seen_at")) body.append("seen_at", instant(f, "seen_at"));
      if (f.photo.files[0]) body.append("photo", f.photo.files[0]);
      const made = await api("POST", "/cases/manual", body);
      const change = {};
      for (const name of ["grid_id", "unit_id"]) {
        if (value(f, name) && value(f, name) !== made[name]) change[name] = value(f, name);
      }
      if (Object.keys(change).length) {
        const button = f.querySelector("button[type=submit]");
        try {
          await api("PATCH", `/cases/${made.id}/placement`, { ...change, note: button.dataset.placedNote });
        } catch (error) {
          // The case is filed; say so and lead to it rather than let a second submit file it twice.
          error.said = `${button.dataset.unplaced}#${made.id} ${refusal(f, error)}`;
          throw error;
        }
      }
      return made;
    },
    (made) => window.location.assign(`/cases/${made.id}`),
  );
}

// ---- a violation the cameras missed ----
const miss = document.getElementById("miss-form");
if (miss) {
  const labelFits = () => {
    const chosen = miss.violation.value;
    for (const option of miss.label.options) {
      option.hidden = Boolean(option.value) && !option.dataset.violations.split(" ").includes(chosen);
    }
    if (miss.label.selectedOptions[0].hidden) miss.label.value = "";
  };
  miss.violation.addEventListener("change", labelFits);
  labelFits();
  handle(
    miss,
    (f) => {
      const caseId = value(f, "case_id");
      const body = {
        camera_id: value(f, "camera_id"),
        seen_at: instant(f, "seen_at"),
        violation: value(f, "violation"),
        label: value(f, "label"),
        note: value(f, "note"),
        case_id: caseId && /^\d+$/.test(caseId) ? Number(caseId) : caseId,
      };
      return api("POST", "/quality/misses", body);
    },
    reload,
  );
}

// ---- users: the unit and grids only for unit handlers ----
function scopeShown(form) {
  const scope = form.querySelector("[data-scope]");
  const toggle = () => (scope.hidden = form.elements.namedItem("role").value !== "unit_handler");
  form.elements.namedItem("role").addEventListener("change", toggle);
  toggle();
}

/** Role and scope as the API takes them: a unit handler's unit (null: none) and grids; nothing for other roles. */
function roleAndScope(form) {
  const role = value(form, "role");
  const handler = role === "unit_handler";
  const grids = [...form.querySelectorAll("input[name=grids]:checked")].map((box) => box.value);
  return { role, unit: handler ? value(form, "unit") || null : null, grids: handler ? grids : [] };
}

const create = document.getElementById("user-create");
if (create) {
  scopeShown(create);
  handle(
    create,
    (f) => {
      const { role, unit, grids } = roleAndScope(f);
      const body = { name: value(f, "name"), password: f.password.value, role, grids };
      if (unit) body.unit = unit;
      return api("POST", "/users", body);
    },
    reload,
  );
}
document.querySelectorAll("form.user-edit").forEach((form) => {
  scopeShown(form);
  handle(
    form,
    (f) => {
      const body = { ...roleAndScope(f), active: f.active.checked };
      if (f.password.value) body.password = f.password.value;
      return api("PATCH", `/users/${encodeURIComponent(f.dataset.user)}`, body);
    },
    reload,
  );
});
