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
    window.location.assign(form.dataset.next || "/");
  } catch (e) {
    error.textContent = e.status === 429 ? form.dataset.throttled : form.dataset.refused;
    form.password.select();
  }
});
