// Predictions and training minutes per day of the billing period (Chart.js, vendored).
(function () {
  "use strict";
  const source = document.getElementById("usage-chart-data");
  const canvas = document.getElementById("usage-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.days,
      datasets: [
        { label: "Predictions", data: data.predictions, yAxisID: "y" },
        { label: "Training minutes", data: data.training_minutes, yAxisID: "minutes" },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        y: { beginAtZero: true, position: "left", title: { display: true, text: "predictions" } },
        minutes: {
          beginAtZero: true,
          position: "right",
          grid: { drawOnChartArea: false },
          title: { display: true, text: "training minutes" },
        },
      },
    },
  });
})();
