// Assistance pages: live SLA countdowns, the partner queue refreshing itself, "select all" and the selected count on the board,
// and the raise form showing only the chosen service's fields. CSP: no inline scripts.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key] !== undefined ? values[key] : ""; });
  }

  // Every [data-due] inside a table carrying the translated templates counts down each 30 s.
  function tick() {
    document.querySelectorAll("table[data-tpl-left]").forEach(function (table) {
      var now = Date.now();
      table.querySelectorAll(".sla[data-due]").forEach(function (el) {
        var due = Date.parse(el.getAttribute("data-due"));
        if (isNaN(due)) { return; }
        var minutes = Math.floor((due - now) / 60000);
        var span = Math.abs(minutes);
        if (span >= 2880) { return; }  // days late: the server's words stay right for hours
        var words = span >= 90
          ? fill(table.getAttribute("data-tpl-hours"), { h: Math.floor(span / 60), m: ("0" + (span % 60)).slice(-2) })
          : fill(table.getAttribute("data-tpl-min"), { m: span });
        el.textContent = fill(table.getAttribute(minutes < 0 ? "data-tpl-late" : "data-tpl-left"), { t: words });
        el.classList.toggle("sla-late", minutes < 0);
        el.classList.toggle("sla-soon", minutes >= 0 && minutes < 15);
      });
    });
  }

  function boardSelection() {
    var all = document.getElementById("select-all");
    var count = document.getElementById("bulk-count");
    var boxes = function () { return document.querySelectorAll("#board-form input[name=ids]"); };
    function update() {
      var n = 0;
      boxes().forEach(function (b) { if (b.checked) { n += 1; } });
      if (count) { count.textContent = n ? count.getAttribute("data-template").replace("__", n) : ""; }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes().forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes().forEach(function (b) { b.addEventListener("change", update); });
  }

  function raiseForm() {
    var kind = document.querySelector(".raise-form select[name=kind]");
    if (!kind) { return; }
    function show() {
      document.querySelectorAll(".raise-form .kind-fields").forEach(function (fs) {
        var on = fs.getAttribute("data-kind") === kind.value;
        fs.hidden = !on;
        fs.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !on; });
      });
    }
    kind.addEventListener("change", show);
    show();
  }

  // The partner's queue refreshes itself; not while they are typing a reason or have a form open in it.
  function partnerQueue() {
    var title = document.title;
    function busy(queue) {
      if (queue.contains(document.activeElement) && document.activeElement !== document.body) { return true; }
      if (queue.querySelector("details[open]")) { return true; }
      return Array.prototype.some.call(queue.querySelectorAll("textarea, input[type=text], input:not([type])"), function (el) {
        return el.value.trim() !== "";
      });
    }
    function badge() {
      var queue = document.getElementById("partner-queue");
      var n = queue ? parseInt(queue.getAttribute("data-offered") || "0", 10) : 0;
      document.title = n > 0 ? "(" + n + ") " + title : title;  // seen from another tab
    }
    document.body.addEventListener("htmx:beforeRequest", function (evt) {
      var queue = document.getElementById("partner-queue");
      if (queue && evt.detail.elt === queue && busy(queue)) { evt.preventDefault(); }
    });
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      // Signed out meanwhile: the answer is the sign-in page; show it whole, not inside the queue.
      var url = evt.detail.xhr && evt.detail.xhr.responseURL;
      if (url && url.indexOf("/accounts/login") !== -1) { evt.preventDefault(); window.location.reload(); }
    });
    document.body.addEventListener("htmx:afterSettle", function () { badge(); tick(); });
    badge();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("partner-queue")) { partnerQueue(); }
    tick();
    window.setInterval(tick, 30000);
    boardSelection();
    raiseForm();
  });
})();
