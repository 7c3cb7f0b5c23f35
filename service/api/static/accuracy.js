// paxcast page, part 3: how the chosen model did live, from the store. Live WAPE by day against seasonal naive
// with version changes marked, the series it serves worst, and one series' served forecasts over its actuals.
// Reads GET /v1/models/{name}/accuracy (by=day, by=series) and GET /v1/models/{name}/live/{series_id};
// app.js calls window.paxcastAccuracy.show(model, api) when a model is chosen.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { parseTimestamp } = window.paxcastInput;
  const enc = encodeURIComponent;
  // The window each frequency is read over: a few horizons of days for daily and hourly models, years for the
  // monthly and slower ones, whose one point a month would leave a 28-day window one point wide.
  const DAYS = { h: 14, D: 56, W: 364, MS: 1096, QS: 1827, YS: 3660 };
  const WORST = 10; // rows of the worst-series table
  const FORECASTS = 8; // newest forecasts drawn over a series' actuals: more overlap into a blur
  const PALETTE = [["#b3261e", "red"], ["#0b4f8a", "blue"], ["#7a4b00", "brown"], ["#5b2a86", "purple"], ["#1e6b34", "green"]]; // per version
  const state = { token: 0, model: null, api: null, days: 28, charts: {}, selected: null };

  const percent = (v) => (v == null ? "–" : `${(100 * v).toFixed(1)}%`);
  const fixed = (v, digits) => (v == null ? "–" : v.toFixed(digits));
  const seconds = (iso) => parseTimestamp(iso).getTime() / 1000;

  function setState(name, note) {
    $("accuracy").dataset.state = name;
    $("accuracy-note").textContent = note;
    $("accuracy-body").hidden = name !== "shown";
    if (name !== "shown") for (const key of Object.keys(state.charts)) drop(key);
  }

  function drop(key) {
    if (state.charts[key]) state.charts[key].destroy();
    delete state.charts[key];
  }

  // ---------- the model: WAPE by day and the worst series ----------
  async function show(model, api) {
    const token = ++state.token;
    Object.assign(state, { model, api, days: DAYS[model.freq] ?? 28, selected: null });
    setState("loading", `Reading the live scores of ${model.name}…`);
    const base = `v1/models/${enc(model.name)}/accuracy?days=${state.days}`;
    let byDay, worst;
    try {
      [byDay, worst] = await Promise.all([api(`${base}&by=day`), api(`${base}&by=series&limit=${WORST}`)]);
    } catch (exc) {
      if (token !== state.token) return;
      // 503: no store is open; the detail says which settings turn it on
      const reason = exc.message.charAt(0).toLowerCase() + exc.message.slice(1);
      setState(exc.status === 503 ? "off" : "error", `Live accuracy is not available: ${reason}`);
      return;
    }
    if (token !== state.token) return;
    if (!byDay.window) {
      setState("empty", `No forecast of ${model.name} has been scored yet: forecasts of series with an id and a start are logged, and scored once their actuals are posted (POST /v1/actuals).`);
      return;
    }
    const overall = byDay.overall;
    if (!overall.points) {
      setState("empty", `None of ${model.name}'s forecasts for the ${state.days} days to ${byDay.window.to} has an actual posted yet, so nothing is scored.`);
      return;
    }
    const verdict = overall.naive.wape == null ? "" : overall.wape < overall.naive.wape ? ": better than" : overall.wape > overall.naive.wape ? ": worse than" : ": the same as";
    setState("shown", `Over the ${state.days} days to ${byDay.window.to}: WAPE ${percent(overall.wape)}${verdict} seasonal naive's ${percent(overall.naive.wape)} on the same ${overall.points.toLocaleString("en-US")} forecast steps of ${overall.series} series.`);
    drawDays(byDay);
    renderWorst(worst);
    if (worst.groups.length) await selectSeries(worst.groups[0].unique_id);
  }

  // The days where a version served that no earlier day had: where a new version took over.
  function versionChanges(groups) {
    const seen = new Set(), changes = [];
    groups.forEach((g, k) => {
      const fresh = Object.keys(g.versions || {}).filter((v) => !seen.has(v));
      fresh.forEach((v) => seen.add(v));
      if (k > 0 && fresh.length) changes.push({ day: g.day, x: seconds(g.day), versions: fresh });
    });
    return changes;
  }

  // A dashed vertical line and the new version's name at each change.
  const markVersions = (changes) => ({
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx, top = u.bbox.top, bottom = top + u.bbox.height;
        ctx.save();
        ctx.strokeStyle = "#4a5560"; ctx.fillStyle = "#1b1f24"; ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.textBaseline = "alphabetic";
        for (const change of changes) {
          const x = Math.round(u.valToPos(change.x, "x", true)), label = change.versions.join(", ");
          ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
          // right of the line, or left of it where the label would run off the plot (uPlot leaves its own alignment)
          const right = x + 4 * devicePixelRatio + ctx.measureText(label).width <= u.bbox.left + u.bbox.width;
          ctx.textAlign = right ? "left" : "right";
          ctx.fillText(label, right ? x + 4 * devicePixelRatio : x - 4 * devicePixelRatio, top + 14 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  });

  function chartSize(container) {
    return { width: Math.max(container.clientWidth, 280), height: window.innerWidth < 760 ? 220 : 280 };
  }

  function drawDays(byDay) {
    const groups = byDay.groups;
    const changes = versionChanges(groups);
    const data = [groups.map((g) => seconds(g.day)), groups.map((g) => (g.wape == null ? null : 100 * g.wape)),
      groups.map((g) => (g.naive.wape == null ? null : 100 * g.naive.wape))];
    const value = (u, v) => (v == null ? "–" : `${v.toFixed(1)}%`);
    const container = $("accuracy-chart");
    drop("days");
    state.charts.days = new uPlot({
      ...chartSize(container),
      scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      series: [{}, { label: `${byDay.model} WAPE`, stroke: "#b3261e", width: 2, value, points: { show: true } },
        { label: "seasonal naive WAPE", stroke: "#4a5560", width: 2, dash: [8, 4], value, points: { show: true } }],
      axes: [{}, { size: 56, values: (u, splits) => splits.map((v) => `${v}%`) }],
      plugins: [markVersions(changes)],
    }, data, container);
    window.paxcastAccuracyChart = state.charts.days; // the browser tests read the drawn data from here
    container.dataset.versionChanges = changes.map((c) => `${c.day}:${c.versions.join("+")}`).join(" ");
    const first = Object.keys(groups[0].versions || {}).join(", ");
    const text = `Live WAPE of ${byDay.model} per day (the day forecast for), red, against seasonal naive on the same points, grey dashes; ` +
      (first ? `version ${first} serving at first` : "") + changes.map((c) => `, ${c.versions.join(", ")} from ${c.day} (dashed line)`).join("") + ".";
    $("accuracy-caption").textContent = text;
    container.setAttribute("aria-label", text);
  }

  function renderWorst(worst) {
    const table = $("worst-table");
    const head = ["Series", "MASE", "naive MASE", "WAPE", "naive WAPE", "Points"];
    table.replaceChildren();
    table.createCaption().textContent = `The ${worst.groups.length} of ${worst.groups_total} series with the highest MASE (their error over their own seasonal-naive scale). Choose one to see its forecasts.`;
    const row = table.createTHead().insertRow();
    for (const text of head) row.append(Object.assign(document.createElement("th"), { scope: "col", textContent: text }));
    const body = table.createTBody();
    for (const g of worst.groups) {
      const tr = body.insertRow();
      tr.dataset.series = g.unique_id;
      const th = Object.assign(document.createElement("th"), { scope: "row" });
      const button = Object.assign(document.createElement("button"), { type: "button", className: "link", textContent: g.unique_id });
      button.addEventListener("click", () => guardedSelect(g.unique_id));
      th.append(button);
      tr.append(th);
      for (const text of [fixed(g.mase, 3), fixed(g.naive.mase, 3), percent(g.wape), percent(g.naive.wape), g.points.toLocaleString("en-US")]) tr.insertCell().textContent = text;
    }
  }

  // ---------- one series: its served forecasts over its actuals ----------
  async function selectSeries(id) {
    const token = state.token, model = state.model;
    state.selected = id;
    for (const tr of $("worst-table").tBodies[0].rows) {
      const chosen = tr.dataset.series === id;
      tr.classList.toggle("selected", chosen);
      tr.querySelector("button").setAttribute("aria-pressed", String(chosen));
    }
    $("live-title").textContent = `Served forecasts for ${id}`;
    $("live").dataset.state = "loading";
    let live;
    try {
      live = await state.api(`v1/models/${enc(model.name)}/live/${enc(id)}?days=${state.days}&limit=${FORECASTS}`);
    } catch (exc) {
      if (token !== state.token || state.selected !== id) return;
      drop("series");
      $("live").dataset.state = "error";
      $("live-caption").textContent = exc.message;
      return;
    }
    if (token !== state.token || state.selected !== id) return;
    drawSeries(live);
  }

  function drawSeries(live) {
    const stamps = new Set(live.actuals.ds);
    for (const f of live.forecasts) for (const ds of f.ds) stamps.add(ds);
    const xs = [...stamps].map(seconds).sort((a, b) => a - b);
    if (!xs.length) {
      drop("series");
      $("live").dataset.state = "empty";
      $("live-caption").textContent = `${live.unique_id}: nothing served or posted in the window.`;
      return;
    }
    const at = new Map(xs.map((x, i) => [x, i]));
    const column = (ds, values) => {
      const out = new Array(xs.length).fill(null);
      ds.forEach((d, i) => { out[at.get(seconds(d))] = values[i]; });
      return out;
    };
    const versions = [...new Set(live.forecasts.map((f) => f.version))];
    const colour = (version) => PALETTE[versions.indexOf(version) % PALETTE.length][0];
    const colourName = (version) => PALETTE[versions.indexOf(version) % PALETTE.length][1];
    const value = (u, v) => (v == null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 1 }));
    const series = [{}, { label: "actual", stroke: "#1b1f24", width: 2.5, value, points: { show: true } }];
    const data = [xs, column(live.actuals.ds, live.actuals.y)];
    for (const f of live.forecasts) {
      series.push({ label: `from ${f.origin} (${f.version})`, stroke: colour(f.version), width: 1.5, value, points: { show: f.ds.length === 1 } });
      data.push(column(f.ds, f.mean));
    }
    const container = $("live-chart");
    drop("series");
    state.charts.series = new uPlot({
      ...chartSize(container), scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"), series,
      axes: [{}, { size: 64, values: (u, splits) => splits.map((v) => v.toLocaleString("en-US")) }],
    }, data, container);
    window.paxcastLiveChart = state.charts.series; // the browser tests read the drawn data from here
    $("live").dataset.state = "shown";
    const shown = live.forecasts.length;
    const text = `${live.unique_id}: ${live.actuals.ds.length} actuals in the window (black) and the ${shown} newest of the ${live.forecasts_total} forecasts ${live.model} served for it` +
      (versions.length ? ` (version ${versions.map((v) => `${v} ${colourName(v)}`).join(", ")})` : "") + ".";
    $("live-caption").textContent = text;
    container.setAttribute("aria-label", $("live-caption").textContent);
  }

  const guardedSelect = (id) => guarded(selectSeries)(id);

  function resize() {
    for (const [key, id] of [["days", "accuracy-chart"], ["series", "live-chart"]]) {
      if (state.charts[key]) state.charts[key].setSize(chartSize($(id)));
    }
  }

  // A fault of the page's own (not an API answer) ends as one line, never as an uncaught error.
  const guarded = (work) => (...args) => work(...args).catch((exc) => {
    console.error(exc);
    setState("error", "The page could not draw the live accuracy; reload the page.");
  });

  window.paxcastAccuracy = { show: guarded(show), resize };
})();
