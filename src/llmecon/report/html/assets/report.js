// Hover for the inline SVG charts: in each .chartblock, the sampled points of line N
// (g#KEY-hover-N > use, in order) show their label from the block's chart data, also as an
// SVG <title>; the table under each chart carries the same data for keyboards and screen readers.
(function () {
  "use strict";
  function attachBlock(block) {
    var data = block.querySelector("script.chart-data");
    var tip = block.querySelector(".tooltip");
    var figure = block.querySelector("figure");
    if (!data || !tip || !figure) { return; }
    var key = block.getAttribute("data-chart");
    JSON.parse(data.textContent).forEach(function (line, index) {
      var group = document.getElementById(key + "-hover-" + index);
      if (!group) { return; }
      group.querySelectorAll("use").forEach(function (dot, i) {
        var point = line.points[i];
        if (!point) { return; }
        var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = point.label;
        dot.appendChild(title);
        dot.addEventListener("mouseenter", function () {
          var box = dot.getBoundingClientRect(), frame = figure.getBoundingClientRect();
          tip.textContent = point.label;
          tip.hidden = false;
          tip.style.left = (box.left - frame.left + 10) + "px";
          tip.style.top = (box.top - frame.top - 30) + "px";
        });
        dot.addEventListener("mouseleave", function () { tip.hidden = true; });
      });
    });
  }
  function attach(root) {
    (root || document).querySelectorAll(".chartblock").forEach(attachBlock);
  }
  window.llmeconCharts = attach;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attach(); });
  } else {
    attach();
  }
})();
