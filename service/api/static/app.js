// paxcast page, part 2: pick a model and data, forecast through the public API, chart it, explain the model.
// Plain JavaScript, uPlot (vendored) and input.js; every request goes to this origin.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { models: [], card: null, catalog: null, upload: null, result: null, chart: null };
  const { FREQ_WORDS, parseTimestamp, step, formatTimestamp, parseLongCsv, parsePasted, parseLevels } = window.paxcastInput;
  const SHOW_SEASONS = 3;

  // ---------- the API: every 4xx detail becomes a sentence for the person ----------
  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; } // status: null when unreachable
  }

  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, options);
    } catch (exc) {
      throw new ApiError(`Could not reach the paxcast service (${exc.message}). Is it still running?`);
    }
    let body = null;
    try { body = await response.json(); } catch (exc) { body = null; }
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : null;
      throw new ApiError(detail ? capitalise(detail) + (detail.endsWith(".") ? "" : ".")
        : `The service answered ${response.status} ${response.statusText || ""}`.trim() + ".", response.status);
    }
    return body;
  }

  const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  const enc = encodeURIComponent;

  const fixed = (v, digits) => (v == null || Number.isNaN(v) ? "–" : v.toFixed(digits));
  const number = (v, digits) => v == null || Number.isNaN(v) ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits ?? (Math.abs(v) >= 100 ? 0 : 2) });

  function showFieldError(inputIds, errorId, message) {
    $(errorId).textContent = message || "";
    for (const id of inputIds) $(id).setAttribute("aria-invalid", message ? "true" : "false");
  }

  // ---------- models ----------
  async function loadModels() {
    state.models = await api("v1/models");
    const select = $("model");
    select.replaceChildren(...state.models.map((m) => {
      const option = new Option(m.status === "ready" ? `${m.name} (${FREQ_WORDS[m.freq]?.[0] ?? m.freq})` : `${m.name} (not loaded)`, m.name);
      option.disabled = m.status !== "ready";
      return option;
    }));
    const wanted = new URLSearchParams(location.search).get("model");
    const choice = state.models.find((m) => m.name === wanted && m.status === "ready")
      || state.models.find((m) => m.default && m.status === "ready") || state.models.find((m) => m.status === "ready");
    if (!choice) throw new ApiError("No model is loaded: " + state.models.map((m) => `${m.name}: ${m.status}`).join("; "));
    select.value = choice.name;
    await selectModel();
  }

  const currentModel = () => state.models.find((m) => m.name === $("model").value);

  async function selectModel() {
    const model = currentModel();
    document.body.dataset.ready = "false";
    $("forecast-button").disabled = true;
    clearResult();
    $("model-summary").textContent = `Version ${model.version}; reads ${model.window} values, forecasts up to ${model.horizon} ${FREQ_WORDS[model.freq][1]}s ahead.`;
    $("horizon").max = model.horizon;
    $("horizon").value = model.horizon;
    $("levels").disabled = !model.intervals;
    $("levels-hint").textContent = model.intervals ? "" : "This model carries no calibration, so it gives no intervals.";
    window.paxcastAccuracy.show(model, api); // in its own time: a large store must not hold up forecasting
    try {
      await Promise.all([loadCard(model.name), loadCatalog(model.name, "")]);
    } finally {
      $("forecast-button").disabled = false;
      document.body.dataset.ready = "true";
    }
  }

  // ---------- shipped series ----------
  let searchTimer = null;
  async function loadCatalog(name, query) {
    if (!query) $("series-note").textContent = "Reading the data set…";
    try {
      const catalog = await api(`v1/models/${enc(name)}/series?limit=200&q=${enc(query)}`);
      if (name !== $("model").value) return;
      state.catalog = catalog;
      const list = $("series-list");
      list.replaceChildren(...catalog.series.map((s) => new Option(s.name === s.id ? s.id : `${s.name} · ${s.id}`, s.id)));
      if (catalog.series.length) list.selectedIndex = 0;
      let note;
      if (!catalog.available) {
        note = catalog.problem ? `The data set cannot be read (${catalog.problem}).`
          : `The data set ${catalog.data_file} is not installed with this service.`;
        note += " Paste values or upload a CSV instead.";
        if (selectedSource() === "shipped") { chooseSource("paste"); state.sourceForced = true; }
      } else {
        note = `${catalog.total} series match` + (catalog.total > catalog.series.length ? `; the first ${catalog.series.length} are listed` : "") + ".";
        if (catalog.trained_on_this_file === false) note += ` ${catalog.data_file} differs from the file this version was trained on.`;
        if (state.sourceForced) { chooseSource("shipped"); state.sourceForced = false; }
      }
      $("series-note").textContent = note;
    } catch (exc) {
      $("series-note").textContent = exc.message;
    }
  }

  function chooseSource(source) {
    for (const radio of document.querySelectorAll('input[name="source"]')) radio.checked = radio.value === source;
    for (const name of ["shipped", "paste", "upload"]) $(`source-${name}`).hidden = name !== source;
  }

  const selectedSource = () => document.querySelector('input[name="source"]:checked').value;

  // The history the page shows and posts: the model's window, the last few seasons or twice the horizon,
  // whichever is longest. A planner judges a forecast against several weeks of context (Seoul: 8 weeks
  // beside its 4-week forecast, where its 28-day window alone showed one); the model reads its window only.
  const shownLength = (card) => Math.max(card.window, SHOW_SEASONS * card.season, 2 * card.horizon);

  async function gatherInput(card) {
    const source = selectedSource();
    if (source === "shipped") {
      const id = $("series-list").value;
      if (!id) throw new ApiError(state.catalog && state.catalog.available ? "Choose a series from the list first." : "This model's data set is not here: paste values or upload a CSV.");
      const s = await api(`v1/models/${enc(card.name)}/series/${enc(id)}?last=${shownLength(card)}`);
      return { id: s.id, name: s.name, start: parseTimestamp(s.start), freq: s.freq, values: s.values };
    }
    if (source === "paste") {
      try {
        const pasted = parsePasted($("paste-values").value, $("paste-start").value);
        showFieldError(["paste-values", "paste-start"], "paste-error", "");
        return { ...pasted, freq: card.freq };
      } catch (exc) {
        showFieldError(["paste-values", "paste-start"], "paste-error", exc.message);
        $("paste-values").focus();
        return null;
      }
    }
    if (!state.upload) {
      showFieldError(["upload-file"], "upload-error", $("upload-error").textContent || "choose a CSV file first");
      return null;
    }
    const s = state.upload.find((u) => u.id === $("upload-series").value);
    if (s.freq !== card.freq) {
      showFieldError(["upload-file"], "upload-error", `series '${s.id}' is ${FREQ_WORDS[s.freq][0]}; model ${card.name} forecasts ${FREQ_WORDS[card.freq][0]} series`);
      return null;
    }
    return { id: s.id, name: s.id, start: s.start, freq: s.freq, values: s.values };
  }

  // Linear interpolation over the gaps of a shipped series (the API takes finite numbers only).
  function fillGaps(values) {
    const out = values.slice();
    const known = out.map((v, i) => (v == null ? -1 : i)).filter((i) => i >= 0);
    if (!known.length) return null;
    for (let i = 0; i < out.length; i++) {
      if (out[i] != null) continue;
      const before = known.filter((k) => k < i).pop(), after = known.find((k) => k > i);
      out[i] = before === undefined ? out[after] : after === undefined ? out[before]
        : out[before] + (out[after] - out[before]) * (i - before) / (after - before);
    }
    return out;
  }

  // ---------- forecast ----------
  async function forecast(event) {
    event.preventDefault();
    const card = state.card;
    hideError();
    if (!card) {
      showError($("card-error").textContent || "The model is still loading; try again in a moment.");
      return;
    }
    const horizon = Number($("horizon").value);
    const horizonOk = Number.isInteger(horizon) && horizon >= 1 && horizon <= card.horizon;
    showFieldError(["horizon"], "horizon-error", horizonOk ? "" : `horizon must be a whole number from 1 to ${card.horizon}`);
    let levels = [];
    try {
      levels = $("levels").disabled ? [] : parseLevels($("levels").value);
      showFieldError(["levels"], "levels-error", "");
    } catch (exc) {
      showFieldError(["levels"], "levels-error", exc.message);
      return;
    }
    if (!horizonOk) return;
    const button = $("forecast-button");
    button.disabled = true;
    try {
      const input = await gatherInput(card);
      if (!input) return;
      const shown = input.values.slice(-shownLength(card));
      const offset = input.values.length - shown.length;
      const start = input.start ? step(input.start, input.freq, offset) : null;
      const history = fillGaps(shown);
      if (!history) throw new ApiError(`Series '${input.id}' has no values in its last ${shown.length} steps.`);
      const filled = shown.filter((v) => v == null).length;
      // Calendar-aware (station) models need the timestamp of the first value posted; the others use it for labels.
      const series = start ? { id: input.id, history, start: formatTimestamp(start, input.freq) } : { id: input.id, history };
      const body = { series: [series], horizon };
      if (levels.length) body.level = levels;
      const response = await api(`v1/models/${enc(card.name)}/forecast`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      state.result = { card, input: { ...input, start, shown }, levels, forecast: response.forecasts[0], version: response.model.version };
      $("notice").textContent = filled ? `${filled} missing value${filled > 1 ? "s were" : " was"} filled by linear interpolation before forecasting.` : "";
      render();
    } catch (exc) {
      if (!(exc instanceof ApiError)) console.error(exc);
      clearResult(); // a chart of an earlier request would not match what is asked now
      showError(exc instanceof ApiError ? exc.message : "The page could not draw this forecast; try again or reload the page.");
    } finally {
      button.disabled = false;
    }
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
    if (!state.result) $("chart-placeholder").textContent = "No forecast to show: " + message;
  }

  function hideError() { $("error").hidden = true; $("error").textContent = ""; }

  function clearResult() {
    state.result = null;
    if (state.chart) { state.chart.destroy(); state.chart = null; window.paxcastChart = null; }
    $("chart-placeholder").hidden = false;
    $("chart-placeholder").textContent = "Choose a series and press Forecast.";
    $("chart-caption").textContent = "";
    $("table-block").hidden = true;
    $("notice").textContent = "";
    hideError();
  }

  // Timestamps of history and forecast: dates when the data has them, step numbers otherwise.
  function axis(result) {
    const { input, forecast } = result;
    const n = input.shown.length, h = forecast.mean.length;
    if (!input.start) return { time: false, xs: [...Array(n + h).keys()].map((i) => i + 1), labels: [...Array(h).keys()].map((i) => `step ${n + i + 1}`) };
    const dates = [...Array(n + h).keys()].map((i) => step(input.start, input.freq, i));
    return { time: true, xs: dates.map((d) => d.getTime() / 1000), labels: dates.slice(n).map((d) => formatTimestamp(d, input.freq)) };
  }

  function render() {
    const result = state.result;
    const { input, forecast, levels } = result;
    const { time, xs, labels } = axis(result);
    result.labels = labels;
    const n = input.shown.length, h = forecast.mean.length;
    const pad = (values, before, after) => [...Array(before).fill(null), ...values, ...Array(after).fill(null)];
    const data = [xs, pad(input.shown, 0, h), pad(forecast.mean, n, 0)];
    const series = [
      {},
      { label: "history", stroke: "#1b1f24", width: 2, value: (u, v) => number(v) },
      { label: "forecast", stroke: "#b3261e", width: 2, value: (u, v) => number(v), points: { show: h <= 60 } },
    ];
    const bands = [];
    const sorted = levels.slice().sort((a, b) => b - a); // widest band first, so narrower ones paint over it
    sorted.forEach((level, k) => {
      const interval = forecast.intervals && forecast.intervals[String(level)];
      if (!interval) return;
      const alpha = 0.14 + 0.16 * k;
      data.push(pad(interval.lower, n, 0), pad(interval.upper, n, 0));
      const lo = data.length - 2, hi = data.length - 1;
      const edge = { stroke: `rgba(179,38,30,${alpha + 0.25})`, width: 1, value: (u, v) => number(v), points: { show: false } };
      series.push({ ...edge, label: `${level}% lower` }, { ...edge, label: `${level}% upper` });
      bands.push({ series: [hi, lo], fill: `rgba(179,38,30,${alpha})` });
    });
    const container = $("chart");
    const options = {
      width: Math.max(container.clientWidth, 280), height: window.innerWidth < 760 ? 260 : 340,
      scales: { x: { time } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      series, bands,
      axes: [{}, { size: 64, values: (u, splits) => splits.map((v) => number(v, 0)) }],
      legend: { live: true },
      cursor: { points: { size: 7 } },
    };
    if (state.chart) state.chart.destroy();
    $("chart-placeholder").hidden = true;
    state.chart = new uPlot(options, data, container);
    window.paxcastChart = state.chart; // the browser tests read the drawn data from here
    container.dataset.forecastPoints = String(h);
    container.dataset.bands = bands.length ? sorted.join(",") : "";
    const from = time ? formatTimestamp(input.start, input.freq) : "step 1";
    $("chart-caption").textContent = `${input.name}: ${n} values from ${from} (black) and the ${h}-step forecast of ${result.card.name} version ${result.version} (red)` +
      (bands.length ? ` with ${sorted.join("% and ")}% prediction intervals (shaded).` : ".");
    container.setAttribute("aria-label", $("chart-caption").textContent);
    renderTable(result);
  }

  function renderTable(result) {
    const { forecast, labels } = result;
    const levels = result.levels.filter((l) => forecast.intervals && forecast.intervals[String(l)]);
    const head = ["Timestamp", "Forecast", ...levels.flatMap((l) => [`${l}% lower`, `${l}% upper`])];
    const rows = forecast.mean.map((mean, i) => [labels[i], mean, ...levels.flatMap((l) => [forecast.intervals[String(l)].lower[i], forecast.intervals[String(l)].upper[i]])]);
    const table = $("forecast-table");
    const thead = document.createElement("thead"), tbody = document.createElement("tbody");
    const tr = document.createElement("tr");
    for (const text of head) { const th = document.createElement("th"); th.scope = "col"; th.textContent = text; tr.append(th); }
    thead.append(tr);
    for (const row of rows) {
      const r = document.createElement("tr");
      row.forEach((cell, k) => {
        const td = document.createElement(k === 0 ? "th" : "td");
        if (k === 0) td.scope = "row";
        td.textContent = k === 0 ? cell : cell.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
        r.append(td);
      });
      tbody.append(r);
    }
    table.replaceChildren(thead, tbody);
    $("table-block").hidden = false;
    result.csv = [["unique_id", "ds", "mean", ...levels.flatMap((l) => [`lo-${l}`, `hi-${l}`])].join(","),
      ...rows.map((row) => [csvField(result.input.id), ...row.map((v, k) => (k === 0 ? v : String(v)))].join(","))].join("\n") + "\n";
  }

  const csvField = (text) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

  function download() {
    const result = state.result;
    if (!result || !result.csv) return;
    const url = URL.createObjectURL(new Blob([result.csv], { type: "text/csv" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `paxcast-${result.card.name}-${result.input.id}.csv`.replace(/[^\w.-]+/g, "_");
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---------- the model card in plain words ----------
  async function loadCard(name) {
    $("card-error").hidden = true;
    $("card-facts").replaceChildren();
    state.card = null;
    try {
      const card = await api(`v1/models/${enc(name)}`);
      if (name !== $("model").value) return;
      state.card = card;
      renderCard(card);
    } catch (exc) {
      $("card-error").textContent = exc.message;
      $("card-error").hidden = false;
    }
    await Promise.all([loadBacktest(name), loadHistory(name)]);
  }

  function when(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  // A card scores validation by the metric its model was chosen with: MAPE for one series, WAPE (and MASE
  // where recorded) for global models, whose stations have zero nights where MAPE is undefined.
  function validationLine(v) {
    const pair = (name, ours, theirs, digits, unit) =>
      ours == null ? null : `${name} ${fixed(ours, digits)}${unit}` + (theirs == null ? "" : ` against ${fixed(theirs, digits)}${unit}`);
    const scores = [
      pair("MAPE", v.mape, v.baseline_mape, 2, "%"),
      pair("WAPE", v.wape, v.baseline_wape, 2, "%"),
      pair("MASE", v.mase, v.baseline_mase, 3, ""),
    ].filter((text) => text !== null);
    return scores.length ? `Inner validation: ${scores.join(", ")} for its baseline, ${v.baseline}.` : `Inner validation: no score recorded; baseline ${v.baseline}.`;
  }

  function renderCard(card) {
    const [adj, unit] = FREQ_WORDS[card.freq] || [card.freq, "step"];
    const hp = card.hyperparameters, t = card.training, v = card.validation;
    const cell = { lstm: "LSTM", gru: "GRU", peephole: "peephole LSTM" }[card.cell] || card.cell;
    const facts = [
      `${card.name}, version ${card.version}: ${/^[aeiou]/i.test(cell) || cell === "LSTM" ? "an" : "a"} ${cell} network, ${card.layers} layer${card.layers > 1 ? "s" : ""} of ${hp.hidden} units, the average of ${card.ensemble} trained member${card.ensemble > 1 ? "s" : ""}.`,
      `Reads the last ${card.window} ${adj} values (a season is ${card.season} ${unit}s) and forecasts up to ${card.horizon} ${unit}s ahead.`,
      card.transform === "log" ? "Works on the log scale, so it takes positive values only." : "Works on values scaled by their recent level.",
      `Trained ${when(card.created_at)} on ${card.data_file}: ${t.series} series, ${t.rows.toLocaleString("en-US")} rows, ${t.windows.toLocaleString("en-US")} training windows, in ${number(t.seconds, 1)} s.`,
      validationLine(v),
      card.selection.network === "on" ? "The network beat its baseline, so it is switched on." : `The network is switched off: ${card.selection.network.replace(/^off:\s*/, "")}; forecasts are the baseline's.`,
      card.intervals ? `Prediction intervals come from its out-of-sample errors: ${card.intervals.method}.` : "No interval calibration: forecasts come without intervals.",
    ];
    $("card-facts").replaceChildren(...facts.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  }

  async function loadBacktest(name) {
    const target = $("backtest");
    try {
      const backtest = await api(`v1/models/${enc(name)}/backtest`);
      const metrics = ["mape", "smape", "mase", "rmse"];
      const titles = { mape: "MAPE %", smape: "sMAPE %", mase: "MASE", rmse: "RMSE" };
      const table = document.createElement("table");
      const levels = backtest.levels.map(String);
      table.innerHTML = "<caption class='hint'></caption><thead><tr><th scope='col'>Method</th>" + metrics.map((m) => `<th scope='col'>${titles[m]}</th>`).join("") +
        levels.map((l) => `<th scope='col'>${l}% coverage</th>`).join("") + "</tr></thead><tbody></tbody>";
      table.caption.textContent = `paxcast backtest of this model's design, each method trained on the values before the split only (${backtest.splits}). ` +
        "Errors are means over the splits; lower is better. Coverage: the share of actual values inside the interval, ideally its level.";
      for (const method of backtest.methods) {
        const row = table.tBodies[0].insertRow();
        const th = document.createElement("th"); th.scope = "row"; th.textContent = method.name; row.append(th);
        for (const m of metrics) row.insertCell().textContent = fixed(method[m], 2);
        for (const l of levels) row.insertCell().textContent = method.coverage[l] == null ? "–" : `${fixed(method.coverage[l], 1)}%`;
      }
      const wrap = Object.assign(document.createElement("div"), { className: "table-wrap", tabIndex: 0 });
      wrap.append(table);
      target.replaceChildren(wrap);
    } catch (exc) {
      target.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: `${exc.message} The inner validation above compares the network with its baseline.` }));
    }
  }

  async function loadHistory(name) {
    const list = $("history-list");
    try {
      const history = await api(`v1/models/${enc(name)}/history`);
      if (name !== $("model").value) return;
      const count = history.records.length;
      $("history-summary").textContent = count ? `Registry history: ${count} event${count === 1 ? "" : "s"}, newest first` : "Registry history: none yet";
      if (!history.records.length) {
        list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "No retrain or rollback is recorded yet: this version was registered by paxcast train." }));
        return;
      }
      list.replaceChildren(...history.records.map(historyItem));
    } catch (exc) {
      $("history-summary").textContent = "Registry history";
      list.replaceChildren(Object.assign(document.createElement("li"), { className: "field-error", textContent: exc.message }));
    }
  }

  function historyItem(record) {
    const li = document.createElement("li");
    li.className = record.decision.replace(/\s+/g, "-");
    const badge = Object.assign(document.createElement("span"), { className: "badge", textContent: record.decision });
    const head = document.createElement("div");
    head.append(badge, Object.assign(document.createElement("strong"), { textContent: when(record.time) }), document.createTextNode(` · serving ${record.current ?? "?"}`));
    li.append(head);
    const lines = [];
    if (record.event === "retrain" && record.challenger && record.champion) {
      const metric = record.holdout?.metric || "mape";
      const score = (c) => (c[metric] == null ? "–" : `${fixed(c[metric], 2)}%`);
      lines.push(`Challenger ${record.challenger.version ?? "(not registered)"} scored ${metric.toUpperCase()} ${score(record.challenger)}; champion ${record.champion.version ?? "?"} ${score(record.champion)}` +
        (record.holdout ? ` on a hold-out of ${record.holdout.points} points.` : "."));
    }
    if (record.reason) lines.push(capitalise(record.reason) + (record.forced ? " (forced)" : "") + ".");
    if (record.data && record.data.file) lines.push(`Data: ${record.data.file}, ${record.data.rows ?? "?"} rows, ${record.data.series ?? "?"} series.`);
    for (const text of lines) li.append(Object.assign(document.createElement("p"), { className: "hint", textContent: text }));
    return li;
  }

  // ---------- wiring ----------
  function onUpload() {
    const file = $("upload-file").files[0];
    state.upload = null;
    const select = $("upload-series");
    select.replaceChildren();
    select.disabled = true;
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      try {
        const series = parseLongCsv(String(reader.result));
        state.upload = series;
        select.replaceChildren(...series.map((s) => new Option(`${s.id} (${s.values.length} ${FREQ_WORDS[s.freq][0]} values)`, s.id)));
        select.disabled = false;
        showFieldError(["upload-file"], "upload-error", "");
      } catch (exc) {
        showFieldError(["upload-file"], "upload-error", `${file.name}: ${exc.message}`);
      }
    };
    reader.onerror = () => showFieldError(["upload-file"], "upload-error", `${file.name}: cannot be read`);
    reader.readAsText(file);
  }

  function start() {
    $("controls").addEventListener("submit", forecast);
    $("model").addEventListener("change", () => selectModel().catch((exc) => showError(exc.message)));
    for (const radio of document.querySelectorAll('input[name="source"]')) radio.addEventListener("change", () => { state.sourceForced = false; chooseSource(radio.value); });
    $("series-search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => loadCatalog($("model").value, $("series-search").value), 200);
    });
    $("series-search").addEventListener("keydown", (e) => { if (e.key === "ArrowDown") { e.preventDefault(); $("series-list").focus(); } });
    $("upload-file").addEventListener("change", onUpload);
    $("download").addEventListener("click", download);
    new ResizeObserver(() => {
      if (state.chart) state.chart.setSize({ width: Math.max($("chart").clientWidth, 280), height: window.innerWidth < 760 ? 260 : 340 });
    }).observe($("chart-figure"));
    new ResizeObserver(() => window.paxcastAccuracy.resize()).observe($("accuracy"));
    loadModels().catch((exc) => { showError(exc.message); document.body.dataset.ready = "true"; });
  }

  if (typeof uPlot === "undefined") {
    document.addEventListener("DOMContentLoaded", () => { $("error").hidden = false; $("error").textContent = "The chart library did not load; reload the page."; });
  } else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
