// A job's page kept current: progress bar, a row per layer and the output, from the job's
// websocket. Engine text only ever reaches the page as textContent.
(function () {
  "use strict";

  const root = document.getElementById("job");
  if (!root) return;
  const state = document.getElementById("job-state");
  const bar = document.getElementById("job-bar");
  const percent = document.getElementById("job-percent");
  const result = document.getElementById("job-result");
  const layers = document.getElementById("job-layers");
  const output = document.getElementById("job-output");
  const cancel = document.getElementById("job-cancel");
  const MAX_LINES = 2000;
  const ENDED = ["done", "failed", "cancelled", "gone"];
  let lines = output.textContent ? output.textContent.split("\n") : [];
  let retries = 0;

  function size(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function drawLayer(id, layer) {
    const body = layers.tBodies[0];
    let row = body.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (!row) {
      row = body.insertRow();
      row.dataset.id = id;
      for (let i = 0; i < 3; i += 1) row.insertCell();
      row.cells[0].className = "mono";
      row.cells[0].textContent = id;
    }
    row.cells[1].textContent = layer[0];
    row.cells[2].textContent = layer[2] ? size(layer[1]) + " / " + size(layer[2]) : "";
  }

  function draw(update) {
    if (update.full) {
      layers.tBodies[0].replaceChildren();
      lines = [];
    }
    state.textContent = update.state;
    state.className = "badge state-" + update.state;
    root.dataset.state = update.state;
    if (typeof update.percent === "number") {
      bar.value = update.percent;
      percent.textContent = Math.floor(update.percent) + " %";
    }
    result.textContent = update.result || "";
    result.classList.toggle("bad", update.state === "failed");
    const ids = Object.keys(update.layers || {});
    ids.forEach(function (id) { drawLayer(id, update.layers[id]); });
    if (ids.length) layers.hidden = false;
    if (update.skipped) lines.push("… " + update.skipped + " lines not shown …");
    if (update.output && update.output.length) lines = lines.concat(update.output);
    if (lines.length > MAX_LINES) lines = lines.slice(lines.length - MAX_LINES);
    if (update.full || (update.output && update.output.length) || update.skipped) {
      const atEnd = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.textContent = lines.join("\n"); // one text node per update, not one per line
      output.hidden = lines.length === 0;
      if (atEnd) output.scrollTop = output.scrollHeight;
    }
    if (ENDED.indexOf(update.state) >= 0 && cancel) cancel.hidden = true;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.socket);
    socket.onmessage = function (event) {
      let update;
      try { update = JSON.parse(event.data); } catch (e) { return; }
      retries = 0;
      if (update.error) {
        result.textContent = update.error;
        result.classList.add("bad");
      }
      if (update.state) draw(update);
      socket.send(JSON.stringify({ ack: 1 }));
    };
    socket.onclose = function () {
      if (ENDED.indexOf(root.dataset.state) >= 0) return;
      retries += 1;
      state.textContent = "reconnecting…";
      setTimeout(connect, Math.min(1000 * retries, 10000));
    };
  }

  if (ENDED.indexOf(root.dataset.state) < 0) connect();
})();
