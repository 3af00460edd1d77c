// A checkbox with data-select-all="<name>" ticks or clears every checkbox named <name> on the page (the rows
// of a list, for its bulk actions). It stays hidden where this script does not run.
(function () {
  "use strict";
  document.querySelectorAll("input[type=checkbox][data-select-all]").forEach(function (all) {
    const boxes = function () {
      return document.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]');
    };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
