// Draws points issued, redeemed and expired per month (data from a json_script tag).
(function () {
  const canvas = document.getElementById("loyalty-months-chart");
  const source = document.getElementById("loyalty-months-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: data.issued_label, data: data.issued, backgroundColor: "#198754" },
        { label: data.redeemed_label, data: data.redeemed, backgroundColor: "#0d6efd" },
        { label: data.expired_label, data: data.expired, backgroundColor: "#adb5bd" },
      ],
    },
    options: { animation: false, scales: { y: { beginAtZero: true } } },
  });
})();
