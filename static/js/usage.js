// Draws the customer's daily usage and visits (data from a json_script tag).
(function () {
  const canvas = document.getElementById("usage-chart");
  const source = document.getElementById("usage-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ data: data.totals, backgroundColor: "#0d6efd" }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
      animation: false,
    },
  });
})();
