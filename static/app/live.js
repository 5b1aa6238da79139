// Keeps a page current from the engine's events: the server pushes redrawn rows, this swaps
// them in (through htmx, so their buttons work) and acknowledges each frame it has applied.
(function () {
  "use strict";

  const anchor = document.querySelector("[data-live]");
  if (!anchor || !window.htmx) return;
  const page = anchor.dataset.live;
  let socket = null;
  let retries = 0;
  let refreshTimer = null;

  function url() {
    const params = new URLSearchParams({ page: page });
    if (anchor.dataset.id) params.set("id", anchor.dataset.id);
    // The first time, from when the page was rendered: what changed since comes too. After a
    // lost connection the page reloads what it shows instead.
    if (!retries && anchor.dataset.since) params.set("since", anchor.dataset.since);
    if (anchor.dataset.dangling) params.set("dangling", "1");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    // The engine's own events: /ws/engines/<slug>/live/, or /ws/live/ for the default one.
    const prefix = document.body.dataset.enginePrefix || "/";
    return scheme + location.host + "/ws" + prefix + "live/?" + params;
  }

  // The containers list's filters, applied to pushed rows as the engine applies them.
  function wanted(update) {
    const form = document.querySelector("form.filters");
    if (!form) return true;
    const data = new FormData(form);
    const showAll = data.get("all") === "on" || data.get("all") === "1";
    const state = data.get("state") || "";
    const name = (data.get("name") || "").trim();
    const label = (data.get("label") || "").trim();
    if (!showAll && !state && update.state !== "running" && update.state !== "paused" &&
        update.state !== "restarting") return false;
    if (state && update.state !== state) return false;
    if (name && update.name.indexOf(name) < 0) return false;
    if (label) {
      const eq = label.indexOf("=");
      const key = eq < 0 ? label : label.slice(0, eq);
      if (!(key in update.labels)) return false;
      if (eq >= 0 && update.labels[key] !== label.slice(eq + 1)) return false;
    }
    return true;
  }

  function applyContainer(update) {
    const row = document.getElementById("c-" + update.id);
    if (update.removed || !wanted(update)) {
      if (row) row.remove();
      return;
    }
    const box = row && row.querySelector('input[name="ids"]');
    const checked = box && box.checked;
    if (row) {
      htmx.swap(row, update.html, { swapStyle: "outerHTML" });
    } else {
      const rows = document.getElementById("rows");
      if (!rows) return;
      const empty = rows.querySelector("tr.empty");
      if (empty) empty.remove();
      htmx.swap(rows, update.html, { swapStyle: "afterbegin" });
    }
    if (checked) {
      const fresh = document.querySelector('#c-' + update.id + ' input[name="ids"]');
      if (fresh) fresh.checked = true;
    }
  }

  function applyEvent(event) {
    const list = document.getElementById("activity");
    if (!list) return;
    const placeholder = list.querySelector("li.muted");
    if (placeholder) placeholder.remove();
    const item = document.createElement("li");
    const when = new Date(Math.floor(event.time / 1e6));
    const time = document.createElement("time");
    time.textContent = when.toLocaleTimeString();
    time.dateTime = when.toISOString();
    const what = document.createElement("span");
    what.textContent = " " + event.type + " " + event.action + " ";
    const who = document.createElement("b");
    who.textContent = event.name || (event.id || "").slice(0, 12);
    item.append(time, what, who);
    list.prepend(item);
    while (list.childElementCount > 50) list.lastElementChild.remove();
  }

  // Reloads what the page shows: after a lost connection, skipped updates, or on a
  // container's page, after a change (debounced: one request however many events).
  function refresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (page === "container") {
        htmx.ajax("GET", location.href, { target: "main", select: "main", swap: "outerHTML" });
      } else if (document.getElementById("rows")) {
        htmx.ajax("GET", location.href, { target: "#rows", swap: "outerHTML" });
      } else if (page === "system") {
        htmx.ajax("GET", location.href, { target: "#system-live", select: "#system-live", swap: "outerHTML" });
      }
    }, 150);
  }

  function apply(update) {
    if (update.kind === "container") applyContainer(update);
    else if (update.kind === "rows") {
      const target = document.getElementById(page === "system" ? "system-live" : "rows");
      if (target) htmx.swap(target, update.html, { swapStyle: "outerHTML" });
    } else if (update.kind === "event") applyEvent(update);
    else if (update.kind === "refresh") refresh();
  }

  function connect() {
    socket = new WebSocket(url());
    socket.onopen = function () {
      if (retries) refresh();
      retries = 0;
    };
    socket.onmessage = function (message) {
      const data = JSON.parse(message.data);
      if (data.lines) {
        data.lines.forEach(apply);
        if (data.skipped) refresh();
        socket.send(JSON.stringify({ ack: 1 }));
      } else if (data.resync) {
        refresh();
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403 || event.code === 4400 || event.code === 4404) return;
      retries += 1;
      setTimeout(connect, Math.min(500 * retries, 5000));
    };
  }

  connect();
})();
