// Examples per label, as a horizontal bar chart (Chart.js, vendored).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("label-chart-data").textContent);
  const canvas = document.getElementById("label-chart");
  if (!canvas || !window.Chart) return;
  // One line per label: the box grows with their number (set here, as the policy allows no style attribute).
  const box = canvas.parentElement;
  if (box.dataset.heightEm) box.style.height = box.dataset.heightEm + "em";
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "examples", data: data.counts }] },
    options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } } },
  });
})();
