// Share of each label per hour, stacked to 100 % (Chart.js, vendored).
(function () {
  "use strict";
  const source = document.getElementById("monitor-chart-data");
  const canvas = document.getElementById("monitor-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const datasets = Object.keys(data.labels).map(function (name) {
    return { label: name, data: data.labels[name].map(function (share) { return Math.round(share * 1000) / 10; }) };
  });
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.buckets, datasets: datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, max: 100, title: { display: true, text: "% of events" } } },
    },
  });
})();
