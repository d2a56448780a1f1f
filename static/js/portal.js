// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Warn before leaving a form with unsaved changes (forms marked data-warn-unsaved).
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  });
  // Confirmation for dangerous buttons (data-confirm="question").
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // Match Fields: the raw Clever path shown small beside each choice follows the choice.
  document.querySelectorAll("code[data-path-for]").forEach(function (code) {
    var select = document.getElementById(code.getAttribute("data-path-for"));
    if (!select) { return; }
    select.addEventListener("change", function () {
      var value = select.value;
      code.textContent = value && value.indexOf("__") !== 0 ? value : "";
    });
  });
  // Pages showing a running import refresh themselves (data-refresh-seconds on <main> content).
  var refresher = document.querySelector("[data-refresh-seconds]");
  if (refresher) {
    var seconds = parseInt(refresher.getAttribute("data-refresh-seconds"), 10) || 3;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
