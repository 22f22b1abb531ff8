// The owner's dashboard: one Chart.js chart per table, drawn from the JSON the page
// carries (dashboard/tables.py Table.chart). The table beside each chart holds the
// same numbers, so nothing here is the only way to read them.
(function () {
  const source = document.getElementById("dashboard-charts");
  if (!source || !window.Chart) return;
  const charts = JSON.parse(source.textContent);
  const colours = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const spec = charts[canvas.dataset.chart];
    if (!spec) return;
    const hasSecondAxis = spec.series.some(function (s) { return s.axis === "y2"; });
    const stacked = spec.series.some(function (s) { return s.stack; });
    const scales = {
      x: { stacked: stacked },
      y: { beginAtZero: true, stacked: stacked, title: { display: !!spec.yTitle, text: spec.yTitle } },
    };
    if (hasSecondAxis) scales.y2 = { position: "right", grid: { drawOnChartArea: false } };
    new Chart(canvas, {
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          const colour = s.colour || colours[i % colours.length];
          return {
            type: s.kind, label: s.label, data: s.data, yAxisID: s.axis,
            stack: s.stack || undefined, borderColor: colour,
            backgroundColor: s.kind === "line" ? colour : colour + "99",
            spanGaps: true,
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: scales,
        plugins: { legend: { position: "bottom" } },
      },
    });
  });
})();
