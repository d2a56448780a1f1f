// The waiting page of Match Fields / Define Codes: poll the scan's status, show the records read,
// reload when the data is ready (or the read failed: the page then shows the error and Retry).
(function () {
  "use strict";
  var box = document.querySelector("[data-scan-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-scan-status");
  var count = box.querySelector("[data-scan-records]");
  var note = box.querySelector("[data-scan-error]");
  var delay = 1000;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (count) { count.textContent = Number(data.records || 0).toLocaleString(); }
        if (data.state === "ready" || data.state === "failed" || data.state === "stale") {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.5, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        if (note) {
          note.hidden = false;
          note.textContent = "Could not check the progress just now; trying again.";
        }
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
