// Dataset upload: read the file's first bytes for the column-mapping preview, then upload it whole with a
// progress bar. Without JavaScript the form still posts normally (columns are then guessed).
// The preview runs the checks that would refuse the upload (again whenever a column choice changes); while
// one of them fails, the upload button stays disabled.
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
  const textSelect = document.getElementById("text-column");
  const labelSelect = document.getElementById("label-column");
  const multiSelect = document.getElementById("multi-label");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const PREVIEW_BYTES = 1024 * 1024; // as projects.services.datasets.PREVIEW_MAX_BYTES
  let previewSeq = 0;
  let blocked = false;

  function showError(error) {
    const where = [error.row ? "row " + error.row : "", error.column ? "column " + error.column : ""].filter(Boolean);
    errorBox.textContent = error.message + (where.length ? " (" + where.join(", ") + ")" : "");
    errorBox.hidden = false;
  }

  // A fatal preview error blocks the upload until the file or the columns change and the preview passes.
  function setBlocked(value) {
    blocked = value;
    button.disabled = value;
    button.title = value ? "Fix what the preview found first" : "";
  }

  function fillSelect(select, columns, chosen) {
    const options = columns.map((name) => {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name.length > 60 ? name.slice(0, 59) + "…" : name;
      option.selected = name === chosen;
      return option;
    });
    if (!chosen || !columns.includes(chosen)) {
      const none = document.createElement("option");
      none.value = "";
      none.textContent = "— choose a column —";
      none.selected = true;
      options.unshift(none);
    }
    select.replaceChildren(...options);
  }

  function showPreview(preview) {
    fillSelect(textSelect, preview.columns, preview.text_column);
    fillSelect(labelSelect, preview.columns, preview.label_column);
    multiSelect.value = preview.multi_label ? "true" : "false";
    document.getElementById("format").value = preview.format;
    const kind = { csv: "CSV", tsv: "TSV", jsonl: "JSON Lines", comprehend: "Comprehend CSV (no header, label first)" };
    document.getElementById("preview-summary").textContent =
      (kind[preview.format] || preview.format) + ", " + preview.encoding_label + ". " + preview.notes.join(" ") +
      " Check the columns below, then upload.";
    const table = document.getElementById("preview-table");
    const head = document.createElement("tr");
    preview.columns.forEach((name) => {
      const th = document.createElement("th");
      th.textContent = name.length > 60 ? name.slice(0, 59) + "…" : name;
      head.append(th);
    });
    table.tHead.replaceChildren(head);
    // Cells arrive cut to a few hundred characters; a cut one says how long it is.
    table.tBodies[0].replaceChildren(...preview.preview.map((row, r) => {
      const tr = document.createElement("tr");
      row.forEach((cell, c) => {
        const td = document.createElement("td");
        td.textContent = cell;
        const chars = (preview.preview_chars && preview.preview_chars[r]) ? preview.preview_chars[r][c] : cell.length;
        if (chars > cell.length) {
          const note = document.createElement("small");
          note.className = "cut";
          note.textContent = " (" + chars.toLocaleString() + " characters)";
          td.append(note);
          td.title = chars.toLocaleString() + " characters; the preview shows the first " + (cell.length - 1);
        }
        tr.append(td);
      });
      return tr;
    }));
    mapping.hidden = false;
  }

  // withColumns: send the chosen columns (after the person changed one), else let the server guess them.
  async function preview(file, withColumns) {
    const seq = ++previewSeq;
    errorBox.hidden = true;
    if (!withColumns) mapping.hidden = true;
    const body = new FormData();
    body.append("file", file.slice(0, PREVIEW_BYTES), file.name);
    body.append("size", String(file.size));
    if (withColumns) {
      body.append("text_column", textSelect.value);
      body.append("label_column", labelSelect.value);
      body.append("multi_label", multiSelect.value);
    }
    let response, data;
    try {
      response = await fetch(root.dataset.previewUrl, {
        method: "POST", body, headers: { "X-CSRFToken": csrf, "Accept": "application/json" }, credentials: "same-origin",
      });
      data = await response.json();
    } catch (e) {
      if (seq !== previewSeq) return;
      setBlocked(false); // the preview could not run: the upload still checks the file
      showError({ message: "The preview could not be made; the upload will still check the file." });
      return;
    }
    if (seq !== previewSeq) return; // a newer preview is on its way
    if (!response.ok) {
      showError(data.error);
      setBlocked(data.error.blocking !== false);
      return;
    }
    showPreview(data);
    if (data.refused) showError(data.refused);
    setBlocked(Boolean(data.refused));
  }

  [textSelect, labelSelect, multiSelect].forEach((select) => select.addEventListener("change", () => {
    if (input.files.length) preview(input.files[0], true);
  }));
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
    if (blocked) { event.preventDefault(); return; }
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
