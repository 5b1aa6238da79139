// Live `docker stats`: a table of every running container (/stats/), or one container's
// figures with charts of the last minutes (its page). Values arrive as numbers and are
// written with textContent.
(function () {
  "use strict";

  const table = document.getElementById("stats-table");
  const single = document.getElementById("stats-one");
  const anchor = table || single;
  if (!anchor) return;
  const status = document.getElementById("stats-status");
  const WINDOW = 300; // samples charted: five minutes

  function bytes(n) {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    let value = n;
    while (value >= 1000 && i < units.length - 1) {
      value /= 1000;
      i += 1;
    }
    return (i ? value.toFixed(value < 10 ? 2 : 1) : String(value)) + units[i];
  }
  function ibytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let value = n;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i += 1;
    }
    return (i ? value.toFixed(2) : String(value)) + units[i];
  }
  function figures(s) {
    return {
      cpu: s.cpu.toFixed(2) + "%",
      mem: ibytes(s.mem) + " / " + ibytes(s.limit),
      mem_percent: s.mem_percent.toFixed(2) + "%",
      net: bytes(s.net_rx) + " / " + bytes(s.net_tx),
      blk: bytes(s.blk_read) + " / " + bytes(s.blk_write),
      pids: String(s.pids),
    };
  }

  function tableRow(sample) {
    let row = document.getElementById("s-" + sample.id);
    if (row) return row;
    const rows = document.getElementById("stats-rows");
    const empty = rows.querySelector("tr.empty");
    if (empty) empty.remove();
    row = document.createElement("tr");
    row.id = "s-" + sample.id;
    row.dataset.id = sample.id;
    const idCell = document.createElement("td");
    idCell.className = "mono";
    const link = document.createElement("a");
    link.href = (document.body.dataset.enginePrefix || "/") + "containers/" + sample.id + "/";
    link.textContent = sample.id.slice(0, 12);
    idCell.appendChild(link);
    const nameCell = document.createElement("td");
    nameCell.textContent = sample.name;
    row.append(idCell, nameCell);
    ["cpu", "mem", "mem_percent", "net", "blk", "pids"].forEach(function (field) {
      const cell = document.createElement("td");
      cell.className = "num";
      cell.dataset.f = field;
      cell.textContent = "—";
      row.appendChild(cell);
    });
    rows.appendChild(row);
    return row;
  }

  function show(sample) {
    const row = table ? tableRow(sample) : single;
    const values = figures(sample);
    row.querySelectorAll("[data-f]").forEach(function (cell) {
      cell.textContent = values[cell.dataset.f];
    });
    if (charts) charts.add(sample);
  }

  function gone(id) {
    if (table) {
      const row = document.getElementById("s-" + id);
      if (row) row.remove();
    } else {
      status.textContent = "The container is not running.";
    }
  }

  // Two small uPlot charts (CPU %, memory) of the last WINDOW samples, drawn once per frame.
  const charts = single && window.uPlot ? makeCharts() : null;
  function makeCharts() {
    const times = [];
    const cpu = [];
    const mem = [];
    const width = function () { return Math.max(300, single.clientWidth / 2 - 40); };
    // Memory ticks fall on binary steps (64 KiB, 128 MiB…), so their labels are round.
    const binary = [];
    for (let unit = 1; unit <= Math.pow(1024, 4); unit *= 1024) {
      for (let m = 1; m < 1024; m *= 2) binary.push(m * unit);
    }
    // Axis labels carry as many decimals as the step between ticks needs (at most three),
    // so no two ticks read alike and none is rounded to a value it is not at.
    function decimals(step) {
      let places = 0;
      while (places < 3 && Math.abs(Math.round(step * Math.pow(10, places)) - step * Math.pow(10, places)) > 1e-9) places += 1;
      return places;
    }
    function cpuLabels(u, ticks, axisIdx, space, incr) {
      return ticks.map(function (v) { return v.toFixed(decimals(incr)) + "%"; });
    }
    function memLabels(u, ticks, axisIdx, space, incr) {
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      const top = Math.max.apply(null, ticks.map(Math.abs).concat([1]));
      let i = 0;
      while (i < units.length - 1 && top >= Math.pow(1024, i + 1)) i += 1;
      const unit = Math.pow(1024, i);
      return ticks.map(function (v) { return (v / unit).toFixed(decimals(incr / unit)) + units[i]; });
    }
    // The axis as wide as its longest label: a fixed width cut the labels' first digits off.
    function labelSpace(u, labels, axisIdx, cycleNum) {
      const axis = u.axes[axisIdx];
      if (cycleNum > 1) return axis._size;
      const longest = (labels || []).reduce(function (a, b) { return b.length > a.length ? b : a; }, "");
      u.ctx.font = axis.font[0];
      return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / devicePixelRatio) + 4;
    }
    function chart(id, label, stroke, format, labels, values, incrs) {
      return new window.uPlot({
        width: width(), height: 160,
        series: [{}, { label: label, stroke: stroke, width: 2, value: function (u, v) { return v == null ? "—" : format(v); } }],
        axes: [{}, { values: labels, size: labelSpace, incrs: incrs }],
        scales: { x: { time: true } },
        legend: { show: true },
      }, [times, values], document.getElementById(id));
    }
    const cpuChart = chart("chart-cpu", "CPU %", "#5b9dff", function (v) { return v.toFixed(1) + "%"; }, cpuLabels, cpu);
    const memChart = chart("chart-mem", "Memory", "#3ccf7a", ibytes, memLabels, mem, binary);
    let queued = false;
    function redraw() {
      queued = false;
      cpuChart.setData([times, cpu]);
      memChart.setData([times, mem]);
    }
    window.addEventListener("resize", function () {
      cpuChart.setSize({ width: width(), height: 160 });
      memChart.setSize({ width: width(), height: 160 });
    });
    return {
      add: function (s) {
        times.push(s.time);
        cpu.push(s.cpu);
        mem.push(s.mem);
        if (times.length > WINDOW) { times.shift(); cpu.shift(); mem.shift(); }
        if (!queued) { queued = true; requestAnimationFrame(redraw); }
      },
    };
  }

  let retries = 0;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const prefix = document.body.dataset.enginePrefix || "/";
    const path = table ? anchor.dataset.socket : "/ws" + prefix + "stats/?id=" + encodeURIComponent(single.dataset.id);
    const socket = new WebSocket(scheme + location.host + path);
    socket.onopen = function () {
      retries = 0;
      status.textContent = "Live";
    };
    socket.onmessage = function (event) {
      const data = JSON.parse(event.data);
      if (data.lines) {
        data.lines.forEach(show);
        socket.send(JSON.stringify({ ack: 1 }));
      } else if (data.kind === "gone") {
        gone(data.id);
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403 || event.code === 4400 || event.code === 4404) {
        status.textContent = "Stats unavailable.";
        return;
      }
      if (event.code === 4429) {
        status.textContent = "Too many open connections for your account: close some tabs.";
        return;
      }
      retries += 1;
      status.textContent = "Connection lost; reconnecting…";
      setTimeout(connect, Math.min(1000 * retries, 5000));
    };
  }
  connect();
})();
