// Loaded first: collects the page's script errors, rejected promises and Content-Security-Policy
// violations into #page-errors, so that they show on the page and in a DOM dump (scripts/check-dashboard).
(function () {
  'use strict';
  var pending = [];
  function show(message) {
    var box = document.getElementById('page-errors');
    if (!box) { pending.push(message); return; }
    var line = document.createElement('p');
    line.className = 'page-error';
    line.textContent = message;
    box.appendChild(line);
    box.hidden = false;
  }
  window.addEventListener('error', function (event) {
    show('script error: ' + (event.message || 'unknown') + (event.filename ? ' at ' + event.filename + ':' + event.lineno : ''));
  });
  window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    show('unhandled rejection: ' + (reason && reason.message ? reason.message : String(reason)));
  });
  document.addEventListener('securitypolicyviolation', function (event) {
    show('blocked by the content security policy: ' + event.violatedDirective + ' ' + (event.blockedURI || ''));
  });
  document.addEventListener('DOMContentLoaded', function () {
    var queued = pending;
    pending = [];
    queued.forEach(show);
  });
  window.slopeReportError = show;
})();
