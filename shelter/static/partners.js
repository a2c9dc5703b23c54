// Partner portal: keep the pre-bookings list live, and show the new-person fields only
// when "A new person" is chosen. No dependencies.
(function () {
  "use strict";
  var holds = document.getElementById("holds");
  if (holds && window.fetch) {
    var url = holds.getAttribute("data-refresh-url");
    setInterval(function () {
      if (document.visibilityState !== "visible") { return; }
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { holds.innerHTML = html; } })
        .catch(function () {});
    }, 60000);
  }
  var who = document.getElementById("person");
  var fields = document.getElementById("new-person");
  if (who && fields) {
    var sync = function () { fields.hidden = who.value !== "new"; };
    who.addEventListener("change", sync);
    sync();
  }
})();
