// Shared helpers of every page: calls to the REST API with the session cookie, the status line, sign-out.
"use strict";

/** Call the API; resolves to the parsed JSON body (null when empty), rejects with the API's error detail.
 * keepalive: the request outlives the page (decisions still held when the operator leaves). */
async function api(method, path, body, keepalive = false) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin", keepalive };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/api/v1" + path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error((data && data.detail) || response.statusText);
    error.status = response.status;
    error.body = data; // validation errors list each field (the workflow forms name them by their labels)
    throw error;
  }
  return data;
}

/** Show a message in the page's live region (read out by screen readers). */
function say(message, isError) {
  const line = document.getElementById("status");
  line.textContent = message;
  line.classList.toggle("error", Boolean(isError));
}

/** Failures of a bulk API answer, as "#id: detail" lines; empty when every item went through. */
function bulkFailures(answer) {
  return answer.results.filter((r) => r.status >= 300).map((r) => `#${r.case_id}: ${r.detail}`);
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await api("POST", "/auth/logout");
    } finally {
      window.location.assign("/login");
    }
  });
}
