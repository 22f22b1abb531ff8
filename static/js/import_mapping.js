// The column mapping page: under the date order and decimal separator selects, the
// example from the file as the chosen option reads it (the server renders the first).
(function () {
  document.querySelectorAll("select[data-example-target]").forEach(function (select) {
    const shown = document.getElementById(select.dataset.exampleTarget);
    if (!shown) return;
    select.addEventListener("change", function () {
      const option = select.options[select.selectedIndex];
      shown.textContent = option ? option.dataset.example || "" : "";
    });
  });
})();
