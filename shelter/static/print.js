// The night list's Print button: shown only when this script runs (without it, the page
// says to use the browser's Print). No inline script: the CSP allows 'self' only.
(function () {
  "use strict";
  var button = document.getElementById("print-button");
  if (!button || !window.print) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
