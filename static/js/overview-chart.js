// Texts predicted per day over the organization's last 30 days, on its overview (Chart.js, vendored).
(function () {
  "use strict";
  const source = document.getElementById("overview-chart-data");
  const canvas = document.getElementById("overview-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.days, datasets: [{ label: "Predictions", data: data.counts }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, title: { display: true, text: "predictions" } } },
    },
  });
})();
