// ICCC page behaviour. Loaded on every page by base.html (CSP forbids inline scripts).
(function () {
  "use strict";

  // HTMX requests carry Django's CSRF token (read from <body data-csrf>).
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf");
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // Phone layout: the menu button shows and hides the left navigation.
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("sidenav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("is-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    // <form data-confirm="..."> asks before submitting (deactivate, reset password).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });
  });
})();
