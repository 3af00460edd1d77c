// Tables with class "sortable": a click on a column heading (or Enter/Space on it) sorts the rows by that
// column, again to reverse. A heading's data-sort says how: "number" reads each cell's data-value (a cell
// without one sorts last), anything else compares the text. No inline script: the policy allows none.
(function () {
  "use strict";

  function cellKey(row, index, numeric) {
    const cell = row.children[index];
    if (!cell) return numeric ? null : "";
    if (!numeric) return cell.textContent.trim().toLowerCase();
    const value = parseFloat(cell.dataset.value);
    return Number.isFinite(value) ? value : null;
  }

  function sortBy(table, heading) {
    const headings = Array.from(heading.parentElement.children);
    const index = headings.indexOf(heading);
    const numeric = heading.dataset.sort === "number";
    // A number column sorts highest first on the first click; text, A to Z.
    const current = heading.getAttribute("aria-sort");
    const ascending = current ? current === "descending" : !numeric;
    headings.forEach(function (h) { h.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const x = cellKey(a, index, numeric);
      const y = cellKey(b, index, numeric);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const order = numeric ? x - y : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function setUp(table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (heading) {
      heading.tabIndex = 0;
      heading.classList.add("sortable-heading");
      heading.addEventListener("click", function () { sortBy(table, heading); });
      heading.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, heading);
        }
      });
    });
  }

  function init() { document.querySelectorAll("table.sortable").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
