// Account page: adds a passkey. Gets creation options (POST, CSRF), asks the browser's authenticator
// through @simplewebauthn/browser (served from /static/vendor), then submits the form with the response.
(function () {
  'use strict';
  var form = document.getElementById('passkey-register-form');
  if (!form) return;
  var problem = document.getElementById('passkey-script-error');
  function show(message) {
    problem.textContent = message;
    problem.hidden = false;
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    var body = new URLSearchParams({ csrf: form.elements.namedItem('csrf').value });
    fetch(form.dataset.options, { method: 'POST', body: body, credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        return res.json().then(function (json) {
          if (res.status === 401 && json.location) {
            window.location.assign(json.location);
            return null;
          }
          if (!res.ok) throw new Error(json.error_description || 'The passkey could not be added.');
          return window.SimpleWebAuthnBrowser.startRegistration({ optionsJSON: json });
        });
      })
      .then(function (credential) {
        if (!credential) return;
        form.elements.namedItem('response').value = JSON.stringify(credential);
        form.submit();
      })
      .catch(function (error) {
        show(error && error.message ? error.message : 'The passkey could not be added.');
      });
  });
})();
