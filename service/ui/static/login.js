// The sign-in form: the API sets the HttpOnly session cookie, then the page goes where the user was headed.
"use strict";

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  const body = { username: form.username.value, password: form.password.value };
  try {
    await api("POST", "/auth/login", body);
    // the server sends only local paths; checked again here so that no other page's data can make this an open
    // redirect (a backslash or a second slash after the first names another site to a browser)
    const next = form.dataset.next || "/";
    window.location.assign(/^\/(?![\/\\])[^\\\s]*$/.test(next) ? next : "/");
  } catch (e) {
    error.textContent = e.status === 429 ? form.dataset.throttled : form.dataset.refused;
    form.password.select();
  }
});
