// Survey results: the NPS trend (line) over answer counts (stacked bars), and one
// ranked horizontal bar chart per choice question. Data from a json_script tag.
(function () {
  const source = document.getElementById("survey-charts");
  if (!source || !window.Chart) return;
  const charts = JSON.parse(source.textContent);
  const trend = document.getElementById("nps-trend-chart");
  if (trend && charts.nps) {
    new Chart(trend, {
      data: {
        labels: charts.nps.labels,
        datasets: [
          { type: "line", label: "NPS", data: charts.nps.scores, borderColor: "#0d6efd", yAxisID: "nps" },
          { type: "bar", label: "9–10", data: charts.nps.promoters, backgroundColor: "#19875480", stack: "n", yAxisID: "count" },
          { type: "bar", label: "7–8", data: charts.nps.passives, backgroundColor: "#ffc10780", stack: "n", yAxisID: "count" },
          { type: "bar", label: "0–6", data: charts.nps.detractors, backgroundColor: "#dc354580", stack: "n", yAxisID: "count" },
        ],
      },
      options: {
        animation: false,
        // The box (.chart-box-sm) sets the height: a fixed aspect ratio squashed it on phones.
        maintainAspectRatio: false,
        scales: {
          nps: { position: "left", min: -100, max: 100 },
          count: { position: "right", stacked: true, beginAtZero: true, grid: { drawOnChartArea: false } },
          x: { stacked: true },
        },
      },
    });
  }
  document.querySelectorAll("canvas.ranking-chart").forEach(function (canvas) {
    const ranking = charts.rankings[Number(canvas.dataset.index)];
    new Chart(canvas, {
      type: "bar",
      data: { labels: ranking.labels, datasets: [{ data: ranking.counts, backgroundColor: "#0d6efd" }] },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  });
})();
