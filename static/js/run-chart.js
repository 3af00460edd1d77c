// Training loss and validation macro-F1 per epoch; redrawn when the live part of the page refreshes.
(function () {
  "use strict";
  let chart = null;
  function draw() {
    const source = document.getElementById("run-chart-data");
    const canvas = document.getElementById("run-chart");
    if (!source || !canvas || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const datasets = [
      { label: "training loss", data: data.loss, yAxisID: "loss" },
      { label: "validation macro-F1", data: data.f1, yAxisID: "f1" },
    ];
    if (chart) { chart.data.labels = data.epochs; chart.data.datasets = datasets; chart.update(); return; }
    chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: data.epochs, datasets },
      options: { maintainAspectRatio: false, scales: { loss: { position: "left" }, f1: { position: "right", min: 0, max: 1 } } },
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSwap", draw);
})();
