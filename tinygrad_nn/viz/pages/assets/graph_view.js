/* What every tinygrad_nn page shares: reading the embedded data, formatting numbers, and drawing
   a graph that Graphviz laid out (tinygrad_nn/viz/pages/layout.py) as SVG the page can restyle. */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";

  /** The page's data: the JSON in <script id="tn-data"> (or the id given), with "NaN"/"Infinity"
      back as numbers. */
  function readData(id) {
    const text = document.getElementById(id || "tn-data").textContent;
    return JSON.parse(text, function (key, value) {
      if (value === "NaN") return NaN;
      if (value === "Infinity") return Infinity;
      if (value === "-Infinity") return -Infinity;
      return value;
    });
  }

  /** A number with `digits` significant digits, written like Python's "%.{digits}g" (no -0). */
  function fmt(x, digits) {
    if (typeof x !== "number") return String(x);
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return "0";
    const exp = Math.floor(Math.log10(Math.abs(x)));
    let text;
    if (exp < -4 || exp >= digits) {
      text = x.toExponential(digits - 1).replace(/\.?0+e/, "e");
      text = text.replace(/e([+-])(\d)$/, "e$10$2");
    } else {
      text = x.toPrecision(digits);
      if (text.indexOf(".") >= 0) text = text.replace(/\.?0+$/, "");
    }
    return text;
  }

  /** A number or nested array as text: "0.5", "[0.5, 0.25]", "[[1, 2], [3, 4]]". */
  function fmtValue(v, digits) {
    if (Array.isArray(v)) return "[" + v.map(function (x) { return fmtValue(x, digits); }).join(", ") + "]";
    return fmt(v, digits);
  }

  /** The rows of a value as lines of text: a number, a vector on one line, a matrix row by row. */
  function valueRows(v, digits) {
    if (!Array.isArray(v)) return [fmt(v, digits)];
    if (v.length && Array.isArray(v[0]) && !Array.isArray(v[0][0])) {
      return v.map(function (row) { return fmtValue(row, digits); });
    }
    return [fmtValue(v, digits)];
  }

  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  /** Lines of text centred on (x, y): one <text> with a <tspan> per line; returns the tspans. */
  function lines(parent, x, y, texts, size, cls) {
    const text = el("text", { x: x, y: y, "font-size": size, "text-anchor": "middle" }, parent);
    if (cls) text.setAttribute("class", cls);
    const height = size * 1.2;
    const top = y - (texts.length - 1) * height / 2 + size * 0.35;
    return texts.map(function (line, i) {
      const span = el("tspan", { x: x, y: top + i * height }, text);
      span.textContent = line;
      return span;
    });
  }

  /**
   * Draw a laid-out graph into `container` (a .tn-graph element): clusters, then edges, then
   * nodes. hooks.node(group, name, box) draws a node's content (box = [x, y, w, h], the centre
   * and size); hooks.cluster(group, name, box) likewise for clusters. Returns the SVG and the
   * elements by name, and a zoom control (scale 1 = Graphviz's points).
   */
  function drawGraph(container, layout, hooks) {
    container.textContent = "";
    const bar = document.createElement("div");
    bar.className = "tn-zoom";
    container.appendChild(bar);
    const pad = 8;
    const svg = el("svg", { viewBox: (-pad) + " " + (-pad) + " " + (layout.width + 2 * pad) + " " +
      (layout.height + 2 * pad), role: "img" });
    container.appendChild(svg);
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "tn-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "7", markerHeight: "7", markerUnits: "userSpaceOnUse",
      orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "context-stroke" }, marker);
    const layers = { clusters: el("g", { class: "tn-clusters" }, svg),
      edges: el("g", { class: "tn-edges" }, svg), nodes: el("g", { class: "tn-nodes" }, svg),
      top: el("g", { class: "tn-top" }, svg) };
    const out = { svg: svg, layers: layers, nodes: {}, edges: [], clusters: {}, scale: 1 };
    Object.keys(layout.clusters).forEach(function (name) {
      const c = layout.clusters[name];
      const g = el("g", { class: "tn-cluster", "data-name": name }, layers.clusters);
      el("rect", { x: c[0], y: c[1], width: c[2] - c[0], height: c[3] - c[1], rx: 6,
        fill: c[7] || "#f5f5f5" }, g);
      if (hooks.cluster) hooks.cluster(g, name, c);
      else lines(g, c[4], c[5], c[6] || [], 13);
      out.clusters[name] = g;
    });
    layout.edges.forEach(function (e) {
      const g = el("g", { class: "tn-edge", "data-tail": e[0], "data-head": e[1] }, layers.edges);
      const path = el("path", { d: e[2], "marker-end": "url(#tn-arrow)" }, g);
      if (e[6]) path.style.stroke = e[6];
      if (e[3] !== null && e[5] && e[5].length) lines(g, e[3], e[4], e[5], 9, "tn-edge-label");
      out.edges.push(g);
    });
    Object.keys(layout.nodes).forEach(function (name) {
      const n = layout.nodes[name];
      const g = el("g", { class: "tn-node", "data-name": name }, layers.nodes);
      hooks.node(g, name, n);
      out.nodes[name] = g;
    });
    function setScale(scale) {
      out.scale = scale;
      svg.setAttribute("width", (layout.width + 2 * pad) * scale);
      svg.setAttribute("height", (layout.height + 2 * pad) * scale);
    }
    function button(text, title, action) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.title = title;
      b.addEventListener("click", action);
      bar.appendChild(b);
    }
    button("−", "zoom out", function () { setScale(out.scale / 1.25); });
    button("+", "zoom in", function () { setScale(out.scale * 1.25); });
    button("fit", "fit the whole graph", function () {
      const sx = container.clientWidth / (layout.width + 2 * pad);
      const sy = (container.clientHeight - 30) / (layout.height + 2 * pad);
      setScale(Math.max(0.05, Math.min(1.5, sx, sy)));
    });
    button("1:1", "actual size", function () { setScale(1); });
    setScale(1);
    /** Scroll so that the point (x, y) of the layout is in view, at the next frame (reading the
        scroll position forces a layout; once a frame is enough, however many steps ran). */
    let target = null;
    out.reveal = function (x, y) {
      if (target === null) requestAnimationFrame(function () {
        const px = (target[0] + pad) * out.scale, py = (target[1] + pad) * out.scale + bar.offsetHeight;
        target = null;
        const left = container.scrollLeft, top = container.scrollTop;
        const w = container.clientWidth, h = container.clientHeight;
        if (px < left + 40 || px > left + w - 40) container.scrollLeft = px - w / 2;
        if (py < top + 40 || py > top + h - 40) container.scrollTop = py - h / 2;
      });
      target = [x, y];
    };
    return out;
  }

  window.tnPage = { readData: readData, fmt: fmt, fmtValue: fmtValue, valueRows: valueRows,
    el: el, lines: lines, drawGraph: drawGraph };
})();
