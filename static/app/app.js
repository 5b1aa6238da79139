// Berth's page behaviour: bulk selection, its command preview and confirmations of plain forms.
(function () {
  "use strict";

  function selected() {
    return Array.from(document.querySelectorAll('input[name="ids"][form="bulk"]:checked'));
  }

  function refreshBulk() {
    const bulk = document.getElementById("bulk");
    if (!bulk) return;
    const rows = selected();
    const names = rows.map(function (box) {
      return box.getAttribute("aria-label").replace(/^Select /, "");
    });
    document.getElementById("bulk-count").textContent =
      rows.length ? rows.length + " selected" : "No containers selected";
    bulk.querySelectorAll("button[name=action]").forEach(function (button) {
      button.disabled = rows.length === 0;
    });
    const preview = document.getElementById("bulk-command");
    const hovered = bulk.querySelector("button[name=action]:hover") || bulk.querySelector("button[name=action]");
    // `docker`, with the -H or --context that names the page's engine.
    const docker = document.body.dataset.docker || "docker";
    preview.textContent = rows.length && hovered ? docker + " " + hovered.dataset.words + " " + names.join(" ") : "";
    const all = document.getElementById("select-all");
    if (all) {
      const boxes = document.querySelectorAll('input[name="ids"][form="bulk"]');
      all.checked = boxes.length > 0 && rows.length === boxes.length;
      all.indeterminate = rows.length > 0 && rows.length < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-switch-engine]")) {
      // The engine switcher: the chosen engine's containers (or every engine's).
      const option = event.target.selectedOptions[0];
      if (option && option.dataset.href) location.assign(option.dataset.href);
      return;
    }
    if (event.target.id === "select-all") {
      document.querySelectorAll('input[name="ids"][form="bulk"]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    refreshBulk();
  });
  document.addEventListener("mouseover", function (event) {
    if (event.target.closest && event.target.closest("#bulk button[name=action]")) refreshBulk();
  });
  // A redrawn list (a filter, a live refresh) keeps ticked the rows that were ticked, as a
  // pushed row does; otherwise a tick made while the request was on its way is silently lost.
  let ticked = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "rows") {
      ticked = new Set(selected().map(function (box) { return box.value; }));
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (ticked) {
      document.querySelectorAll('#rows input[name="ids"][form="bulk"]').forEach(function (box) {
        if (ticked.has(box.value)) box.checked = true;
      });
      ticked = null;
    }
    refreshBulk();
  });
  document.addEventListener("DOMContentLoaded", refreshBulk);

  // Plain (non-htmx) forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
