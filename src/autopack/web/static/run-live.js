// Live run page: follows the run's event stream (GET /runs/{id}/events) and updates states in place.
// Everything on the page works without this script; it only saves a reload.
(function () {
  "use strict";
  var section = document.getElementById("run");
  if (!section || !window.EventSource) { return; }
  var runId = section.getAttribute("data-run-id");
  var after = section.getAttribute("data-last-event") || "0";
  var status = document.getElementById("live-status");
  var url = "/runs/" + encodeURIComponent(runId) + "/events?last_event_id=" + encodeURIComponent(after);
  var source = new EventSource(url);

  function setState(selector, value) {
    var nodes = section.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = value;
      nodes[i].classList.add("changed");
    }
  }
  function attr(value) { return String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"'); }
  function payload(event) {
    try { return JSON.parse(event.data).payload || {}; } catch (e) { return {}; }
  }
  function refreshTokens() {
    fetch("/runs/" + encodeURIComponent(runId), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (run) { document.getElementById("run-tokens").textContent = Number(run.tokens_used || 0).toLocaleString("en-US"); }
      })
      .catch(function () {});
  }

  source.addEventListener("open", function () { status.textContent = "live"; });
  source.addEventListener("error", function () { status.textContent = "reconnecting…"; });
  source.addEventListener("phase.state_changed", function (event) {
    var p = payload(event);
    if (p.phase_id) { setState('[data-phase="' + attr(p.phase_id) + '"]', p.to); }
  });
  source.addEventListener("tier.state_changed", function (event) {
    var p = payload(event);
    if (p.tier_id) { setState('[data-tier="' + attr(p.tier_id) + '"]', p.to); }
  });
  source.addEventListener("run.state_changed", function (event) {
    var p = payload(event);
    if (p.to) { document.getElementById("run-state").textContent = p.to; }
  });
  source.addEventListener("builder.result", refreshTokens);
  source.addEventListener("auditor.result", refreshTokens);
})();
