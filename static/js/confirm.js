// Forms and buttons with data-confirm="<question>" go ahead only once the user agrees to the question.
// A form with data-confirm-field="<name>" also sends <name>=yes once agreed: its view refuses (or asks on a
// page of its own) without it, so the action still needs a confirmation where this script does not run.
// Listening on the document also covers content htmx swaps in later.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-confirm], input[type=submit][data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (!form) return;
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    const name = form.dataset.confirmField;
    if (name && !form.querySelector('input[type=hidden][name="' + name + '"]')) {
      const agreed = document.createElement("input");
      agreed.type = "hidden";
      agreed.name = name;
      agreed.value = "yes";
      form.appendChild(agreed);
    }
  });
})();
