// The exec terminal: xterm.js on a websocket, opened with the single-use ticket that the
// form's POST issued. Bytes go both ways as binary frames; resizes
// and acknowledgements of drawn output go as small JSON text frames.
(function () {
  "use strict";

  const box = document.getElementById("terminal");
  if (!box || !window.Terminal) return;
  const status = document.getElementById("exec-status");
  const term = new window.Terminal({
    cursorBlink: true,
    convertEol: false,
    scrollback: 5000,
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    fontSize: 13,
    theme: { background: "#0f1217" },
  });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();

  // The ticket says what runs; the query adds only the terminal's size.
  const params = new URLSearchParams({
    ticket: box.dataset.ticket,
    cols: term.cols,
    rows: term.rows,
  });
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + box.dataset.socket + "?" + params);
  socket.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  let ended = false;

  function say(text) {
    status.textContent = text;
  }

  socket.onopen = function () {
    say("Connected");
    term.focus();
  };
  socket.onmessage = function (event) {
    if (typeof event.data !== "string") {
      const bytes = new Uint8Array(event.data);
      term.write(bytes, function () {
        // Drawn after the process exited and the server closed: nothing left to acknowledge.
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ ack: bytes.length }));
      });
      return;
    }
    const message = JSON.parse(event.data);
    if ("exit" in message) {
      ended = true;
      const code = message.exit === null ? "unknown" : message.exit;
      term.write("\r\n\x1b[2m[process exited with code " + code + "]\x1b[0m\r\n");
      say("Exited with code " + code);
    } else if (message.error) {
      ended = true;
      say(message.error);
      term.write("\r\n\x1b[31m" + message.error + "\x1b[0m\r\n");
    }
  };
  socket.onclose = function (event) {
    if (!ended) {
      say(event.code === 4403 ? "Refused: press Open for a fresh ticket." : "Disconnected");
    }
  };

  term.onData(function (data) {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onBinary(function (data) {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
  });
  term.onResize(function (size) {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ resize: [size.cols, size.rows] }));
    }
  });
  let resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { fit.fit(); }, 100);
  });
  window.addEventListener("beforeunload", function () { socket.close(); });
})();
