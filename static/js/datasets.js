// Dataset upload: read the file's first bytes for the column-mapping preview, then upload it whole with a
// progress bar. Without JavaScript the form still posts normally (columns are then guessed).
(function () {
  "use strict";
  const root = document.getElementById("upload");
  if (!root) return;
  const form = document.getElementById("upload-form");
  const input = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const errorBox = document.getElementById("preview-error");
  const mapping = document.getElementById("mapping");
  const progress = document.getElementById("upload-progress");
  const statusLine = document.getElementById("upload-status");
  const button = document.getElementById("upload-button");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const PREVIEW_BYTES = 64 * 1024;

  function showError(error) {
    const where = [error.row ? "row " + error.row : "", error.column ? "column " + error.column : ""].filter(Boolean);
    errorBox.textContent = error.message + (where.length ? " (" + where.join(", ") + ")" : "");
    errorBox.hidden = false;
  }

  function fillSelect(select, columns, chosen) {
    select.replaceChildren(...columns.map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = name === chosen;
      return option;
    }));
  }

  function showPreview(preview) {
    fillSelect(document.getElementById("text-column"), preview.columns, preview.text_column);
    fillSelect(document.getElementById("label-column"), preview.columns, preview.label_column);
    document.getElementById("multi-label").value = preview.multi_label ? "true" : "false";
    document.getElementById("format").value = preview.format;
    const kind = { csv: "CSV", tsv: "TSV", jsonl: "JSON Lines", comprehend: "Comprehend CSV (no header, label first)" };
    document.getElementById("preview-summary").textContent =
      (kind[preview.format] || preview.format) + ", " + preview.encoding_label + ". " + preview.notes.join(" ") +
      " Check the columns below, then upload.";
    const table = document.getElementById("preview-table");
    const head = document.createElement("tr");
    preview.columns.forEach((name) => { const th = document.createElement("th"); th.textContent = name; head.append(th); });
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceChildren(...preview.preview.map((row) => {
      const tr = document.createElement("tr");
      row.forEach((cell) => { const td = document.createElement("td"); td.textContent = cell; tr.append(td); });
      return tr;
    }));
    mapping.hidden = false;
  }

  async function preview(file) {
    errorBox.hidden = true;
    mapping.hidden = true;
    const body = new FormData();
    body.append("file", file.slice(0, PREVIEW_BYTES), file.name);
    const response = await fetch(root.dataset.previewUrl, {
      method: "POST", body, headers: { "X-CSRFToken": csrf, "Accept": "application/json" }, credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) { showError(data.error); return; }
    showPreview(data);
  }

  input.addEventListener("change", () => { if (input.files.length) preview(input.files[0]); });
  ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove("dragging")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    preview(input.files[0]);
  });

  form.addEventListener("submit", (event) => {
    if (!input.files.length) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("X-CSRFToken", csrf);
    request.setRequestHeader("Accept", "application/json");
    progress.hidden = false;
    progress.value = 0;
    button.disabled = true;
    statusLine.textContent = "Uploading…";
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      progress.value = Math.round((100 * e.loaded) / e.total);
      statusLine.textContent = e.loaded < e.total ? "Uploading… " + progress.value + " %" : "Checking the data…";
    });
    request.addEventListener("load", () => {
      button.disabled = false;
      let data = {};
      try { data = JSON.parse(request.responseText); } catch (e) { /* not JSON: a server error page */ }
      if (request.status >= 200 && request.status < 300 && data.url) { window.location.assign(data.url); return; }
      progress.hidden = true;
      statusLine.textContent = "";
      showError(data.error || { message: "The upload failed (HTTP " + request.status + "). Try again." });
    });
    request.addEventListener("error", () => {
      button.disabled = false;
      progress.hidden = true;
      showError({ message: "The connection was lost during the upload. Try again." });
    });
    request.send(new FormData(form));
  });
})();
