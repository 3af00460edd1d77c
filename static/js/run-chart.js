// Training loss along the steps (from the first ones on) and validation macro-F1 at each epoch's end, on an
// axis of epochs; redrawn when the live part of the page refreshes.
(function () {
  "use strict";
  let chart = null;
  function draw() {
    const source = document.getElementById("run-chart-data");
    const canvas = document.getElementById("run-chart");
    if (!source || !canvas || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const datasets = [
      { label: "training loss", data: data.loss, yAxisID: "loss", pointRadius: data.loss.length > 30 ? 0 : 3, borderWidth: 1.5 },
      { label: "validation macro-F1", data: data.f1, yAxisID: "f1", pointRadius: 4 },
    ];
    // A refresh draws the chart anew, at once (no animation): a chart updated in place, then resized by a
    // full-page capture, came out with its axes but no line in the journey's screenshot.
    const redraw = chart !== null;
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: redraw ? false : undefined,
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", min: 0, max: data.epochs, title: { display: true, text: "epoch" } },
          loss: { position: "left", title: { display: true, text: "training loss" } },
          f1: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "validation macro-F1" } },
        },
      },
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSwap", draw);
})();
