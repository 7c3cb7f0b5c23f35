// paxcast page, part 1: the service's calendar and the checks of what a person types or uploads.
// The rules and words are the CLI's (`paxcast train`): "line 3: y 'abc' is not a number".
// No DOM here; app.js uses these through window.paxcastInput.
"use strict";

(() => {
  const FREQ_WORDS = { MS: ["monthly", "month"], QS: ["quarterly", "quarter"], YS: ["yearly", "year"], W: ["weekly", "week"], D: ["daily", "day"], h: ["hourly", "hour"] };
  const MONTHS = { MS: 1, QS: 3, YS: 12 };
  const FIXED_MS = { h: 3600e3, D: 86400e3, W: 7 * 86400e3 };

  // ---------- calendar: the service's frequencies, in UTC ----------
  function parseTimestamp(text) {
    const t = String(text).trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
      const [y, m, d] = t.split("-").map(Number);
      const date = new Date(Date.UTC(y, m - 1, d));
      return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d ? date : null;
    }
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) return null;
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(t);
    const date = new Date(t.replace(" ", "T") + (hasZone ? "" : "Z"));
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function step(date, freq, n = 1) {
    if (freq in MONTHS) {
      const months = date.getUTCMonth() + MONTHS[freq] * n;
      const y = date.getUTCFullYear() + Math.floor(months / 12), m = ((months % 12) + 12) % 12;
      const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      return new Date(Date.UTC(y, m, Math.min(date.getUTCDate(), last), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()));
    }
    return new Date(date.getTime() + FIXED_MS[freq] * n);
  }

  // A date at midnight, a date-time otherwise; hourly data always shows its hours.
  function formatTimestamp(date, freq) {
    const iso = date.toISOString();
    return iso.endsWith("T00:00:00.000Z") && freq !== "h" ? iso.slice(0, 10) : iso.slice(0, 19);
  }

  function inferFreq(first, second) {
    for (const freq of ["MS", "QS", "YS", "h", "D", "W"]) if (step(first, freq).getTime() === second.getTime()) return freq;
    return null;
  }

  // ---------- input parsing, with the CLI's wording: "line 3: y 'abc' is not a number" ----------
  function splitCsvLine(line) {
    const out = []; let field = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
      } else if (c === '"' && field === "") quoted = true;
      else if (c === ",") { out.push(field); field = ""; } else field += c;
    }
    out.push(field);
    return out;
  }

  function parseNumber(text) {
    const t = text.trim();
    if (t === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(t)) return null;
    return Number(t.replace(/^([+-]?)inf(inity)?$/i, "$1Infinity"));
  }

  function parseLongCsv(text) {
    const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
    while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
    if (!lines.length) throw new Error("line 1: the file is empty; expected a header with columns ds,y");
    const header = splitCsvLine(lines[0]).map((h) => h.trim());
    for (const required of ["ds", "y"]) {
      if (!header.includes(required)) throw new Error(`line 1: missing column '${required}' (header is ${header.join(",")})`);
    }
    if (lines.length < 2) throw new Error("line 2: the file has a header but no rows");
    const iId = header.indexOf("unique_id"), iDs = header.indexOf("ds"), iY = header.indexOf("y");
    const series = new Map();
    for (let n = 1; n < lines.length; n++) {
      const line = n + 1;
      if (lines[n].trim() === "") continue;
      const record = splitCsvLine(lines[n]);
      if (record.length !== header.length) throw new Error(`line ${line}: expected ${header.length} fields, got ${record.length}`);
      const id = iId >= 0 ? record[iId].trim() : "series";
      if (id === "") throw new Error(`line ${line}: unique_id is empty`);
      const when = parseTimestamp(record[iDs]);
      if (!when) throw new Error(`line ${line}: ds '${record[iDs]}' is not an ISO date`);
      const y = parseNumber(record[iY]);
      if (y === null) throw new Error(`line ${line}: y '${record[iY]}' is not a number`);
      if (!Number.isFinite(y)) throw new Error(`line ${line}: y '${record[iY]}' is not finite`);
      if (Math.abs(y) > 1e30) throw new Error(`line ${line}: y '${record[iY]}' is beyond ±1e+30, where training's float32 arithmetic overflows; rescale the series (e.g. to thousands)`);
      if (!series.has(id)) series.set(id, { id, rows: [] });
      series.get(id).rows.push({ line, when, y });
    }
    // As paxcast.training.data: the first series whose own spacing names a frequency sets the file's; a
    // series whose rows name none (a new station's single row) is read at the file's frequency.
    const list = [...series.values()];
    for (const s of list) {
      const rows = s.rows;
      for (let i = 1; i < rows.length; i++) {
        const prev = rows[i - 1].when.getTime(), now = rows[i].when.getTime();
        if (now === prev) throw new Error(`line ${rows[i].line}: duplicate ds ${formatTimestamp(rows[i].when)} in series '${s.id}'`);
        if (now < prev) throw new Error(`line ${rows[i].line}: ds ${formatTimestamp(rows[i].when)} is before the previous row's; sort by ds`);
      }
      s.ownFreq = rows.length < 2 ? null : inferFreq(rows[0].when, rows[1].when);
    }
    const first = list.find((s) => s.ownFreq);
    if (!first) {
      const rows = list[0].rows;
      if (rows.length < 2) throw new Error(`line ${rows[0].line}: series '${list[0].id}' has a single row; need a regular series`);
      throw new Error(`line ${rows[1].line}: the spacing ${formatTimestamp(rows[0].when)} -> ${formatTimestamp(rows[1].when)} in series '${list[0].id}' is not one of: monthly, quarterly, yearly, weekly, daily, hourly`);
    }
    const fileFreq = first.ownFreq;
    for (const s of list) {
      const rows = s.rows;
      if (s.ownFreq && s.ownFreq !== fileFreq) throw new Error(`line ${rows[0].line}: series '${s.id}' is ${FREQ_WORDS[s.ownFreq][0]} but series '${first.id}' (line ${first.rows[0].line}) is ${FREQ_WORDS[fileFreq][0]}; one frequency per file`);
      s.freq = fileFreq;
      for (let i = 1; i < rows.length; i++) {
        if (step(rows[i - 1].when, s.freq).getTime() !== rows[i].when.getTime()) {
          throw new Error(`line ${rows[i].line}: ds ${formatTimestamp(rows[i].when)} does not follow ${formatTimestamp(rows[i - 1].when)} at the ${FREQ_WORDS[s.freq][0]} frequency of series '${s.id}'`);
        }
      }
      s.start = rows[0].when;
      s.values = rows.map((r) => r.y);
      delete s.ownFreq;
    }
    return [...series.values()];
  }

  function parsePasted(text, startText) {
    const tokens = text.split(/[\s,;]+/).filter((t) => t !== "");
    if (!tokens.length) throw new Error("paste at least one value");
    const values = tokens.map((t, i) => {
      const v = parseNumber(t);
      if (v === null) throw new Error(`value ${i + 1}: '${t}' is not a number`);
      if (!Number.isFinite(v)) throw new Error(`value ${i + 1}: '${t}' is not finite`);
      return v;
    });
    let start = null;
    if (startText.trim() !== "") {
      start = /^\d{4}-\d{2}-\d{2}$/.test(startText.trim()) ? parseTimestamp(startText) : null;
      if (!start) throw new Error(`date '${startText.trim()}' is not an ISO date (YYYY-MM-DD)`);
    }
    return { id: "pasted", name: "pasted values", start, values };
  }

  function parseLevels(text) {
    const tokens = text.split(/[\s,;]+/).filter((t) => t !== "");
    return tokens.map((t) => {
      const v = parseNumber(t.replace(/%$/, ""));
      if (v === null || !Number.isFinite(v)) throw new Error(`level '${t}' is not a number`);
      if (v <= 0 || v >= 100) throw new Error(`level ${t} is outside (0, 100)`);
      return v;
    });
  }

  window.paxcastInput = { FREQ_WORDS, parseTimestamp, step, formatTimestamp, inferFreq, parseNumber, parseLongCsv, parsePasted, parseLevels };
})();
