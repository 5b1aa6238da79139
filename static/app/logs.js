// The log viewer: a websocket of batched lines drawn once per animation frame into a bounded
// window of rows. Log bytes only ever reach the page as text (textContent), never as markup.
(function () {
  "use strict";

  const root = document.getElementById("logs");
  if (!root) return;
  const view = document.getElementById("logs-view");
  const status = document.getElementById("logs-status");
  const options = document.getElementById("logs-options");
  const search = document.getElementById("logs-search");
  const pauseButton = document.getElementById("logs-pause");
  const download = document.getElementById("logs-download");
  const names = root.dataset.containerNames.split("\n");
  const merged = names.length > 1;

  const MAX_DOM = 5000; // rows kept in the page
  const MAX_KEPT = 200000; // lines kept in memory for search and pause

  let socket = null;
  let kept = []; // [stream, timestamp, text, containerIndex]
  let pending = []; // lines received, not yet drawn
  let unacked = 0;
  let paused = false;
  let closedByUs = false;
  // The newest timestamp drawn (normalised to sort as text) of each container's stdout and
  // stderr, which the engine stamps apart; after a reconnect, each one's lines up to there
  // were shown already.
  let lastKeys = new Map();
  let boundary = new Map();
  let retries = 0;
  let skipped = 0;
  let frameRequested = false;

  function timestampKey(ts) {
    const dot = ts.indexOf(".");
    if (dot < 0) return ts.replace("Z", "") + ".000000000Z";
    const digits = ts.slice(dot + 1).replace("Z", "");
    return ts.slice(0, dot + 1) + (digits + "000000000").slice(0, 9) + "Z";
  }

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("bad", Boolean(bad));
  }

  function socketUrl(resume) {
    const form = new FormData(options);
    const params = new URLSearchParams();
    const until = (form.get("until") || "").trim();
    const keys = Array.from(lastKeys.values());
    if (resume && keys.length) {
      params.set("tail", "all");
      params.set("since", keys.reduce(function (a, b) { return a < b ? a : b; }));
    } else {
      params.set("tail", (form.get("tail") || "500").trim() || "500");
      const since = (form.get("since") || "").trim();
      if (since) params.set("since", since);
    }
    if (until) params.set("until", until);
    else params.set("follow", "1");
    const path = root.dataset.socket;
    const joiner = path.indexOf("?") >= 0 ? "&" : "?";
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + path + joiner + params.toString();
  }

  function connect(resume) {
    closedByUs = false;
    boundary = resume ? new Map(lastKeys) : new Map();
    say(resume ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(socketUrl(resume));
    socket.onmessage = function (event) {
      // A frame of lines is a JSON head, a newline and the lines' text; the rest is JSON.
      const cut = event.data.indexOf("\n");
      const message = JSON.parse(cut < 0 ? event.data : event.data.slice(0, cut));
      if (message.blocks) {
        pending.push(unpack(message.blocks, cut < 0 ? "" : event.data.slice(cut + 1)));
        unacked += 1;
        if (message.skipped) skipped += message.skipped;
        schedule();
      } else if (message.containers) {
        retries = 0;
      } else if (message.notice) {
        say(message.notice + (skipped ? " · " + skipped + " lines skipped" : ""), message.error);
        // The end of the log, or a history cut to its newest part, stays in the view.
        if (message.cut || (message.state === "ended" && !message.error)) note(message.notice);
        if (message.error) closedByUs = true;
      }
    };
    socket.onclose = function () {
      if (closedByUs) return;
      retries += 1;
      const wait = Math.min(1000 * retries, 5000);
      say("Connection lost; reconnecting in " + wait / 1000 + " s…", true);
      setTimeout(function () { connect(true); }, wait);
    };
  }

  // Cuts a frame's text into [stream, timestamp, text, containerIndex] lines: each block's
  // head gives its stream, its number of lines and, in a merged view, its container.
  function unpack(blocks, body) {
    const texts = body.split("\n");
    const lines = [];
    let at = 0;
    for (let b = 0; b < blocks.length; b++) {
      const stream = blocks[b][0];
      const container = blocks[b][2];
      for (let end = at + blocks[b][1]; at < end; at++) {
        const line = texts[at];
        const space = line.indexOf(" ");
        if (space < 0) lines.push([stream, line, "", container]);
        else lines.push([stream, line.slice(0, space), line.slice(space + 1), container]);
      }
    }
    return lines;
  }

  function schedule() {
    if (!frameRequested) {
      frameRequested = true;
      requestAnimationFrame(draw);
    }
  }

  // Which container's which stream a line is: [stream, timestamp, text, containerIndex].
  function sourceOf(line) {
    return (line[3] || 0) * 3 + line[0];
  }

  // Skips the lines shown before a reconnect and notes each source's newest timestamp. A
  // flood passes here line by line, so keys are made only where they are compared.
  function accept(lines) {
    if (boundary.size) {
      lines = lines.filter(function (line) {
        const source = sourceOf(line);
        if (!boundary.has(source)) return true;
        if (timestampKey(line[1]) <= boundary.get(source)) return false;
        boundary.delete(source);
        return true;
      });
    }
    const noted = new Set();
    for (let i = lines.length - 1; i >= 0; i--) {
      const source = sourceOf(lines[i]);
      if (noted.has(source)) continue;
      noted.add(source);
      const key = timestampKey(lines[i][1]);
      const known = lastKeys.get(source);
      if (known === undefined || key > known) lastKeys.set(source, key);
    }
    return lines;
  }

  function draw() {
    frameRequested = false;
    const batches = pending;
    pending = [];
    let fresh = [];
    for (let i = 0; i < batches.length; i++) fresh = fresh.concat(accept(batches[i]));
    if (unacked && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ ack: unacked }));
      unacked = 0;
    }
    if (!fresh.length) return;
    for (let i = 0; i < fresh.length; i++) kept.push(fresh[i]);
    // Trimmed a quarter at a time: copying the whole window every frame of a flood stalls.
    if (kept.length > MAX_KEPT * 1.25) {
      const dropped = kept.length - MAX_KEPT;
      kept = kept.slice(dropped);
      pausedAt = Math.max(0, pausedAt - dropped);
    }
    if (!paused) show(fresh.filter(matches));
    else say("Paused · " + pausedCount() + " new lines");
  }

  // While lines come faster than the page can draw them, it draws at most DRAW_RATE rows a
  // second, the newest, after a note; every line stays in memory, and pausing or searching
  // draws the whole window. Drawing a flood of 10,000 lines a second row by row kept the
  // browser's main thread busy all the time.
  const DRAW_RATE = 1000;
  const FLOOD_ROWS = 150; // drawn at a time in a flood: more than a screenful
  let budget = MAX_DOM;
  let budgetAt = performance.now();
  let undrawn = [];
  let undrawnTimer = null;
  let flooding = false;

  function show(lines) {
    if (paused) return; // a later timer's turn; pausing drew the whole window
    for (let i = 0; i < lines.length; i++) undrawn.push(lines[i]);
    if (undrawn.length > MAX_DOM) undrawn = undrawn.slice(-MAX_DOM);
    const now = performance.now();
    budget = Math.min(MAX_DOM, budget + ((now - budgetAt) * DRAW_RATE) / 1000);
    budgetAt = now;
    clearTimeout(undrawnTimer);
    if (undrawn.length <= budget) {
      append(undrawn);
      budget -= undrawn.length;
      undrawn = [];
      if (flooding) say("Following.");
      flooding = false;
    } else if (budget < FLOOD_ROWS || !atBottom()) {
      // Later: once a screenful may be drawn, and the reader is back at the bottom.
      const wait = atBottom() ? ((FLOOD_ROWS - budget) * 1000) / DRAW_RATE : 250;
      undrawnTimer = setTimeout(function () { show([]); }, wait);
    } else {
      const newest = undrawn.slice(-Math.floor(budget));
      view.textContent = "";
      note("Lines come faster than they can be drawn: these are the newest. Pause to see the last " + MAX_DOM);
      append(newest);
      budget -= newest.length;
      undrawn = [];
      if (!flooding) say("Following · too fast to draw every line: pause to see them all");
      flooding = true;
    }
  }

  function atBottom() {
    return view.scrollHeight - view.scrollTop - view.clientHeight < 40;
  }

  let pausedAt = 0;
  function pausedCount() { return kept.length - pausedAt; }

  const query = { text: "" };
  function matches(line) {
    return !query.text || line[2].toLowerCase().indexOf(query.text) >= 0;
  }

  function append(lines) {
    if (!lines.length) return;
    const following = atBottom();
    const start = Math.max(0, lines.length - MAX_DOM);
    const fragment = document.createDocumentFragment();
    for (let i = start; i < lines.length; i++) fragment.appendChild(row(lines[i]));
    view.appendChild(fragment);
    let excess = view.childElementCount - MAX_DOM;
    while (excess-- > 0) view.removeChild(view.firstChild);
    if (following) view.scrollTop = view.scrollHeight;
  }

  function note(text) {
    const div = document.createElement("div");
    div.className = "note";
    div.textContent = "— " + text + " —";
    view.appendChild(div);
    view.scrollTop = view.scrollHeight;
  }

  function row(line) {
    const div = document.createElement("div");
    div.className = line[0] === 2 ? "ln e" : "ln";
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = line[1];
    div.appendChild(ts);
    if (merged) {
      const src = document.createElement("span");
      const index = line[3] || 0;
      src.className = "src src-" + (index % 6);
      src.textContent = names[index] || "?";
      div.appendChild(src);
    }
    ansi(line[2], div);
    return div;
  }

  // ANSI SGR colours become classes on spans; every other escape sequence is dropped.
  const ESCAPE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g;
  function ansi(text, parent) {
    let classes = [];
    let last = 0;
    let match;
    ESCAPE.lastIndex = 0;
    if (text.indexOf("\x1b") < 0) {
      addText(parent, text, classes);
      return;
    }
    while ((match = ESCAPE.exec(text))) {
      if (match.index > last) addText(parent, text.slice(last, match.index), classes);
      last = ESCAPE.lastIndex;
      if (match[2] === "m") classes = sgr(match[1], classes);
    }
    if (last < text.length) addText(parent, text.slice(last), classes);
  }

  function sgr(codes, classes) {
    const parts = codes === "" ? [0] : codes.split(";").map(Number);
    let out = classes.slice();
    for (let i = 0; i < parts.length; i++) {
      const code = parts[i];
      if (code === 0) out = [];
      else if (code === 1) out.push("ansi-b");
      else if (code === 2) out.push("ansi-d");
      else if (code === 3) out.push("ansi-i");
      else if (code === 4) out.push("ansi-u");
      else if (code >= 30 && code <= 37) out = setColor(out, "fg-", code - 30);
      else if (code >= 90 && code <= 97) out = setColor(out, "fg-", code - 90 + 8);
      else if (code >= 40 && code <= 47) out = setColor(out, "bg-", code - 40);
      else if (code === 39) out = out.filter(function (c) { return c.indexOf("fg-") !== 0; });
      else if (code === 49) out = out.filter(function (c) { return c.indexOf("bg-") !== 0; });
      else if ((code === 38 || code === 48) && parts[i + 1] === 5) {
        const n = parts[i + 2];
        if (n < 16) out = setColor(out, code === 38 ? "fg-" : "bg-", n % (code === 38 ? 16 : 8));
        i += 2;
      } else if ((code === 38 || code === 48) && parts[i + 1] === 2) i += 4;
    }
    return out;
  }

  function setColor(classes, prefix, n) {
    return classes.filter(function (c) { return c.indexOf(prefix) !== 0; }).concat(prefix + n);
  }

  function addText(parent, text, classes) {
    let target = parent;
    if (classes.length) {
      target = document.createElement("span");
      target.className = classes.join(" ");
      parent.appendChild(target);
    }
    if (!query.text) {
      target.appendChild(document.createTextNode(text));
      return;
    }
    const lower = text.toLowerCase();
    let from = 0;
    let at;
    while ((at = lower.indexOf(query.text, from)) >= 0) {
      if (at > from) target.appendChild(document.createTextNode(text.slice(from, at)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(at, at + query.text.length);
      target.appendChild(mark);
      from = at + query.text.length;
    }
    if (from < text.length) target.appendChild(document.createTextNode(text.slice(from)));
  }

  function redraw() {
    view.textContent = "";
    undrawn = [];
    clearTimeout(undrawnTimer);
    flooding = false;
    append(kept.filter(matches));
  }

  options.addEventListener("submit", function (event) {
    event.preventDefault();
    closedByUs = true;
    if (socket) socket.close();
    kept = [];
    pending = [];
    undrawn = [];
    lastKeys = new Map();
    skipped = 0;
    view.textContent = "";
    connect(false);
  });
  options.addEventListener("change", function (event) {
    if (event.target.name === "timestamps") {
      view.classList.toggle("show-ts", event.target.checked);
      if (download) download.href = download.dataset.base + (event.target.checked ? "?timestamps=1" : "");
    }
    if (event.target.name === "wrap") view.classList.toggle("wrap", event.target.checked);
  });
  let searchTimer = null;
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      query.text = search.value.toLowerCase();
      redraw();
    }, 150);
  });
  pauseButton.addEventListener("click", function () {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      pausedAt = kept.length;
      redraw(); // the whole window, with what a flood left undrawn
      say("Paused");
    } else {
      show(kept.slice(pausedAt).filter(matches));
      say("Following");
    }
  });
  window.addEventListener("beforeunload", function () {
    closedByUs = true;
    if (socket) socket.close();
  });

  connect(false);
})();
