// Call console behaviour: keyboard shortcuts, the help overlay, focus after a new patient loads.
// Loaded as a static file (CSP forbids inline scripts). The lease heartbeat is plain HTMX
// (hx-trigger="every 60s" on the console), so closing the browser simply lets the lease expire.
(function () {
  "use strict";

  function typingInField(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function helpDialog() {
    return document.getElementById("shortcut-help");
  }

  function toggleHelp() {
    var dialog = helpDialog();
    if (!dialog) {
      return;
    }
    if (dialog.open) {
      dialog.close();
    } else if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
  }

  // A key is bound by a button carrying data-shortcut="<key>"; the page lists the same keys.
  function clickShortcut(key) {
    var button = document.querySelector('[data-shortcut="' + key + '"]');
    if (!button || button.disabled || button.closest("[hidden]")) {
      return false;
    }
    button.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key === "Escape") {
      // Esc leaves a field so the number keys become shortcuts again (documented on the page).
      if (typingInField(event.target)) {
        event.target.blur();
      }
      return;
    }
    if (typingInField(event.target)) {
      return;
    }
    var dialog = helpDialog();
    if (event.key === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (dialog && dialog.open) {
      return;
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : "";
    if (key && clickShortcut(key)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest ? event.target.closest("[data-help-toggle]") : null;
    if (opener) {
      event.preventDefault();
      toggleHelp();
    }
  });

  // The call script shows English and Hindi side by side; a selector narrows it to one language.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("[data-script-lang]")) {
      var wanted = target.value;
      document.querySelectorAll("[data-script-col]").forEach(function (col) {
        col.classList.toggle("is-collapsed", wanted !== "both" && col.getAttribute("data-script-col") !== wanted);
      });
    }
  });

  // After HTMX swaps in the next patient, put the keyboard focus on the patient's name so a
  // screen reader announces who is on the line and the shortcuts keep working.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "console") {
      return;
    }
    var heading = target.querySelector("[data-focus-on-load]");
    if (heading) {
      heading.focus();
    }
  });

  // Outcome buttons: once one is pressed, the others are disabled until the answer arrives
  // (the idempotency key makes a second press harmless anyway).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (form && form.matches && form.matches("form[data-outcome-form]")) {
      form.classList.add("is-sending");
    }
  });
})();
