// The console works without this file. With it, the voicemail template's
// preview follows what is typed: the server renders it (the same encoding
// and segment count as a send), this only asks for it and shows it.
"use strict";
// A sign-in link (`smsctl serve --demo` prints one) carries its key after
// '#', which never reaches a server or its logs: it fills the form, leaves
// the address bar, and signs in.
document.addEventListener("DOMContentLoaded", () => {
  const key = document.getElementById("key");
  if (!key || !location.hash.startsWith("#key=")) return;
  key.value = decodeURIComponent(location.hash.slice(5));
  history.replaceState(null, "", location.pathname);
  key.form.requestSubmit();
});
document.addEventListener("DOMContentLoaded", () => {
  const area = document.querySelector("textarea[data-preview]");
  const button = document.querySelector("button[formaction$='/preview']");
  if (!area || !button) return;
  const target = document.getElementById(area.dataset.preview);
  // Max segments decides where a transcript is cut.
  const segments = document.getElementById("max_segments");
  let timer = 0;
  let asked = 0;
  const follow = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const n = ++asked;
      const url = new URL(button.formAction);
      url.searchParams.set("fragment", "1");
      url.searchParams.set("template", area.value);
      if (segments) url.searchParams.set("max_segments", segments.value);
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok && n === asked) {
        const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
        target.replaceChildren(...doc.body.childNodes);
      }
    }, 200);
  };
  area.addEventListener("input", follow);
  if (segments) segments.addEventListener("input", follow);
});
