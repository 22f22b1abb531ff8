// Draws a backtest's calibration: predicted against observed per tenth of customers
// (data from a json_script tag). Runs on load and again when htmx swaps the figures in.
(function () {
  function draw() {
    const canvas = document.getElementById("backtest-calibration-chart");
    const source = document.getElementById("backtest-calibration-data");
    if (!canvas || !source || !window.Chart || Chart.getChart(canvas)) return;
    const data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.predicted_label, data: data.predicted, backgroundColor: "#adb5bd" },
          { label: data.observed_label, data: data.observed, backgroundColor: "#dc3545" },
        ],
      },
      options: {
        animation: false,
        aspectRatio: 1.6,
        scales: {
          x: { title: { display: true, text: data.x_title } },
          y: { min: 0, max: 100, title: { display: true, text: data.y_title } },
        },
      },
    });
  }
  draw();
  document.addEventListener("htmx:afterSettle", draw);
})();
