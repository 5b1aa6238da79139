// Keeps the audit page's first page current: the server pushes the rows of new entries (and
// of entries that changed, such as a terminal that ended), rendered with the page's own row
// partial; this puts them at the top, or in place of the row with the same id.
(function () {
  "use strict";

  const table = document.querySelector("table[data-audit-live]");
  if (!table) return;
  const body = table.tBodies[0];
  const note = document.getElementById("audit-live-note");
  // The page's 50 rows and the new ones, at most: a page left open for days stays small.
  const MAX_ROWS = 500;
  // Close codes after which trying again cannot help: refused, or filters the server refused.
  const FINAL = [4400, 4403, 4429];
  let retries = 0;

  function newest() {
    let id = 0;
    for (const row of body.querySelectorAll("tr[data-id]")) {
      id = Math.max(id, Number(row.dataset.id) || 0);
    }
    return id;
  }

  function url() {
    const params = new URLSearchParams(table.dataset.query || "");
    params.delete("page");
    // Entries written since the newest row shown come first: those written while the page
    // was drawn, or while the connection was lost.
    params.set("after", String(newest()));
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/ws/audit/?" + params;
  }

  function insert(html) {
    // Not text from a user or the engine: the server renders these rows with Django's
    // autoescape, so every value in them (names, command lines, messages) arrives escaped
    // and this markup is only the row partial's own. A <template> parses it without running
    // or loading anything.
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = document.createDocumentFragment();
    for (const row of Array.from(template.content.querySelectorAll("tr[data-id]"))) {
      const shown = document.getElementById(row.id);
      if (shown) shown.replaceWith(row);
      else fresh.append(row);
    }
    if (!fresh.childElementCount) return;
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    body.prepend(fresh);
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  }

  function connect() {
    const socket = new WebSocket(url());
    socket.onopen = function () {
      retries = 0;
    };
    socket.onmessage = function (message) {
      const data = JSON.parse(message.data);
      if (data.rows) insert(data.rows);
      if (data.skipped && note) {
        note.textContent = data.skipped + " new entries were not shown here: reload the page to see them.";
      }
    };
    socket.onclose = function (event) {
      if (FINAL.indexOf(event.code) >= 0) {
        if (note) note.textContent = "New entries are not shown live: reload the page to see them.";
        return;
      }
      retries += 1;
      setTimeout(connect, Math.min(30000, 1000 * 2 ** Math.min(retries, 5)));
    };
  }

  connect();
})();
