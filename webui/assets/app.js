// aiflow ui: the run viewer's page. Plain JavaScript, no dependencies; every value from
// the state is put into the page as text (never as HTML).
"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const PAGE = 100;
  const main = document.getElementById("main");
  let route = null;        // the parsed hash
  let generation = 0;      // bumps on every navigation, so a late answer is dropped
  let listOffset = 0;
  let listStatus = "";
  let picked = [];         // runs ticked for a diff
  let refreshTimer = null;
  let stepItem = null;     // the item shown in the step detail

  // ---------- helpers ----------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const k of kids) add(e, k);
    return e;
  }
  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    for (const k of kids) add(e, k);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "onclick" || k === "onchange") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
  }
  function add(e, k) {
    if (k === undefined || k === null || k === false) return;
    if (Array.isArray(k)) { for (const x of k) add(e, x); return; }
    e.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function setReady(on) {
    if (on) document.body.setAttribute("data-ready", "1");
    else document.body.removeAttribute("data-ready");
  }
  async function api(path) {
    const res = await fetch(path, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      const msg = body && body.error ? body.error : res.status + " " + res.statusText;
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return body;
  }
  function usd(v) {
    v = Number(v || 0);
    if (v === 0) return "$0";
    if (v < 0.01) return "$" + v.toFixed(6);
    return "$" + v.toFixed(4);
  }
  function num(v) { return Number(v || 0).toLocaleString("en-US"); }
  function dur(msv) {
    msv = Number(msv || 0);
    if (msv < 1000) return msv + " ms";
    const s = msv / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " m " + Math.round(s - m * 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " m";
  }
  function when(t) {
    if (!t) return "";
    const d = new Date(t);
    return d.toLocaleString();
  }
  function pretty(v) { return JSON.stringify(v, null, 2); }
  function statusSpan(s) { return el("span", { class: "status s-" + s, text: s }); }
  function showError(err) {
    clear(main);
    main.appendChild(el("p", { class: "err", id: "error", text: err.message || String(err) }));
    main.appendChild(el("p", {}, el("a", { href: "#/", text: "Back to the runs" })));
    setReady(true);
  }

  // ---------- routing ----------
  function parseHash() {
    const h = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
    const p = h.split("/").filter(Boolean);
    if (p[0] === "runs" && p[1]) return { view: "run", id: p[1], step: p[2] === "steps" ? p.slice(3).join("/") : null };
    if (p[0] === "diff" && p[1] && p[2]) return { view: "diff", a: p[1], b: p[2] };
    return { view: "runs" };
  }
  function navigate(hash) {
    if (location.hash === hash) onRoute();
    else location.hash = hash;
  }
  function onRoute() {
    const prev = route;
    route = parseHash();
    generation++;
    document.body.setAttribute("data-view", route.view);
    setReady(false);
    if (route.view === "run" && prev && prev.view === "run" && prev.id === route.id && runData) {
      // same run, another step: keep the drawings, load the step
      markSelected();
      if (route.step) loadStep(generation, route.step, stepItem);
      else { const d = document.getElementById("step-detail"); if (d) clear(d); setReady(true); }
      return;
    }
    stepItem = null;
    render(generation);
  }
  function render(gen) {
    if (route.view === "runs") return renderRuns(gen);
    if (route.view === "run") return renderRun(gen);
    if (route.view === "diff") return renderDiff(gen);
  }

  // ---------- runs list ----------
  async function renderRuns(gen) {
    let data;
    try {
      const q = "/api/runs?limit=" + PAGE + "&offset=" + listOffset + (listStatus ? "&status=" + encodeURIComponent(listStatus) : "");
      data = await api(q);
    } catch (err) { if (gen === generation) showError(err); return; }
    if (gen !== generation) return;
    runData = null;
    clear(main);
    const sel = el("select", { id: "status-filter", onchange: (e) => { listStatus = e.target.value; listOffset = 0; setReady(false); render(++generation); } },
      ["", "running", "succeeded", "failed", "cancelled"].map((s) => {
        const o = el("option", { value: s, text: s || "any status" });
        if (s === listStatus) o.selected = true;
        return o;
      }));
    const diffBtn = el("button", { id: "diff-btn", text: "Diff the two ticked runs", onclick: () => {
      if (picked.length === 2) navigate("#/diff/" + encodeURIComponent(picked[0]) + "/" + encodeURIComponent(picked[1]));
    } });
    diffBtn.disabled = picked.length !== 2;
    const from = data.total ? data.offset + 1 : 0;
    const to = data.offset + data.runs.length;
    const prevBtn = el("button", { id: "prev-page", text: "‹ Newer", onclick: () => { listOffset = Math.max(0, listOffset - PAGE); setReady(false); render(++generation); } });
    prevBtn.disabled = data.offset === 0;
    const nextBtn = el("button", { id: "next-page", text: "Older ›", onclick: () => { listOffset += PAGE; setReady(false); render(++generation); } });
    nextBtn.disabled = to >= data.total;
    main.appendChild(el("h1", { text: "Runs" }));
    main.appendChild(el("div", { class: "toolbar" }, sel, diffBtn,
      el("span", { class: "pager" }, prevBtn, " ", el("span", { id: "runs-count", class: "muted", text: from + "–" + to + " of " + num(data.total) }), " ", nextBtn)));
    const tbody = el("tbody");
    for (const r of data.runs) {
      const box = el("input", { type: "checkbox", class: "pick", "aria-label": "tick for diff" });
      box.checked = picked.includes(r.id);
      box.addEventListener("click", (e) => {
        e.stopPropagation();
        picked = picked.filter((x) => x !== r.id);
        if (box.checked) picked.push(r.id);
        while (picked.length > 2) picked.shift();
        for (const b of main.querySelectorAll("input.pick")) b.checked = picked.includes(b.closest("tr").getAttribute("data-run-id"));
        diffBtn.disabled = picked.length !== 2;
      });
      const tr = el("tr", { class: "row", "data-run-id": r.id, "data-status": r.status },
        el("td", {}, box),
        el("td", { class: "id" }, el("a", { href: "#/runs/" + encodeURIComponent(r.id), text: r.id })),
        el("td", { class: "flow", title: r.flow, text: r.flow_name || r.flow }),
        el("td", { class: "status" }, statusSpan(r.status)),
        el("td", { class: "started", text: when(r.started_at) }),
        el("td", { class: "duration", text: dur(r.duration_ms) }),
        el("td", { class: "cost", text: usd(r.usd) }),
        el("td", { class: "tokens num", text: num(r.in_tokens + r.out_tokens) }));
      tr.addEventListener("click", () => navigate("#/runs/" + encodeURIComponent(r.id)));
      tbody.appendChild(tr);
    }
    const table = el("table", { id: "runs" },
      el("thead", {}, el("tr", {}, ["", "Run", "Flow", "Status", "Started", "Duration", "Cost", "Tokens"].map((h, i) => el("th", { class: i >= 5 ? "num" : null, text: h })))),
      tbody);
    main.appendChild(table);
    if (!data.runs.length) main.appendChild(el("p", { class: "muted", text: "No runs recorded in this state yet." }));
    setReady(true);
  }

  // ---------- one run ----------
  let runData = null;
  async function renderRun(gen) {
    let run, tl;
    try {
      [run, tl] = await Promise.all([api("/api/runs/" + encodeURIComponent(route.id)), api("/api/runs/" + encodeURIComponent(route.id) + "/timeline")]);
    } catch (err) { if (gen === generation) showError(err); return; }
    if (gen !== generation) return;
    runData = run;
    const keepItem = stepItem;
    clear(main);
    const r = run.run;
    main.appendChild(el("h1", {}, "Run ", el("span", { id: "run-id", text: r.id }), " ", el("span", { class: "muted", text: "of " + (r.flow_name || r.flow) })));
    main.appendChild(el("div", { class: "runhead" },
      el("span", {}, el("span", { class: "k", text: "status" }), el("span", { id: "run-status", class: "status s-" + r.status, "data-status": r.status, text: r.status })),
      el("span", {}, el("span", { class: "k", text: "cost" }), el("span", { id: "run-cost", text: usd(r.usd) })),
      el("span", {}, el("span", { class: "k", text: "tokens" }), el("span", { id: "run-tokens", text: num(r.in_tokens) + " in, " + num(r.out_tokens) + " out" })),
      el("span", {}, el("span", { class: "k", text: "duration" }), el("span", { id: "run-duration", text: dur(r.duration_ms) })),
      el("span", {}, el("span", { class: "k", text: "started" }), el("span", { text: when(r.started_at) })),
      el("span", {}, el("span", { class: "k", text: "trace" }), el("span", { id: "trace-id", text: r.trace_id || "—" }))));
    if (r.error) main.appendChild(el("pre", { id: "run-error", class: "err", text: r.error }));
    main.appendChild(el("h2", { text: "Steps" }));
    if (run.dag.note) main.appendChild(el("p", { class: "note", text: run.dag.note }));
    main.appendChild(el("div", { class: "panel" }, drawDag(run.dag.nodes)));
    main.appendChild(el("h2", { text: "Timeline" }));
    main.appendChild(el("div", { class: "legend" },
      el("span", {}, el("i", { class: "l-step" }), "step"), el("span", {}, el("i", { class: "l-item" }), "item"),
      el("span", {}, el("i", { class: "l-attempt" }), "attempt"), el("span", {}, el("i", { class: "l-retry" }), "retry back-off"),
      el("span", {}, el("i", { class: "l-wait" }), "rate-limit wait")));
    main.appendChild(el("div", { class: "panel" }, drawTimeline(tl, run)));
    if (tl.events_total > tl.events_drawn) main.appendChild(el("p", { class: "note", text: "Showing " + num(tl.events_drawn) + " of " + num(tl.events_total) + " retries and waits." }));
    main.appendChild(el("div", { class: "grid2" },
      el("div", {}, el("h2", { text: "Cost and tokens by step" }), costsTable(run.steps)),
      el("div", {}, el("h2", { text: "By model" }), modelsTable(run.models))));
    if (r.outputs && Object.keys(r.outputs).length) {
      main.appendChild(el("h2", { text: "Outputs" }));
      main.appendChild(el("pre", { id: "run-outputs", text: pretty(r.outputs) }));
    }
    main.appendChild(el("section", { id: "step-detail" }));
    markSelected();
    if (route.step) await loadStep(gen, route.step, keepItem);
    else setReady(true);
  }

  function markSelected() {
    for (const g of document.querySelectorAll("#dag g.node")) {
      g.classList.toggle("sel", !!route && g.getAttribute("data-step-id") === route.step);
    }
  }
  function goStep(id) { stepItem = null; navigate("#/runs/" + encodeURIComponent(route.id) + "/steps/" + encodeURIComponent(id)); }

  function drawDag(nodes) {
    const W = 170, H = 40, GX = 60, GY = 16, PAD = 10;
    const byLayer = new Map();
    const pos = new Map();
    for (const n of nodes) {
      if (!byLayer.has(n.layer)) byLayer.set(n.layer, []);
      const col = byLayer.get(n.layer);
      pos.set(n.id, { x: PAD + n.layer * (W + GX), y: PAD + col.length * (H + GY) });
      col.push(n);
    }
    let maxRows = 1, maxLayer = 0;
    for (const [l, col] of byLayer) { maxRows = Math.max(maxRows, col.length); maxLayer = Math.max(maxLayer, l); }
    const width = PAD * 2 + (maxLayer + 1) * (W + GX) - GX, height = PAD * 2 + maxRows * (H + GY) - GY;
    const svg = sv("svg", { id: "dag", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "step graph" });
    for (const n of nodes) {
      for (const d of n.needs) {
        const a = pos.get(d), b = pos.get(n.id);
        if (!a || !b) continue;
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
        svg.appendChild(sv("path", { class: "edge", "data-from": d, "data-to": n.id, d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 4},${y2}` }));
        svg.appendChild(sv("path", { class: "edge-arrow", d: `M${x2 - 9},${y2 - 4} L${x2 - 2},${y2} L${x2 - 9},${y2 + 4}` }));
      }
    }
    for (const n of nodes) {
      const p = pos.get(n.id);
      const label = n.id.length > 22 ? n.id.slice(0, 21) + "…" : n.id;
      const sub = (n.kind || "") + " · " + n.state + (n.items ? " · " + num(n.items) + " items" : "");
      const g = sv("g", { class: "node", "data-step-id": n.id, "data-state": n.state, "data-items": n.items ? n.items : null, transform: `translate(${p.x},${p.y})`, tabindex: "0" },
        sv("title", { text: n.id + " (" + sub + ")" }),
        sv("rect", { class: "st-" + n.state, width: W, height: H, rx: 6 }),
        sv("text", { x: 8, y: 16, text: label }),
        sv("text", { class: "sub", x: 8, y: 32, text: sub.length > 30 ? sub.slice(0, 29) + "…" : sub }));
      g.addEventListener("click", () => goStep(n.id));
      g.addEventListener("keydown", (e) => { if (e.key === "Enter") goStep(n.id); });
      svg.appendChild(g);
    }
    return svg;
  }

  function drawTimeline(tl, run) {
    const LABEL = 170, WIDTH = 900, STEP_H = 14, LANE_H = 6, MAX_LANES = 16, PAD = 6, AXIS = 18, DENS_H = 18;
    const density = tl.density || {};
    const total = Math.max(tl.duration_ms, 1);
    const x = (t) => LABEL + (Math.min(t, total) / total) * WIDTH;
    const w = (a, b) => Math.max(x(b) - x(a), 1);
    const steps = tl.bars.filter((b) => b.kind === "step");
    const byStep = new Map();
    for (const b of tl.bars) {
      if (b.kind === "step") continue;
      if (!byStep.has(b.step_id)) byStep.set(b.step_id, []);
      byStep.get(b.step_id).push(b);
    }
    const rows = [];
    let y = AXIS;
    for (const s of steps) {
      const bars = byStep.get(s.step_id) || [];
      // items packed into lanes by time, so concurrent items sit side by side
      const lanes = [], laneOf = new Map();
      for (const b of bars.filter((b) => b.kind === "item").sort((a, c) => a.start - c.start)) {
        let l = lanes.findIndex((end) => end <= b.start);
        if (l < 0) { l = lanes.length < MAX_LANES ? lanes.length : b.item % MAX_LANES; if (l === lanes.length) lanes.push(0); }
        lanes[l] = Math.max(lanes[l] || 0, b.end);
        laneOf.set(b.item, l);
      }
      const nl = bars.some((b) => b.item >= 0) ? Math.max(lanes.length, 1) : 0;
      const dens = density[s.step_id] || null;
      rows.push({ s, bars, laneOf, nl, y, dens });
      y += STEP_H + nl * LANE_H + (dens ? DENS_H + 2 : 0) + PAD;
    }
    const height = y + 4;
    const svg = sv("svg", { id: "timeline", width: LABEL + WIDTH + 10, height: height, viewBox: `0 0 ${LABEL + WIDTH + 10} ${height}`, role: "img", "aria-label": "timeline" });
    for (let i = 0; i <= 5; i++) {
      const t = (total * i) / 5, tx = x(t);
      svg.appendChild(sv("line", { class: "axis", x1: tx, x2: tx, y1: AXIS - 4, y2: height }));
      svg.appendChild(sv("text", { class: "tick", x: tx, y: 11, "text-anchor": i === 0 ? "start" : i === 5 ? "end" : "middle", text: dur(Math.round(t)) }));
    }
    const drawnItems = tl.items_drawn || {};
    for (const row of rows) {
      const s = row.s;
      const idLabel = s.step_id.length > 24 ? s.step_id.slice(0, 23) + "…" : s.step_id;
      let label = s.step_id;
      if (s.items) label += ": " + num(s.items) + " items" + (drawnItems[s.step_id] < s.items ? ", the first " + num(drawnItems[s.step_id]) + " drawn" : "");
      svg.appendChild(sv("text", { class: "steplabel", x: 4, y: row.y + 11, text: idLabel }, sv("title", { text: label })));
      if (s.items) svg.appendChild(sv("text", { class: "tick itemcount", x: 4, y: row.y + 11 + 13, text: num(s.items) + " items" + (drawnItems[s.step_id] < s.items ? " (" + num(drawnItems[s.step_id]) + " drawn)" : "") }));
      const sb = sv("rect", { class: "bar k-step b-" + s.status, "data-kind": "step", "data-step-id": s.step_id, "data-items": s.items ? s.items : null,
        x: x(s.start), y: row.y, width: w(s.start, s.end), height: STEP_H - 2 }, sv("title", { text: s.step_id + ": " + s.status + ", " + dur(s.end - s.start) + (s.items ? ", " + num(s.items) + " items" : "") }));
      sb.addEventListener("click", () => goStep(s.step_id));
      svg.appendChild(sb);
      if (row.dens && row.dens.finished.length) {
        // a step with more items than are drawn: how many finished in each span of its time
        const d = row.dens, n = d.finished.length, top = row.y + STEP_H + row.nl * LANE_H + 2;
        const peak = Math.max(1, ...d.finished), span = (d.end - d.start) / n;
        const g = sv("g", { class: "density", "data-step-id": s.step_id, "data-items": s.items });
        g.appendChild(sv("title", { text: s.step_id + ": items finished over time (" + num(s.items) + " in all, up to " + num(peak) + " per " + dur(Math.round(span)) + ")" }));
        for (let i = 0; i < n; i++) {
          if (!d.finished[i]) continue;
          const hgt = Math.max(1, (d.finished[i] / peak) * DENS_H);
          const t0 = d.start + i * span;
          g.appendChild(sv("rect", { class: "dens", x: x(t0), y: top + DENS_H - hgt, width: w(t0, t0 + span), height: hgt }));
        }
        svg.appendChild(g);
      }
      const order = { item: 0, attempt: 1, retry: 2, "rate-wait": 3 };
      for (const b of row.bars.slice().sort((a, c) => order[a.kind] - order[c.kind])) {
        let by;
        if (b.item < 0) by = row.y + 2;
        else {
          const l = row.laneOf.has(b.item) ? row.laneOf.get(b.item) : b.item % Math.max(row.nl, 1);
          by = row.y + STEP_H + l * LANE_H;
        }
        const hgt = b.item < 0 ? STEP_H - 6 : LANE_H - 1;
        let tip = s.step_id + (b.item >= 0 ? "[" + b.item + "]" : "") + " " + b.kind;
        if (b.attempt) tip += " " + b.attempt;
        tip += ": " + dur(b.end - b.start);
        if (b.status) tip += ", " + b.status;
        if (b.class) tip += ", " + b.class;
        if (b.error) tip += "\n" + b.error;
        const r = sv("rect", { class: "bar k-" + b.kind + (b.status ? " b-" + b.status : ""), "data-kind": b.kind, "data-step-id": s.step_id, "data-item": b.item,
          "data-attempt": b.attempt || null, x: x(b.start), y: by, width: w(b.start, b.end), height: hgt }, sv("title", { text: tip }));
        r.addEventListener("click", () => {
          stepItem = b.item >= 0 ? b.item : null;
          if (route.step === s.step_id) loadStep(generation, s.step_id, stepItem);
          else navigate("#/runs/" + encodeURIComponent(route.id) + "/steps/" + encodeURIComponent(s.step_id));
        });
        svg.appendChild(r);
      }
    }
    if (!steps.length) svg.appendChild(sv("text", { x: 4, y: AXIS + 12, class: "tick", text: "No step has started yet." }));
    return svg;
  }

  function costsTable(steps) {
    const tbody = el("tbody");
    for (const s of steps) {
      tbody.appendChild(el("tr", { "data-step-id": s.id, class: "row" },
        el("td", { class: "step" }, el("a", { href: "#/runs/" + encodeURIComponent(route.id) + "/steps/" + encodeURIComponent(s.id), text: s.id })),
        el("td", { class: "status" }, statusSpan(s.status)),
        el("td", { class: "items", text: s.items ? num(s.items) : "" }),
        el("td", { class: "model", text: s.model || "" }),
        el("td", { class: "usd", text: usd(s.usd) }),
        el("td", { class: "in-tokens", text: num(s.in_tokens) }),
        el("td", { class: "out-tokens", text: num(s.out_tokens) }),
        el("td", { class: "duration", text: s.duration_ms ? dur(s.duration_ms) : "" })));
    }
    return el("table", { id: "costs" }, el("thead", {}, el("tr", {}, ["Step", "Status", "Items", "Model", "USD", "In tokens", "Out tokens", "Time"].map((h, i) => el("th", { class: i >= 4 || i === 2 ? "num" : null, text: h })))), tbody);
  }
  function modelsTable(models) {
    const tbody = el("tbody");
    for (const m of models) {
      tbody.appendChild(el("tr", { "data-model": m.model },
        el("td", { class: "model", text: m.model }),
        el("td", { class: "calls", text: num(m.calls) }),
        el("td", { class: "usd", text: usd(m.usd) }),
        el("td", { class: "in-tokens", text: num(m.in_tokens) }),
        el("td", { class: "out-tokens", text: num(m.out_tokens) })));
    }
    const t = el("table", { id: "models" }, el("thead", {}, el("tr", {}, ["Model", "Records", "USD", "In tokens", "Out tokens"].map((h, i) => el("th", { class: i ? "num" : null, text: h })))), tbody);
    return models.length ? t : [t, el("p", { class: "muted", text: "No model calls recorded." })];
  }

  // ---------- step detail ----------
  async function loadStep(gen, stepID, item) {
    const sec = document.getElementById("step-detail");
    if (!sec) return;
    setReady(false);
    let d;
    try {
      d = await api("/api/runs/" + encodeURIComponent(route.id) + "/steps/" + encodeURIComponent(stepID) + (item !== null && item !== undefined ? "?item=" + item : ""));
    } catch (err) {
      if (gen !== generation) return;
      clear(sec);
      sec.setAttribute("data-step-id", stepID);
      sec.appendChild(el("p", { class: "err", "data-field": "error", text: err.message }));
      setReady(true);
      return;
    }
    if (gen !== generation) return;
    stepItem = d.items ? d.item : null;
    clear(sec);
    sec.setAttribute("data-step-id", stepID);
    sec.setAttribute("data-item", d.item);
    const head = el("h2", {}, "Step ", el("span", { text: stepID }), d.kind ? el("span", { class: "muted", text: " (" + d.kind + ")" }) : null);
    sec.appendChild(head);
    if (d.items) {
      const sel = el("select", { id: "item", "aria-label": "item" });
      if (d.has_whole) sel.appendChild(el("option", { value: "-1", text: "all " + num(d.items) + " items (whole step)" }));
      for (const i of d.item_ids) sel.appendChild(el("option", { value: String(i), text: "item " + i }));
      sel.value = String(d.item);
      sel.addEventListener("change", () => loadStep(generation, stepID, Number(sel.value)));
      sec.appendChild(el("div", { class: "toolbar" }, el("label", { for: "item", text: "Item " }), sel,
        d.item_ids.length < d.items ? el("span", { class: "muted", text: "(first " + num(d.item_ids.length) + " listed)" }) : null));
    }
    const facts = el("dl", { class: "facts" });
    const fact = (k, v) => { if (v !== undefined && v !== null && v !== "") { facts.appendChild(el("dt", { text: k })); facts.appendChild(el("dd", { "data-fact": k, text: v })); } };
    fact("status", d.status);
    fact("reason", d.reason);
    fact("model", d.model);
    fact("provider", d.provider);
    fact("attempts", d.attempts ? String(d.attempts) : "");
    fact("cost", usd(d.usd));
    fact("tokens", num(d.in_tokens) + " in, " + num(d.out_tokens) + " out");
    if (d.started_at) fact("time", dur((d.finished_at || Date.now()) - d.started_at) + " from " + when(d.started_at));
    if (d.meta) for (const [k, v] of Object.entries(d.meta)) fact(k, v);
    sec.appendChild(facts);
    sec.appendChild(el("h3", { text: "Error" }));
    sec.appendChild(el("div", { "data-field": "error", class: d.error ? null : "none", text: d.error || "none" }));
    if (d.events && d.events.length) {
      sec.appendChild(el("h3", { text: "Retries and waits" }));
      sec.appendChild(el("ul", { id: "step-events" }, d.events.map((e) =>
        el("li", { "data-kind": e.kind, text: e.kind + (e.attempt ? " after attempt " + e.attempt : "") + ": waited " + dur(e.wait_ms) + (e.class ? " (" + e.class + ")" : "") + (e.error ? " — " + e.error : "") }))));
    }
    sec.appendChild(el("h3", { text: "Output" }));
    const outBlobs = [];
    collectBlobs(d.output, outBlobs);
    if (outBlobs.length) sec.appendChild(blobGallery(outBlobs, "output-blobs"));
    let outText = d.output === null || d.output === undefined ? (d.output_text || "") : pretty(d.output);
    if (d.output_truncated) outText += "\n… (" + num(d.output_bytes) + " bytes in all; pick an item to see one)";
    sec.appendChild(el("pre", { "data-field": "output", text: outText || "(none)" }));
    sec.appendChild(el("h3", { text: "Inputs" }));
    const inBlobs = [];
    collectBlobs(d.inputs, inBlobs);
    if (inBlobs.length) sec.appendChild(blobGallery(inBlobs, "input-blobs"));
    sec.appendChild(el("pre", { "data-field": "inputs", text: pretty(d.inputs || {}) }));
    if (d.turns && d.turns.length) {
      sec.appendChild(el("h3", { text: "Agent turns" }));
      const ol = el("ol", { id: "turns" });
      for (const t of d.turns) {
        const li = el("li", { "data-role": t.role, "data-tool": t.tool_name || null },
          el("span", { class: "role", text: t.role }),
          t.tool_name ? el("span", { class: "tool", text: (t.role === "tool" ? "result of " : "calls ") + t.tool_name }) : null,
          t.usd ? el("span", { class: "muted", text: " " + usd(t.usd) }) : null);
        if (t.arguments !== undefined && t.arguments !== null) li.appendChild(el("pre", { class: "args", text: pretty(t.arguments) }));
        if (t.content) li.appendChild(el("pre", { class: "content", text: t.content }));
        ol.appendChild(li);
      }
      sec.appendChild(ol);
    }
    setReady(true);
  }
  function collectBlobs(v, out) {
    if (!v || typeof v !== "object") return;
    if (Array.isArray(v)) { for (const x of v) { if (out.length >= 50) return; collectBlobs(x, out); } return; }
    if (v.type === "blob" && typeof v.sha256 === "string" && typeof v.url === "string") { out.push(v); return; }
    for (const k of Object.keys(v)) { if (out.length >= 50) return; collectBlobs(v[k], out); }
  }
  function blobGallery(blobs, id) {
    const box = el("div", { class: "blobs", id: id });
    for (const b of blobs) {
      const src = "/api/blobs/" + encodeURIComponent(b.sha256) + "?type=" + encodeURIComponent(b.media_type || "");
      const mt = String(b.media_type || "");
      let e;
      if (mt.startsWith("image/")) e = el("img", { "data-blob": b.sha256, src: src, alt: mt + " " + b.sha256.slice(0, 12), loading: "lazy" });
      else if (mt.startsWith("audio/")) e = el("audio", { controls: "", "data-blob": b.sha256, src: src, preload: "metadata" });
      else if (mt.startsWith("video/")) e = el("video", { controls: "", "data-blob": b.sha256, src: src, preload: "metadata" });
      else e = el("a", { "data-blob": b.sha256, href: src, text: mt + ", " + num(b.size) + " bytes" });
      box.appendChild(el("figure", {}, e, el("figcaption", { class: "muted", text: mt + " · " + num(b.size) + " B" })));
    }
    return box;
  }

  // ---------- diff ----------
  async function renderDiff(gen) {
    let d;
    try { d = await api("/api/diff?a=" + encodeURIComponent(route.a) + "&b=" + encodeURIComponent(route.b)); }
    catch (err) { if (gen === generation) showError(err); return; }
    if (gen !== generation) return;
    runData = null;
    clear(main);
    main.appendChild(el("h1", {}, "Diff ", el("a", { href: "#/runs/" + encodeURIComponent(d.a.id), text: d.a.id }), " (A) → ",
      el("a", { href: "#/runs/" + encodeURIComponent(d.b.id), text: d.b.id }), " (B)"));
    const tbody = el("tbody");
    for (const s of d.steps) {
      const a = s.a || {}, b = s.b || {};
      tbody.appendChild(el("tr", { "data-step-id": s.id, "data-change": s.change },
        el("td", { class: "step", text: s.id }),
        el("td", { class: "change", text: s.change }),
        el("td", { class: "status-a" }, a.status ? statusSpan(a.status) : "—"),
        el("td", { class: "status-b" }, b.status ? statusSpan(b.status) : "—"),
        el("td", { class: "usd", text: (s.a ? usd(a.usd) : "—") + " → " + (s.b ? usd(b.usd) : "—") }),
        el("td", { class: "duration", text: (s.a ? dur(a.latency_ms) : "—") + " → " + (s.b ? dur(b.latency_ms) : "—") }),
        el("td", { class: "details" }, s.changes.filter((c) => c.field !== "step").map((c) => el("div", { "data-field": c.field, text: c.field + ": " + short(c.a) + " → " + short(c.b) + (c.note ? " (" + c.note + ")" : "") })))));
    }
    main.appendChild(el("table", { id: "diff" }, el("thead", {}, el("tr", {}, ["Step", "Change", "A", "B", "Cost", "Time", "What changed"].map((h) => el("th", { text: h })))), tbody));
    const other = d.changes.filter((c) => !c.scope.startsWith("steps."));
    if (other.length) {
      main.appendChild(el("h2", { text: "Run, vars and outputs" }));
      main.appendChild(el("table", { id: "diff-run" }, el("tbody", {}, other.map((c) => el("tr", { "data-scope": c.scope, "data-field": c.field },
        el("td", { text: c.scope }), el("td", { text: c.field }), el("td", { class: "details", text: short(c.a) + " → " + short(c.b) + (c.note ? " (" + c.note + ")" : "") }))))));
    }
    setReady(true);
  }
  function short(v) {
    if (v === null || v === undefined) return "(none)";
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return s.length > 200 ? s.slice(0, 199) + "…" : s;
  }

  // ---------- live updates ----------
  function scheduleRefresh(ms) {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      const gen = ++generation;
      setReady(false);
      render(gen);
    }, ms);
  }
  function connect() {
    if (!window.EventSource) return;
    const live = document.getElementById("live");
    const es = new EventSource("/api/events");
    es.addEventListener("open", () => live && live.classList.add("on"));
    es.addEventListener("error", () => live && live.classList.remove("on"));
    es.addEventListener("run", (ev) => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      if (!route) return;
      if (route.view === "runs") scheduleRefresh(400);
      else if (route.view === "run" && d.id === route.id) scheduleRefresh(300);
    });
    es.addEventListener("runs", () => { if (route && route.view === "runs") scheduleRefresh(400); });
  }

  window.addEventListener("hashchange", onRoute);
  onRoute();
  connect();
})();
