// Reprise: the only script of the pages (no inline script: the CSP forbids it).
// 1. Parts marked data-live="URL" refresh themselves every data-every seconds (the live
//    incident), unless the person is typing in them.
// 2. Buttons of forms marked data-confirm ask first.
"use strict";
(function () {
  function refresh(box) {
    var url = box.getAttribute("data-live");
    var every = Math.max(2, parseInt(box.getAttribute("data-every") || "5", 10)) * 1000;
    function tick() {
      var active = document.activeElement;
      if (active && box.contains(active) && /INPUT|TEXTAREA|SELECT/.test(active.tagName)) {
        return setTimeout(tick, every);
      }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            box.replaceChildren.apply(box, Array.prototype.slice.call(doc.body.childNodes));
            box.setAttribute("data-refreshed", new Date().toISOString());
          }
        })
        .catch(function () {})
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(refresh);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
