// Live feedback while a citizen types a new password: an enhancement only.
// The page works without it and the server checks the policy regardless.
// Texts come from data- attributes the server filled from its catalogues.
(function () {
  "use strict";
  var pw = document.getElementById("password");
  var again = document.getElementById("password_again");
  var out = document.getElementById("password-live");
  if (!pw || !again || !out) { return; }
  var d = out.dataset;
  var min = parseInt(d.min, 10) || 8, free = parseInt(d.free, 10) || 16, classesNeeded = parseInt(d.classes, 10) || 3;
  function classes(s) {
    var n = 0;
    if (/[a-z\u00e0-\u00ff]/.test(s)) { n++; }
    if (/[A-Z\u00c0-\u00de]/.test(s)) { n++; }
    if (/[0-9]/.test(s)) { n++; }
    if (/[^a-zA-Z0-9\u00c0-\u00ff]/.test(s)) { n++; }
    return n;
  }
  var timer = null;
  function check() {
    var s = pw.value, len = Array.from(s).length, msg = "";
    if (len === 0) {
      msg = "";
    } else if (len < min) {
      msg = d.short;
    } else if (len < free && classes(s) < classesNeeded) {
      msg = d.classesMsg;
    } else if (again.value !== "" && again.value !== s) {
      msg = d.mismatch;
    } else {
      msg = d.ok;
    }
    // Announce after a pause, not at every key, so screen readers are not flooded.
    clearTimeout(timer);
    timer = setTimeout(function () { out.textContent = msg; }, 600);
  }
  pw.addEventListener("input", check);
  again.addEventListener("input", check);
})();
