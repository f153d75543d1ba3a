// The calculator: every change of an input asks the server (api/compare, relative to this page)
// for the results and chart, and keeps the page's address, the share link and the download
// links in step with the inputs. No library, no network beyond this machine's server.
(function () {
  "use strict";
  var form = document.getElementById("calc");
  var results = document.getElementById("results");
  var status = document.getElementById("status");
  var error = document.getElementById("error");
  var timer = null, latest = 0;

  function params() {
    var query = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name) { query.set(field.name, field.value); }
    });
    return query.toString();
  }

  function fillFromAddress() {
    var query = new URLSearchParams(window.location.search);
    query.forEach(function (value, name) {
      if (form.elements[name]) { form.elements[name].value = value; }
    });
  }

  function recompute() {
    var query = params(), ticket = ++latest;
    window.history.replaceState(null, "", "?" + query);
    document.getElementById("share").href = "?" + query;
    document.getElementById("download-yaml").href = "api/scenario.yaml?" + query;
    document.getElementById("download-report").href = "api/report.html?" + query;
    status.textContent = "computing…";
    fetch("api/compare?" + query).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (ticket !== latest) { return; }
      if (!answer.ok) {
        error.textContent = answer.body.error;
        status.textContent = "not updated: fix the input above";
        return;
      }
      error.textContent = "";
      results.innerHTML = answer.body.html;
      if (window.llmeconCharts) { window.llmeconCharts(results); }
      status.textContent = "updated";
    }).catch(function (failure) {
      error.textContent = "the calculator server did not answer (" + failure + ")";
    });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(recompute, 250);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); recompute(); });
  fillFromAddress();
  recompute();
})();
