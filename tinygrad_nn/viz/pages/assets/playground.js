/* The playground: a recorded training run (the snapshots embedded by
   tinygrad_nn/viz/playground.py), one snapshot at a time. The contract for tests and tools is
   window.tn: snapshots(), goto(k), state() -> {snapshot, epoch, loss, accuracy, params}. */
(function () {
  "use strict";
  const P = window.tnPage;
  const D = P.readData("tn-run");
  const S = D.snapshots;
  const N = S.length;
  const NET = D.network;
  const DATA = D.data;
  const SVGNS = "http://www.w3.org/2000/svg";
  const POSITIVE = "#1f77b4", NEGATIVE = "#d62728";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  const LAYER_COLORS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];
  const $ = function (id) { return document.getElementById(id); };
  const el = P.el;
  const fmt = P.fmt;
  let k = 0;
  let selected = 0;            // the shown sample the neurons and the hover formula use
  let timer = null;

  function className(c) { return DATA.classes ? DATA.classes[c] : String(c); }
  function color(c) { return PALETTE[c % PALETTE.length]; }
  /** The colour "#rrggbb" mixed with white: share `a` of the colour. */
  function tint(hex, a) {
    const v = [1, 3, 5].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
    return "rgb(" + v.map(function (x) { return Math.round(255 - a * (255 - x)); }).join(",") + ")";
  }

  // --- the network G(V, A) ---------------------------------------------------------------------
  const net = { svg: null, arcs: [], neurons: [], peaks: [] };

  function drawNetwork() {
    const box = $("tn-net");
    if (!NET) {
      box.textContent = "The model is not a Sequential of Linear and activation layers: no " +
        "drawing of G(V, A); the curves and the data are below.";
      return;
    }
    const layers = NET.layers;
    const widest = Math.max.apply(null, layers.map(function (layer) { return layer.size; }));
    const W = 620, top = 24, bottom = 16, H = Math.min(520, Math.max(220, widest * 34 + top + bottom));
    const xs = layers.map(function (_, l) { return 40 + l * (W - 80) / (layers.length - 1); });
    const ys = layers.map(function (layer) {
      const n = layer.size, span = H - top - bottom;
      const gap = Math.min(34, span / Math.max(1, n));
      const start = top + (span - gap * (n - 1)) / 2;
      return Array.from({ length: n }, function (_, j) { return start + j * gap; });
    });
    const svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H }, box);
    net.svg = svg;
    const arcs = el("g", {}, svg);
    for (let l = 1; l < layers.length; l++) {
      const group = [];
      for (let j = 0; j < layers[l].size; j++) {
        for (let i = 0; i < layers[l - 1].size; i++) {
          group.push(el("line", { x1: xs[l - 1], y1: ys[l - 1][i], x2: xs[l], y2: ys[l][j] }, arcs));
        }
      }
      net.arcs.push(group);
      // the largest |w| of the layer over the run: a weight that grows is drawn thicker
      let peak = 0;
      S.forEach(function (s) {
        s.params[layers[l].weight].forEach(function (row) {
          row.forEach(function (w) { if (Math.abs(w) > peak) peak = Math.abs(w); });
        });
      });
      net.peaks.push(peak || 1);
    }
    layers.forEach(function (layer, l) {
      const r = Math.max(2.5, Math.min(10, (ys[l].length > 1 ? ys[l][1] - ys[l][0] : 20) * 0.38));
      const label = l === 0 ? "input" : l === layers.length - 1 ? "output" : "hidden " + l;
      const t = el("text", { x: xs[l], y: 12, "text-anchor": "middle" }, svg);
      t.textContent = label + " (" + layer.size + ")" + (layer.phi ? " φ = " + layer.phi : "");
      const row = [];
      for (let j = 0; j < layer.size; j++) {
        const c = el("circle", { cx: xs[l], cy: ys[l][j], r: r, class: "tn-neuron",
          "data-layer": l, "data-neuron": j }, svg);
        c.addEventListener("mouseenter", function (ev) { showTip(ev, l, j); });
        c.addEventListener("mousemove", moveTip);
        c.addEventListener("mouseleave", hideTip);
        row.push(c);
      }
      net.neurons.push(row);
    });
  }

  /** out x^l for the selected sample: the inputs, or the engine's outputs at this snapshot. */
  function layerOut(s, l) {
    if (l === 0) return DATA.shown.x[selected];
    return s.outputs ? s.outputs[l - 1][selected] : null;
  }

  function renderNetwork(s) {
    if (!NET) return;
    const layers = NET.layers;
    for (let l = 1; l < layers.length; l++) {
      const W = s.params[layers[l].weight];
      const peak = net.peaks[l - 1];
      const arcs = net.arcs[l - 1];
      const many = arcs.length > 400;
      let a = 0;
      for (let j = 0; j < layers[l].size; j++) {
        for (let i = 0; i < layers[l - 1].size; i++) {
          const w = W[j][i], rel = Math.min(1, Math.abs(w) / peak);
          const line = arcs[a++];
          line.setAttribute("stroke", w >= 0 ? POSITIVE : NEGATIVE);
          line.setAttribute("stroke-width", (0.2 + (many ? 2.2 : 4) * rel).toFixed(2));
          line.setAttribute("stroke-opacity", (0.12 + 0.88 * rel).toFixed(2));
        }
      }
    }
    layers.forEach(function (layer, l) {
      const out = DATA.shown.x.length ? layerOut(s, l) : null;
      let lo = Infinity, hi = -Infinity;
      if (out) out.forEach(function (v) { if (v < lo) lo = v; if (v > hi) hi = v; });
      net.neurons[l].forEach(function (c, j) {
        let shade = 0.5;
        if (out && hi > lo) shade = (out[j] - lo) / (hi - lo);
        const g = Math.round(255 - 200 * shade);
        c.setAttribute("fill", out ? "rgb(" + g + "," + g + "," + g + ")" : "#eeeeee");
      });
    });
  }

  // --- hover: out = φ(Σ w·x + b) with the numbers of the selected sample ----------------------
  const tip = $("tn-tip");

  function inputName(i) {
    if (DATA.feature_names) return DATA.feature_names[i];
    if (DATA.image_side) {
      return "pixel (" + Math.floor(i / DATA.image_side) + ", " + (i % DATA.image_side) + ")";
    }
    return "x" + (i + 1);
  }

  function tipText(l, j) {
    const s = S[k];
    const sample = sampleLabel();
    if (l === 0) {
      const x = DATA.shown.x[selected];
      return "input neuron " + (j + 1) + ": " + inputName(j) + "\n" + sample + "\nx = " +
        (x ? fmt(x[j], 4) : "?");
    }
    const layer = NET.layers[l];
    const w = s.params[layer.weight][j];
    const b = layer.bias ? s.params[layer.bias][j] : 0;
    const x = layerOut(s, l - 1);
    const out = layerOut(s, l);
    let head = (l === NET.layers.length - 1 ? "output" : "hidden layer " + l) + ", neuron " + (j + 1);
    if (l === NET.layers.length - 1 && DATA.classes !== undefined) head += " (class " + className(j) + ")";
    const phi = layer.phi;
    const lines = [head, sample, phi ? "out = " + phi + "(Σ w·x + b)" : "out = Σ w·x + b"];
    if (!x) return lines.join("\n");
    const terms = w.map(function (wi, i) { return [i, wi, x[i], wi * x[i]]; });
    let net_ = b;
    terms.forEach(function (t) { net_ += t[3]; });
    const shown = terms.slice().sort(function (p, q) { return Math.abs(q[3]) - Math.abs(p[3]); })
      .slice(0, 6).sort(function (p, q) { return p[0] - q[0]; });
    const factor = function (v) { return v < 0 ? "(" + fmt(v, 3) + ")" : fmt(v, 3); };
    // w·x terms joined by their sign: "0.635·1 − 0.419·0.756 + …"
    let sum = shown.map(function (t, i) {
      const w = i === 0 ? fmt(t[1], 3) : (t[1] < 0 ? " − " + fmt(-t[1], 3) : " + " + fmt(t[1], 3));
      return w + "·" + factor(t[2]);
    }).join("");
    if (terms.length > shown.length) sum += " + … (" + (terms.length - shown.length) + " more)";
    sum += b < 0 ? " − " + fmt(-b, 3) : " + " + fmt(b, 3);
    lines.push("    = " + (phi ? phi + "(" : "") + sum + (phi ? ")" : ""));
    lines.push("    = " + (phi ? phi + "(" + fmt(net_, 5) + ")" : fmt(net_, 5)) +
      (out ? " = " + fmt(out[j], 5) : ""));
    if (terms.length > shown.length) lines.push("(the 6 largest terms w·x are written out)");
    return lines.join("\n");
  }

  function showTip(ev, l, j) {
    tip.textContent = "";
    const pre = document.createElement("div");
    pre.className = "tn-num";
    pre.textContent = tipText(l, j);
    tip.appendChild(pre);
    tip.hidden = false;
    moveTip(ev);
  }
  function moveTip(ev) {
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  }
  function hideTip() { tip.hidden = true; }

  function sampleLabel() {
    if (!DATA.shown.x.length) return "";
    const label = DATA.shown.labels ? ", label " + className(DATA.shown.labels[selected]) : "";
    return "sample: test #" + (selected + 1) + label;
  }

  // --- charts ------------------------------------------------------------------------------------
  /** A line chart: series [{points: [[x, y]], color, dash}], a marker at x. Returns update(x). */
  function chart(box, series, opts) {
    const W = 300, H = 150, L = 42, R = 8, T = 8, B = 20;
    const svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H }, box);
    const all = [];
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (Number.isFinite(p[1]) && (!opts.log || p[1] > 0)) all.push(p);
      });
    });
    if (!all.length) {
      const t = el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg);
      t.textContent = opts.empty || "not recorded";
      return function () {};
    }
    const f = opts.log ? Math.log10 : function (v) { return v; };
    let x0 = Math.min.apply(null, all.map(function (p) { return p[0]; }));
    let x1 = Math.max.apply(null, all.map(function (p) { return p[0]; }));
    let y0 = opts.y0 !== undefined ? opts.y0 : Math.min.apply(null, all.map(function (p) { return f(p[1]); }));
    let y1 = opts.y1 !== undefined ? opts.y1 : Math.max.apply(null, all.map(function (p) { return f(p[1]); }));
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    const sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    const sy = function (y) { return H - B - (f(y) - y0) / (y1 - y0) * (H - T - B); };
    el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#9e9e9e" }, svg);
    el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#9e9e9e" }, svg);
    [y0, y1].forEach(function (v, i) {
      const t = el("text", { x: L - 3, y: i ? T + 8 : H - B, "text-anchor": "end" }, svg);
      t.textContent = opts.log ? fmt(Math.pow(10, v), 2) : fmt(v, 3);
    });
    [x0, x1].forEach(function (v, i) {
      const t = el("text", { x: i ? W - R : L, y: H - 6, "text-anchor": i ? "end" : "start" }, svg);
      t.textContent = (i ? "" : "epoch ") + fmt(v, 4);
    });
    series.forEach(function (s) {
      const pts = s.points.filter(function (p) { return Number.isFinite(p[1]) && (!opts.log || p[1] > 0); });
      if (!pts.length) return;
      const d = pts.map(function (p, i) { return (i ? "L" : "M") + sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join("");
      const attrs = { d: d, fill: "none", stroke: s.color, "stroke-width": 1.5 };
      if (s.dash) attrs["stroke-dasharray"] = "4 3";
      el("path", attrs, svg);
    });
    series.filter(function (s) { return s.label; }).forEach(function (s, i, labelled) {
      const x = W - R - (labelled.length - i) * 30;
      el("line", { x1: x, y1: T + 4, x2: x + 10, y2: T + 4, stroke: s.color, "stroke-width": 2 }, svg);
      const t = el("text", { x: x + 12, y: T + 7 }, svg);
      t.textContent = s.label;
    });
    const marker = el("line", { y1: T, y2: H - B, class: "tn-marker" }, svg);
    return function (x) {
      marker.setAttribute("x1", sx(x).toFixed(1));
      marker.setAttribute("x2", sx(x).toFixed(1));
    };
  }

  function historySeries(key, color, dash) {
    const h = D.history;
    return { points: (h[key] || []).map(function (v, i) { return [h.epochs[i], v]; }), color: color, dash: dash };
  }

  const markers = [];
  function drawCharts() {
    const first = S[0];
    // the curves start at the first snapshot (before any update) and go on per epoch
    function withStart(series, value) {
      if (Number.isFinite(value)) series.points.unshift([first.epoch, value]);
      return series;
    }
    markers.push(chart($("tn-loss"), [
      withStart(historySeries("loss", "#1565c0", false), first.loss.train),
      withStart(historySeries("val_loss", "#1565c0", true), first.loss.test)], { log: true }));
    markers.push(chart($("tn-accuracy"), [
      withStart(historySeries("accuracy", "#2e7d32", false), first.accuracy.train),
      withStart(historySeries("val_accuracy", "#2e7d32", true), first.accuracy.test)],
      { y0: 0, y1: 1, empty: "the targets are not classes" }));
    const names = NET ? NET.layers.slice(1).map(function (layer) { return layer.weight; }) :
      D.params.filter(function (name) { return /weight$/.test(name); });
    markers.push(chart($("tn-grads"), names.map(function (name, l) {
      return { points: S.map(function (s) { return [s.epoch, s.grad_norms[name]]; }),
        color: LAYER_COLORS[l % LAYER_COLORS.length], label: "W" + (l + 1) };
    }), { log: true, empty: "no gradients recorded (the loader has no X and Y)" }));
    const layersWithDelta = S[0].delta ? S[0].delta.length : 0;
    markers.push(chart($("tn-delta"), Array.from({ length: layersWithDelta }, function (_, l) {
      return { points: S.map(function (s) { return [s.epoch, s.delta[l]]; }),
        color: LAYER_COLORS[l % LAYER_COLORS.length], label: "δ" + (l + 2) };
    }), { log: true, empty: "δ needs a Sequential model" }));
  }

  // --- the data: decision boundary, or test images and the confusion matrix --------------------
  const view = { canvas: null, images: [], confusion: null };

  /** A <figure> with its caption, appended to `parent`. */
  function figure(parent, caption) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.className = "tn-note";
    cap.textContent = caption;
    fig.appendChild(cap);
    parent.appendChild(fig);
    return fig;
  }

  function drawData() {
    const box = $("tn-dataset-view");
    const wrap = document.createElement("div");
    wrap.className = "tn-dataset";
    box.appendChild(wrap);
    if (DATA.kind === "plane" && DATA.grid) {
      const fig = figure(wrap, "Decision boundary at this snapshot (shade: how sure; dots: " +
        "training set, rings: test set)");
      fig.className = "tn-boundary";
      const names = DATA.feature_names || ["x1", "x2"];
      const axes = document.createElement("div");
      axes.className = "tn-note";
      axes.textContent = "horizontal: " + names[0] + ", vertical: " + names[1] + "; classes:";
      const count = DATA.classes ? DATA.classes.length : (S[0].outputs ?
        S[0].outputs[S[0].outputs.length - 1][0].length : 0);
      for (let c = 0; c < count; c++) {
        const swatch = document.createElement("span");
        swatch.className = "tn-legend-line";
        swatch.style.background = color(c);
        axes.appendChild(swatch);
        axes.appendChild(document.createTextNode(className(c)));
      }
      const canvas = document.createElement("canvas");
      canvas.width = 360; canvas.height = 360;
      canvas.id = "tn-boundary";
      fig.appendChild(canvas);
      fig.appendChild(axes);
      view.canvas = canvas;
    }
    if (DATA.kind === "image" && DATA.shown.x.length) {
      const fig = figure(wrap, "Test images: predicted / true (wrong ones in red; click one " +
        "to use it for the neurons)");
      const grid = document.createElement("div");
      grid.className = "tn-images";
      grid.id = "tn-images";
      DATA.shown.x.forEach(function (x, i) {
        const cell = document.createElement("div");
        cell.className = "tn-image";
        const canvas = document.createElement("canvas");
        const side = DATA.image_side;
        canvas.width = side; canvas.height = side;
        canvas.style.width = "48px"; canvas.style.height = "48px";
        const ctx = canvas.getContext("2d");
        const img = ctx.createImageData(side, side);
        let hi = 0;
        x.forEach(function (v) { if (v > hi) hi = v; });
        x.forEach(function (v, p) {
          const g = Math.round(255 - 255 * Math.max(0, v) / (hi || 1));
          img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = g;
          img.data[4 * p + 3] = 255;
        });
        ctx.putImageData(img, 0, 0);
        const caption = document.createElement("div");
        cell.appendChild(canvas);
        cell.appendChild(caption);
        cell.addEventListener("click", function () { selected = i; render(); });
        grid.appendChild(cell);
        view.images.push({ cell: cell, caption: caption });
      });
      fig.appendChild(grid);
    }
    if (DATA.test_labels && S[0].predictions) {
      const fig = figure(wrap, "Confusion matrix of the test set (rows: true class, columns: " +
        "predicted)");
      const table = document.createElement("table");
      table.className = "tn-table tn-confusion";
      table.id = "tn-confusion";
      fig.appendChild(table);
      view.confusion = table;
    }
  }

  function renderBoundary(s) {
    const canvas = view.canvas;
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    const G = DATA.grid, n = G.n, W = canvas.width, H = canvas.height;
    ctx.clearRect(0, 0, W, H);
    const cw = W / n, ch = H / n;
    (s.boundary || []).forEach(function (code, idx) {
      const c = Math.floor(code / 10), sure = (code % 10 + 1) / 10;
      const r = Math.floor(idx / n), col = idx % n;
      ctx.fillStyle = tint(color(c), 0.12 + 0.45 * sure);   // opaque: cells never overlap darker
      const x0 = Math.floor(col * cw), y0 = Math.floor(H - (r + 1) * ch);
      ctx.fillRect(x0, y0, Math.floor((col + 1) * cw) - x0, Math.floor(H - r * ch) - y0);
    });
    const px = function (x) { return (x - G.x0) / (G.x1 - G.x0) * W; };
    const py = function (y) { return H - (y - G.y0) / (G.y1 - G.y0) * H; };
    [["train", true], ["test", false]].forEach(function (part) {
      (DATA.points[part[0]] || []).forEach(function (p) {
        ctx.beginPath();
        ctx.arc(px(p[0]), py(p[1]), part[1] ? 2.6 : 3.4, 0, 2 * Math.PI);
        if (part[1]) {
          ctx.fillStyle = p[2] === null ? "#424242" : color(p[2]);
          ctx.fill();
          ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 0.6; ctx.stroke();
        } else {
          ctx.strokeStyle = p[2] === null ? "#424242" : color(p[2]); ctx.lineWidth = 1.6; ctx.stroke();
        }
      });
    });
  }

  function renderImages(s) {
    view.images.forEach(function (im, i) {
      const pred = s.predictions ? s.predictions[i] : null;
      const truth = DATA.shown.labels ? DATA.shown.labels[i] : null;
      im.caption.textContent = (pred === null ? "?" : className(pred)) + " / " +
        (truth === null ? "?" : className(truth));
      im.cell.classList.toggle("tn-wrong", pred !== null && truth !== null && pred !== truth);
      im.cell.classList.toggle("tn-selected", i === selected);
    });
  }

  function renderConfusion(s) {
    const table = view.confusion;
    if (!table) return;
    const labels = DATA.test_labels, pred = s.predictions;
    let C = 0;
    labels.forEach(function (c) { if (c + 1 > C) C = c + 1; });
    pred.forEach(function (c) { if (c + 1 > C) C = c + 1; });
    const m = Array.from({ length: C }, function () { return new Array(C).fill(0); });
    labels.forEach(function (c, i) { m[c][pred[i]] += 1; });
    table.textContent = "";
    const head = table.insertRow();
    head.appendChild(document.createElement("th"));
    for (let j = 0; j < C; j++) {
      const th = document.createElement("th");
      th.textContent = className(j);
      head.appendChild(th);
    }
    m.forEach(function (row, i) {
      const tr = table.insertRow();
      const th = document.createElement("th");
      th.textContent = className(i);
      tr.appendChild(th);
      const total = row.reduce(function (a, b) { return a + b; }, 0) || 1;
      row.forEach(function (count, j) {
        const td = tr.insertCell();
        td.textContent = String(count);
        const share = count / total;
        if (count) td.style.background = i === j ?
          "rgba(46, 125, 50, " + (0.15 + 0.6 * share).toFixed(2) + ")" :
          "rgba(198, 40, 40, " + (0.15 + 0.6 * share).toFixed(2) + ")";
      });
    });
  }

  // --- the snapshot --------------------------------------------------------------------------------
  function render() {
    const s = S[k];
    $("tn-slider").value = String(k);
    const pct = function (a) { return a === null || a === undefined ? "–" : (100 * a).toFixed(1) + "%"; };
    $("tn-counter").textContent = "snapshot " + (k + 1) + " of " + N + " · epoch " + s.epoch +
      " · step " + s.step + (s.lr !== null ? " · η " + fmt(s.lr, 3) : "") +
      " · loss " + fmt(s.loss.train, 4) + (s.loss.test !== null ? " (test " + fmt(s.loss.test, 4) + ")" : "") +
      " · accuracy " + pct(s.accuracy.train) + (s.accuracy.test !== null ? " (test " + pct(s.accuracy.test) + ")" : "");
    $("tn-sample").textContent = DATA.shown.x.length ? "Neurons are shaded by out for " + sampleLabel() +
      (DATA.kind === "image" ? " (click an image below to pick another)" : "") : "";
    renderNetwork(s);
    markers.forEach(function (update) { update(s.epoch); });
    renderBoundary(s);
    renderImages(s);
    renderConfusion(s);
  }

  function goto(target) {
    if (!Number.isInteger(target) || target < 0 || target >= N) {
      throw new RangeError("goto: k must be an integer in 0.." + (N - 1) + ", got " + target);
    }
    k = target;
    render();
  }

  function play() {
    if (timer !== null) { pause(); return; }
    if (k === N - 1) goto(0);
    $("tn-play").textContent = "❚❚ pause";
    timer = setInterval(function () {
      if (k >= N - 1) { pause(); return; }
      goto(k + 1);
    }, 600);
  }
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("tn-play").textContent = "▶ play";
  }

  // --- start -----------------------------------------------------------------------------------------
  $("tn-title").textContent = D.title;
  if (D.thinned) {
    const t = $("tn-thinned");
    t.hidden = false;
    t.textContent = "This page shows " + D.thinned.kept + " of the " + D.thinned.recorded +
      " recorded snapshots, evenly spaced (with the first and the last), to stay under " +
      (D.thinned.limit / 1e6).toFixed(1) + " MB.";
  }
  const slider = $("tn-slider");
  slider.max = String(N - 1);
  slider.addEventListener("input", function () { pause(); goto(Number(slider.value)); });
  $("tn-play").addEventListener("click", play);
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    if (ev.key === " ") { ev.preventDefault(); play(); }
    else if (ev.key === "ArrowRight" && ev.target !== slider) { pause(); if (k < N - 1) goto(k + 1); }
    else if (ev.key === "ArrowLeft" && ev.target !== slider) { pause(); if (k > 0) goto(k - 1); }
  });
  drawNetwork();
  drawCharts();
  drawData();
  goto(N - 1);

  window.tn = {
    /** How many snapshots the page holds. */
    snapshots: function () { return N; },
    /** Show snapshot k (0 = before training, snapshots() - 1 = the end). */
    goto: goto,
    /** What is shown: {snapshot, epoch, loss: {train, test}, accuracy: {train, test}, params}. */
    state: function () {
      const s = S[k];
      return { snapshot: k, epoch: s.epoch, step: s.step, loss: s.loss, accuracy: s.accuracy,
        params: s.params };
    },
  };
})();
