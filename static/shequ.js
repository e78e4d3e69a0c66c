// Shequ: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // A tap anywhere on a list row follows the row's first link.
  document.addEventListener("click", function (ev) {
    var row = ev.target.closest && ev.target.closest("table.list tbody tr");
    if (!row || ev.target.closest("a, button, input")) return;
    var link = row.querySelector("a[href]");
    if (link) window.location.href = link.getAttribute("href");
  });
})();
