// Passkeys: asks the browser to create or use a passkey, then sends its
// answer with the form. WebAuthn exists only in JavaScript; the server
// checks everything. The form carries the options the server issued
// (data-options) and the texts to show (data-cancelled, data-unsupported).
(function () {
  "use strict";
  var form = document.getElementById("passkey-form");
  var status = document.getElementById("passkey-status");
  if (!form || !status) { return; }
  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toB64u(buf) {
    var b = new Uint8Array(buf), s = "";
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    status.textContent = form.dataset.unsupported;
    return;
  }
  var creating = form.dataset.passkey === "create";
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    status.textContent = "";
    var opts = JSON.parse(form.dataset.options).publicKey;
    opts.challenge = toBuf(opts.challenge);
    if (creating) {
      opts.user.id = toBuf(opts.user.id);
      (opts.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    } else {
      (opts.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    }
    var ask = creating ? navigator.credentials.create({ publicKey: opts }) : navigator.credentials.get({ publicKey: opts });
    ask.then(function (cred) {
      var r = cred.response;
      var out = { id: cred.id, rawId: toB64u(cred.rawId), type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: { clientDataJSON: toB64u(r.clientDataJSON) } };
      if (creating) {
        out.response.attestationObject = toB64u(r.attestationObject);
        if (r.getTransports) { out.response.transports = r.getTransports(); }
      } else {
        out.response.authenticatorData = toB64u(r.authenticatorData);
        out.response.signature = toB64u(r.signature);
        if (r.userHandle) { out.response.userHandle = toB64u(r.userHandle); }
      }
      form.querySelector("input[name=response]").value = JSON.stringify(out);
      form.submit();
    }).catch(function () {
      status.textContent = form.dataset.cancelled;
    });
  });
}());
