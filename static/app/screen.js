// A wall screen: keeps the server-rendered tiles current over ws/screen/. Tiles are updated in
// place (one element per container, removed with it), sparklines keep a fixed number of
// points, and the socket comes back by itself with a growing pause; nothing here acts on a
// container. Everything Docker hands over is written with textContent. A screen may show
// several engines: every message names its engine, and a tile is known by engine and id.
(function () {
  "use strict";

  const body = document.body;
  if (!body.hasAttribute("data-screen")) return;
  const POINTS = parseInt(body.dataset.points, 10) || 60;
  const board = document.getElementById("board");
  const tileTemplate = document.getElementById("tile-template");
  const groupTemplate = document.getElementById("group-template");
  const linkState = document.getElementById("link-state");
  const alertBox = document.getElementById("alert");
  const empty = document.getElementById("empty");
  const countOut = document.getElementById("count");
  const problemsOut = document.getElementById("problems");
  const countWord = document.getElementById("count-word");
  const problemsWord = document.getElementById("problems-word");
  const clock = document.getElementById("clock");
  const STATE_ORDER = { running: 0, restarting: 0, paused: 1, created: 2, exited: 3, dead: 3 };
  const MAX_DELAY = 30;

  const tiles = new Map(); // engine/container id -> {el, data, cpu: [], mem: []}
  // The engines of a screen of several, by slug: their names, as the header lists them.
  const engineList = document.getElementById("engines");
  const engineTitles = new Map();
  if (engineList) {
    for (const li of engineList.querySelectorAll("li")) engineTitles.set(li.dataset.engine, li.textContent);
  }
  const several = engineTitles.size > 1;
  // Groups of one project's name on several engines come in the order the header lists them.
  const enginePlace = new Map(Array.from(engineTitles.keys()).map(function (slug, n) { return [slug, n]; }));
  // Unavailable engines, by slug -> why; and what the page said that no engine's return ends.
  const down = new Map();
  let standing = "";
  const dirty = new Set();
  let reorder = false;
  let frame = 0;
  let socket = null;
  let retries = 0;
  let retryAt = 0;
  let retryTimer = 0;
  let ended = false;
  for (const p of alertBox.querySelectorAll("p")) {
    if (p.dataset.engine) down.set(p.dataset.engine, p.textContent);
    else standing = p.textContent;
  }

  function keyOf(engine, id) {
    return engine + "/" + id;
  }

  // --- words, as screens.py writes them ------------------------------------------------------

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) {
      const minutes = Math.floor((seconds % 3600) / 60);
      return Math.floor(seconds / 3600) + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
    }
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }

  function uptime(data) {
    const now = Date.now() / 1000;
    const up = data.state === "running" || data.state === "paused" || data.state === "restarting";
    if (up && data.started) return "up " + duration(now - data.started);
    if (data.finished) return "stopped " + duration(now - data.finished) + " ago";
    return "never started";
  }

  function bytes(value) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)) + " " + units[unit];
  }

  function number(text) {
    const value = parseFloat(text);
    return isNaN(value) ? null : value;
  }

  // --- tiles -------------------------------------------------------------------------------

  function tileOrder(a, b) {
    const pa = a.data.problem ? 0 : 1;
    const pb = b.data.problem ? 0 : 1;
    if (pa !== pb) return pa - pb;
    const sa = STATE_ORDER[a.data.state] ?? 4;
    const sb = STATE_ORDER[b.data.state] ?? 4;
    if (sa !== sb) return sa - sb;
    return a.data.name < b.data.name ? -1 : a.data.name > b.data.name ? 1 : 0;
  }

  function groupKey(section) {
    const project = section.dataset.project;
    const problem = section.querySelector(".tile.problem") ? 0 : 1;
    return [problem, project === "" ? 1 : 0, project, enginePlace.get(section.dataset.engine) || 0];
  }

  function groupOrder(a, b) {
    const ka = groupKey(a);
    const kb = groupKey(b);
    for (let i = 0; i < ka.length; i += 1) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  }

  function groupFor(engine, project) {
    for (const section of board.querySelectorAll("section.group")) {
      if (section.dataset.engine === engine && section.dataset.project === project) return section;
    }
    const section = groupTemplate.content.firstElementChild.cloneNode(true);
    section.dataset.engine = engine;
    section.dataset.project = project;
    section.querySelector(".title").textContent = project || "no compose project";
    section.querySelector(".on-engine").textContent = several ? "· " + (engineTitles.get(engine) || engine) : "";
    board.insertBefore(section, empty);
    return section;
  }

  function dropEmptyGroups() {
    for (const section of board.querySelectorAll("section.group")) {
      if (!section.querySelector(".tile")) section.remove();
    }
  }

  function fill(record) {
    const data = record.data;
    const el = record.el;
    el.id = "tile-" + data.engine + "-" + data.id;
    el.dataset.engine = data.engine;
    el.dataset.id = data.id;
    el.dataset.name = data.name;
    el.dataset.project = data.project;
    el.dataset.state = data.state;
    el.dataset.problem = data.problem;
    el.className = "tile state-" + data.state + (data.problem ? " problem" : "") + (down.has(data.engine) ? " stale" : "");
    el.querySelector(".name").textContent = data.name;
    el.querySelector(".state").textContent = data.state_text;
    el.querySelector(".problem-text").textContent = data.problem_text;
    el.querySelector(".uptime").textContent = uptime(data);
    const restarts = data.restarts;
    el.querySelector(".restarts").textContent = restarts + " restart" + (restarts === 1 ? "" : "s");
    if (data.state !== "running") {
      // A stopped container's last figures would read as current ones.
      record.cpu.length = 0;
      record.mem.length = 0;
      dirty.add(record);
    }
  }

  function applyTile(data) {
    let record = tiles.get(keyOf(data.engine, data.id));
    if (!record) {
      const el = tileTemplate.content.firstElementChild.cloneNode(true);
      record = { el: el, data: data, cpu: [], mem: [] };
      tiles.set(keyOf(data.engine, data.id), record);
      groupFor(data.engine, data.project).querySelector(".tiles").appendChild(el);
    } else if (record.data.project !== data.project) {
      groupFor(data.engine, data.project).querySelector(".tiles").appendChild(record.el);
    }
    record.data = data;
    fill(record);
    reorder = true;
  }

  function removeTile(key) {
    const record = tiles.get(key);
    if (!record) return;
    record.el.remove();
    tiles.delete(key);
    dirty.delete(record);
    reorder = true;
  }

  // A full reload of one engine's tiles: those of that engine not in `ids` are gone.
  function keepOnly(engine, ids) {
    const wanted = new Set(ids.map(function (id) { return keyOf(engine, id); }));
    tiles.forEach(function (record, key) {
      if (record.data.engine === engine && !wanted.has(key)) removeTile(key);
    });
  }

  function applyStats(sample) {
    const record = tiles.get(keyOf(sample.engine, sample.id));
    if (!record || record.data.state !== "running") return;
    record.cpu.push(sample.cpu);
    record.mem.push(sample.mem);
    if (record.cpu.length > POINTS) record.cpu.shift();
    if (record.mem.length > POINTS) record.mem.shift();
    dirty.add(record);
  }

  function points(values, floor) {
    let top = floor;
    for (const v of values) if (v > top) top = v;
    top *= 1.15;
    const start = POINTS - values.length;
    const out = [];
    for (let i = 0; i < values.length; i += 1) {
      const y = 19 - (values[i] / top) * 18;
      out.push(start + i + "," + y.toFixed(2));
    }
    return out.join(" ");
  }

  function drawSpark(el, values, floor, label) {
    el.querySelector("polyline").setAttribute("points", points(values, floor));
    el.querySelector(".value").textContent = values.length ? label(values[values.length - 1]) : "–";
  }

  function draw(record) {
    drawSpark(record.el.querySelector(".spark.cpu"), record.cpu, 5, function (v) {
      return v.toFixed(1) + " %";
    });
    drawSpark(record.el.querySelector(".spark.mem"), record.mem, 1048576, bytes);
  }

  function arrange() {
    for (const section of board.querySelectorAll("section.group")) {
      const list = section.querySelector(".tiles");
      const current = Array.from(list.children);
      const records = current.map(function (el) { return tiles.get(keyOf(el.dataset.engine, el.dataset.id)); });
      if (records.some(function (r) { return !r; })) continue;
      const sorted = records.slice().sort(tileOrder);
      if (sorted.some(function (r, i) { return r.el !== current[i]; })) {
        sorted.forEach(function (r) { list.appendChild(r.el); });
      }
    }
    const groups = Array.from(board.querySelectorAll("section.group"));
    const sortedGroups = groups.slice().sort(groupOrder);
    if (sortedGroups.some(function (g, i) { return g !== groups[i]; })) {
      sortedGroups.forEach(function (g) { board.insertBefore(g, empty); });
    }
    let problems = 0;
    tiles.forEach(function (r) { if (r.data.problem) problems += 1; });
    countOut.textContent = tiles.size;
    countWord.textContent = tiles.size === 1 ? "container" : "containers";
    problemsOut.textContent = problems;
    problemsWord.textContent = problems === 1 ? "problem" : "problems";
    body.classList.toggle("has-problems", problems > 0);
    empty.hidden = tiles.size > 0;
  }

  function render() {
    frame = 0;
    if (reorder) {
      dropEmptyGroups();
      arrange();
      reorder = false;
    }
    dirty.forEach(draw);
    dirty.clear();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  // The tiles the page came with.
  for (const el of board.querySelectorAll("article.tile")) {
    const data = {
      engine: el.dataset.engine,
      id: el.dataset.id,
      name: el.dataset.name,
      project: el.dataset.project,
      state: el.dataset.state,
      problem: el.dataset.problem,
      started: number(el.dataset.started),
      finished: number(el.dataset.finished),
    };
    tiles.set(keyOf(data.engine, data.id), { el: el, data: data, cpu: [], mem: [] });
  }

  // --- the connection ----------------------------------------------------------------------

  function show(state, text) {
    linkState.className = "link-state " + state;
    linkState.textContent = text;
  }

  // The alert's lines, one a paragraph; none hides it.
  function alertWith() {
    const lines = Array.from(arguments).filter(Boolean);
    alertBox.replaceChildren.apply(alertBox, lines.map(function (text) {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }));
    alertBox.hidden = lines.length === 0;
  }

  function showEngine() {
    body.classList.toggle("engine-down", down.size > 0);
    tiles.forEach(function (record) {
      record.el.classList.toggle("stale", down.has(record.data.engine));
    });
    if (engineList) {
      for (const li of engineList.querySelectorAll("li")) {
        const isDown = down.has(li.dataset.engine);
        li.className = isDown ? "down" : "up";
        li.title = isDown ? down.get(li.dataset.engine) : "";
      }
    }
    if (down.size) {
      show("bad", several ? down.size + " of " + engineTitles.size + " engines unavailable" : "engine unavailable");
    } else {
      show("ok", "live");
    }
    alertWith.apply(null, [standing].concat(Array.from(down.values())));
  }

  function engineDownNotice(engine, why) {
    const where = several ? "Engine " + (engineTitles.get(engine) || engine) : "The Docker Engine";
    return where + " is unavailable: " + (why || "reconnecting…");
  }

  function notice(data) {
    if (data.state === "revoked") {
      end(data.notice);
    } else if (data.kind === "engine") {
      if (data.state === "down") down.set(data.engine, engineDownNotice(data.engine, data.notice));
      else down.delete(data.engine);
      showEngine();
    } else if (data.error) {
      alertWith(data.error);
    }
  }

  function apply(item) {
    if (item.kind === "tile") applyTile(item);
    else if (item.kind === "stats") applyStats(item);
    else if (item.kind === "remove") removeTile(keyOf(item.engine, item.id));
    else if (item.kind === "board") {
      keepOnly(item.engine, item.ids);
      // The engine's whole board was just read from it: it answers.
      if (down.delete(item.engine)) showEngine();
    }
  }

  // The screen's link was revoked or replaced: it shows nothing of the team's any more.
  function end(text) {
    ended = true;
    clearTimeout(retryTimer);
    tiles.forEach(function (r) { r.el.remove(); });
    tiles.clear();
    dirty.clear();
    dropEmptyGroups();
    body.classList.add("ended");
    show("bad", "not valid");
    alertWith(text || "This screen's link was revoked or replaced: ask for a new one.");
    empty.hidden = true;
    if (socket) socket.close();
  }

  function countdown() {
    if (ended || socket) return;
    const left = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    show("bad", "disconnected · retrying in " + left + " s");
  }

  function reconnectLater() {
    retries += 1;
    const base = Math.min(MAX_DELAY, Math.pow(2, retries - 1));
    const delay = base * (0.8 + Math.random() * 0.4);
    retryAt = Date.now() + delay * 1000;
    body.classList.add("disconnected");
    alertWith("Disconnected from Berth: the tiles show what was last known. Reconnecting by itself.");
    countdown();
    retryTimer = setTimeout(connect, delay * 1000);
  }

  function connect() {
    if (ended) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/screen/");
    socket = ws;
    show("wait", "connecting…");
    ws.onopen = function () {
      retries = 0;
      body.classList.remove("disconnected");
      showEngine();
    };
    ws.onmessage = function (message) {
      const data = JSON.parse(message.data);
      if (data.lines) {
        data.lines.forEach(apply);
        schedule();
        if (data.skipped) ws.send(JSON.stringify({ reload: true }));
        ws.send(JSON.stringify({ ack: 1 }));
      } else {
        notice(data);
      }
    };
    ws.onclose = function (event) {
      if (socket === ws) socket = null;
      if (ended) return;
      if (event.code === 4403) {
        end();
        return;
      }
      reconnectLater();
    };
  }

  // Uptimes count on by themselves; the clock tells at a glance that the page is alive.
  function tick() {
    const now = new Date();
    clock.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    clock.dateTime = now.toISOString();
    countdown();
  }

  function refreshUptimes() {
    tiles.forEach(function (record) {
      const out = record.el.querySelector(".uptime");
      const text = uptime(record.data);
      if (out.textContent !== text) out.textContent = text;
    });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(refreshUptimes, 10000);
  connect();
})();
