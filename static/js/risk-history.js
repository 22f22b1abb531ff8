// Draws the customer's risk score history (data from a json_script tag).
(function () {
  const canvas = document.getElementById("risk-history-chart");
  const source = document.getElementById("risk-history-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(JSON.parse(source.textContent));
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [{ data: data.scores, stepped: true, borderColor: "#dc3545", pointRadius: 2, fill: false }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { min: 0, max: 100 } },
      animation: false,
    },
  });
})();
