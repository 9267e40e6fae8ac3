// Passkey button of the login page (username-less sign-in: a discoverable credential) and of the step-up
// page (the pending user's passkeys, listed by the server in allowCredentials). Gets request options for
// this interaction (POST, CSRF), asks the authenticator, then posts the assertion with the #passkey-form.
(function () {
  'use strict';
  var button = document.getElementById('passkey-signin');
  var form = document.getElementById('passkey-form');
  if (!button || !form) return;
  if (!window.PublicKeyCredential || !window.SimpleWebAuthnBrowser) {
    button.hidden = true;
    return;
  }
  var problem = document.getElementById('passkey-error');
  button.addEventListener('click', function () {
    button.disabled = true;
    var body = new URLSearchParams({ csrf: form.elements.namedItem('csrf').value });
    fetch(button.dataset.options, { method: 'POST', body: body, credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('Passkey sign-in is not available right now.');
        return res.json();
      })
      .then(function (options) {
        return window.SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options });
      })
      .then(function (assertion) {
        form.elements.namedItem('response').value = JSON.stringify(assertion);
        form.submit();
      })
      .catch(function (error) {
        button.disabled = false;
        if (problem) {
          problem.textContent = error && error.message ? error.message : 'Passkey sign-in did not complete.';
          problem.hidden = false;
        }
      });
  });
})();
