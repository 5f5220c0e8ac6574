// Submits the SAML HTTP-POST binding form at once. Without JavaScript the
// citizen presses the visible button instead.
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("saml-post");
  if (f) { f.submit(); }
});
