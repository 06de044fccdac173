/* The backprop stepper: plays the engine's backward pass (the steps embedded by
   tinygrad_nn/viz/stepper.py) one node at a time. The contract for tests and tools is window.tn:
   count(), goto(k), step(), back(), state() -> {step, node, grads}. */
(function () {
  "use strict";
  const P = window.tnPage;
  const D = P.readData();
  const steps = D.steps;
  const N = steps.length;
  const nodes = {};
  D.nodes.forEach(function (n) { nodes[n.id] = n; });
  const clusters = {};
  D.clusters.forEach(function (c) { clusters[c.id] = c; });
  const views = {};
  D.views.forEach(function (v) { views[v.id] = v; });
  const PANEL_DIGITS = 6;
  const GRAPH_DIGITS = 4;

  // --- what the steps imply: when each gradient is final, who contributed to it -----------------
  const finalAt = {};          // node id -> the step k at which its gradient is final
  const received = {};         // node id -> [{from, k, value, local}] in the order they arrived
  steps.forEach(function (s, i) {
    finalAt[s.node] = i + 1;
    s.edges.forEach(function (e) {
      (received[e.parent] = received[e.parent] || []).push(
        { from: s.node, k: i + 1, value: e.contribution, local: e.local });
    });
  });
  const members = {};          // cluster id -> every node id inside it (sub-clusters too)
  D.nodes.forEach(function (n) {
    let c = n.cluster;
    while (c) {
      (members[c] = members[c] || []).push(n.id);
      c = clusters[c].parent;
    }
  });
  const finals = {};           // cluster id -> the sorted steps at which its members are final
  Object.keys(members).forEach(function (c) {
    finals[c] = members[c].filter(function (id) { return finalAt[id] !== undefined; })
      .map(function (id) { return finalAt[id]; }).sort(function (a, b) { return a - b; });
  });
  /** How many members of cluster `c` have a final gradient after k steps, and of how many. */
  function progress(c) {
    const list = finals[c] || [];
    let lo = 0, hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid] <= k) lo = mid + 1; else hi = mid; }
    return [lo, list.length];
  }
  const homeView = {};         // node id -> the view that draws it in full
  D.views.forEach(function (v) { v.nodes.forEach(function (id) { homeView[id] = v.id; }); });

  // --- the model: the gradients after k steps ---------------------------------------------------
  let k = 0;
  const grads = new Map();     // node id -> ∂E/∂node so far (pending) or final
  const undo = [];

  function apply() {
    const s = steps[k];
    const before = [[s.node, grads.get(s.node)]];
    grads.set(s.node, s.g);
    s.edges.forEach(function (e) {
      before.push([e.parent, grads.get(e.parent)]);
      grads.set(e.parent, e.total);
    });
    undo.push(before);
    k += 1;
  }

  function unapply() {
    const before = undo.pop();
    for (let i = before.length - 1; i >= 0; i--) {
      if (before[i][1] === undefined) grads.delete(before[i][0]);
      else grads.set(before[i][0], before[i][1]);
    }
    k -= 1;
  }

  function moveTo(target) {
    target = Math.max(0, Math.min(N, Math.floor(Number(target)) || 0));
    while (k < target) apply();
    while (k > target) unapply();
  }

  function currentNode() { return k > 0 ? steps[k - 1].node : null; }
  function isFinal(id) { return finalAt[id] !== undefined && finalAt[id] <= k; }

  // --- the page ---------------------------------------------------------------------------------
  const $ = function (id) { return document.getElementById(id); };
  const graphBox = $("tn-graph");
  const networkBox = $("tn-network");
  let viewId = "main";
  let drawn = null;            // what drawGraph returned for the current view
  const covered = new Set();   // clusters collapsed in place (in views that draw them open)
  let selected = null;         // a node the reader clicked
  let linked = [];             // nodes a clicked neuron stands for
  let timer = null;
  let network = null;

  function gradLines(id) {
    const n = nodes[id];
    if (!grads.has(id)) return [];
    const g = grads.get(id);
    if (!Array.isArray(g)) return ["grad " + P.fmt(g, GRAPH_DIGITS)];
    if (n.shown) return P.valueRows(g, GRAPH_DIGITS).map(function (row) { return "grad " + row; });
    return ["grad max|g| " + P.fmt(maxAbs(g), GRAPH_DIGITS)];
  }

  function maxAbs(v) {
    if (!Array.isArray(v)) return Math.abs(v);
    let m = 0;
    v.forEach(function (x) { const a = maxAbs(x); if (a > m || Number.isNaN(a)) m = a; });
    return m;
  }

  /** The element of the current view that stands for node `id`: itself, or the box around it. */
  function shownAs(id) {
    if (!drawn) return null;
    if (drawn.nodes[id]) return id;
    let c = nodes[id].cluster;
    while (c) {
      if (drawn.nodes[c]) return c;
      c = clusters[c].parent;
    }
    return null;
  }

  /** The outermost collapsed-in-place cluster around `id`, if any. */
  function coverOf(id) {
    let c = nodes[id].cluster, found = null;
    while (c) {
      if (covered.has(c)) found = c;
      c = clusters[c].parent;
    }
    return found;
  }

  function drawView(id) {
    viewId = id;
    const view = views[id];
    const box = drawn && graphBox;
    if (box) box.scrollTop = 0;
    if (!view.layout) {
      drawn = null;
      graphBox.innerHTML = "";
      const msg = document.createElement("p");
      msg.className = "tn-message";
      msg.textContent = "This view has " + (view.nodes.length + view.boxes.length) +
        " nodes: too many to lay out. Build the graph inside modules or tinygrad_nn.scope() " +
        "blocks so that it can be opened one scope at a time. Stepping still works: the panel " +
        "on the right shows every step.";
      graphBox.appendChild(msg);
      crumbs();
      return;
    }
    drawn = P.drawGraph(graphBox, view.layout, { node: drawNode, cluster: drawCluster });
    drawn.spans = {};
    drawn.progress = {};
    drawn.covers = {};
    drawn.edgesByHead = {};
    drawn.edges.forEach(function (g) {
      const head = g.getAttribute("data-head");
      (drawn.edgesByHead[head] = drawn.edgesByHead[head] || []).push(g);
    });
    Object.keys(drawn.nodes).forEach(function (name) {
      drawn.spans[name] = drawn.nodes[name].spanList;
      drawn.progress[name] = drawn.nodes[name].progressSpan;
    });
    crumbs();
    drawCovers();
  }

  function drawNode(g, name, b) {
    const x = b[0] - b[2] / 2, y = b[1] - b[3] / 2;
    P.el("rect", { x: x, y: y, width: b[2], height: b[3], rx: 4 }, g);
    g.addEventListener("click", function (ev) { ev.stopPropagation(); clickNode(name); });
    if (clusters[name]) {                                   // a collapsed scope: opens a view
      g.classList.add("box");
      const c = clusters[name];
      const spans = P.lines(g, b[0], b[1], b[4].length ? b[4] : [c.label, "", ""], 10);
      spans[0].classList.add("tn-head");
      g.progressSpan = spans[spans.length - 1];
      const title = P.el("title", {}, g);
      title.textContent = "click to open " + c.label;
      return;
    }
    const n = nodes[name];
    if (n.kind === "const") g.classList.add("const");
    if (views[viewId].stubs.indexOf(name) >= 0) g.classList.add("stub");
    const text = n.text.slice();
    for (let i = 0; i < n.grad_rows; i++) text.push("");
    const spans = P.lines(g, b[0], b[1], text, 10);
    spans[0].classList.add("tn-head");
    g.spanList = spans.slice(n.text.length);
    g.spanList.forEach(function (s) { s.classList.add("tn-grad"); });
    const title = P.el("title", {}, g);
    title.textContent = n.label + " (" + n.id + ")";
  }

  function drawCluster(g, name, c) {
    const id = name.replace(/^cluster_/, "");
    g.querySelector("rect").setAttribute("fill", clusters[id].fill);
    const spans = P.lines(g, c[4], c[5], c[6] || [clusters[id].label], 12);
    spans[0].parentNode.addEventListener("click", function (ev) {
      ev.stopPropagation(); toggleCover(id);
    });
    const title = P.el("title", {}, g);
    title.textContent = "click the label to collapse " + clusters[id].label;
  }

  function toggleCover(id) {
    if (covered.has(id)) covered.delete(id); else covered.add(id);
    drawCovers();
    render();
  }

  function drawCovers() {
    if (!drawn) return;
    drawn.layers.top.textContent = "";
    drawn.covers = {};
    const view = views[viewId];
    view.clusters.forEach(function (id) {
      if (!covered.has(id)) return;
      let p = clusters[id].parent;
      while (p) { if (covered.has(p)) return; p = clusters[p].parent; }
      const c = view.layout.clusters["cluster_" + id];
      const g = P.el("g", { class: "tn-cover", "data-name": id }, drawn.layers.top);
      P.el("rect", { x: c[0], y: c[1], width: c[2] - c[0], height: c[3] - c[1], rx: 6,
        fill: clusters[id].fill }, g);
      const spans = P.lines(g, (c[0] + c[2]) / 2, (c[1] + c[3]) / 2,
        [clusters[id].label, (members[id] || []).length + " Values (collapsed: click to open)", ""], 13);
      spans[0].classList.add("tn-head");
      g.progressSpan = spans[2];
      g.addEventListener("click", function (ev) { ev.stopPropagation(); toggleCover(id); });
      drawn.covers[id] = g;
    });
  }

  function crumbs() {
    const box = $("tn-crumbs");
    box.textContent = "";
    const chain = [];
    let s = views[viewId].scope;
    while (s) { if (views[s]) chain.unshift(s); s = clusters[s].parent; }
    if (viewId !== "main") chain.unshift("main");
    else if (D.views.length === 1) return;
    chain.forEach(function (id, i) {
      if (i) box.appendChild(document.createTextNode(" › "));
      const a = document.createElement(id === viewId ? "span" : "a");
      a.textContent = id === "main" ? "whole graph" : clusters[id].label;
      if (id !== viewId) a.addEventListener("click", function () { openView(id); });
      box.appendChild(a);
    });
  }

  function openView(id) { drawView(id); render(); }

  function clickNode(name) {
    if (clusters[name]) {
      if (views[name]) openView(name);
      return;
    }
    select(name);
  }

  function select(id) {
    selected = id;
    linked = [];
    render();
    showDetail(id);
  }

  /** Show node `id`: open the view that draws it, uncover its clusters, scroll to it. */
  function reveal(id) {
    if (homeView[id] && homeView[id] !== viewId) drawView(homeView[id]);
    let c = nodes[id].cluster, changed = false;
    while (c) { if (covered.delete(c)) changed = true; c = clusters[c].parent; }
    if (changed) drawCovers();
    if (drawn && drawn.nodes[id]) {
      const b = views[viewId].layout.nodes[id];
      drawn.reveal(b[0], b[1]);
    }
  }

  // --- rendering the state ----------------------------------------------------------------------
  function render() {
    $("tn-counter").textContent = "step " + k + " / " + N;
    const cur = currentNode();
    if (drawn) renderGraph(cur);
    renderStep(cur);
    renderTable();
    if (network) renderNetwork(cur);
    if (selected) showDetail(selected);
  }

  const STATUSES = ["unreached", "pending", "final", "current"];

  /** Set an element's text only if it changed: an unchanged write still costs a layout. */
  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function renderGraph(cur) {
    const view = views[viewId];
    const activeParents = new Set();
    if (cur) steps[k - 1].edges.forEach(function (e) { activeParents.add(shownAs(e.parent)); });
    const curShown = cur ? shownAs(cur) : null;
    Object.keys(drawn.nodes).forEach(function (name) {
      const g = drawn.nodes[name];
      if (clusters[name]) {
        const [done, total] = progress(name);
        g.classList.toggle("has-current", curShown === name);
        g.classList.toggle("all-final", total > 0 && done === total);
        if (drawn.progress[name]) setText(drawn.progress[name], "final " + done + "/" + total);
        return;
      }
      const n = nodes[name];
      const status = n.kind === "const" ? null : name === cur ? "current"
        : isFinal(name) ? "final" : grads.has(name) ? "pending" : "unreached";
      STATUSES.forEach(function (s) { g.classList.toggle(s, s === status); });
      g.classList.toggle("selected", name === selected);
      g.classList.toggle("linked", linked.indexOf(name) >= 0);
      const lines = gradLines(name);
      drawn.spans[name].forEach(function (span, i) { setText(span, lines[i] || ""); });
    });
    drawn.edges.forEach(function (g) {
      const head = g.getAttribute("data-head"), tail = g.getAttribute("data-tail");
      g.classList.toggle("active", head === curShown && activeParents.has(tail));
      g.classList.toggle("flowed", !!nodes[head] && isFinal(head) &&
        !!nodes[tail] && nodes[tail].kind !== "const");
    });
    Object.keys(drawn.covers).forEach(function (id) {
      const [done, total] = progress(id);
      drawn.covers[id].classList.toggle("has-current", !!cur && coverOf(cur) === id);
      drawn.covers[id].classList.toggle("all-final", total > 0 && done === total);
      setText(drawn.covers[id].progressSpan, "final " + done + "/" + total);
    });
    if (cur && curShown && view.layout) {
      const cover = coverOf(cur);
      const b = cover ? null : view.layout.nodes[curShown];
      if (b) drawn.reveal(b[0], b[1]);
    }
  }

  function name(id) {
    const n = nodes[id];
    return n.name ? n.name : n.label + " [" + id + "]";
  }

  function where(id) {
    const n = nodes[id];
    const op = n.op ? "op " + n.op : n.kind === "param" ? "a leaf" : "a constant";
    const path = [];
    for (let c = n.cluster; c; c = clusters[c].parent) path.unshift(clusters[c].label);
    const c = path.length ? ", in " + path.join(" / ") : "";
    return op + c + " · id " + id;
  }

  function value(v, digits) {
    if (v && typeof v === "object" && !Array.isArray(v) && v.summary) {
      return "[" + v.head.map(function (x) { return P.fmt(x, digits); }).join(", ") +
        ", …]  min " + P.fmt(v.min, digits) + ", max " + P.fmt(v.max, digits);
    }
    return P.valueRows(v, digits).join("\n");
  }

  function html(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function renderStep(cur) {
    const box = $("tn-step");
    box.textContent = "";
    if (!cur) {
      box.appendChild(html("h2", "Before backward"));
      box.appendChild(html("p", "The forward pass is done; no gradient has been computed yet. " +
        "Step 1 seeds ∂E/∂E = 1 at the root " + name(D.root) + "; each later step takes the " +
        "next node in the engine's order (reversed topological order) and hands " +
        "g · ∂node/∂parent to each of its parents (the chain rule). Press next (→) or space."));
      return;
    }
    const s = steps[k - 1];
    const n = nodes[cur];
    box.appendChild(html("h2", "Step " + k + " of " + N + ": " + name(cur)));
    box.appendChild(html("p", where(cur), "tn-note"));
    const parts = received[cur] || [];
    const g = html("div", "", "tn-formula");
    let text = "g = ∂E/∂" + name(cur) + " = " + value(s.g, PANEL_DIGITS);
    if (cur === D.root) text += "\n(the seed: ∂E/∂E = 1)";
    g.textContent = text;
    box.appendChild(g);
    if (parts.length > 1) {
      box.appendChild(html("h3", "the sum of its " + parts.length + " children's contributions"));
      const sum = html("div", "", "tn-formula");
      sum.textContent = parts.map(function (c) {
        return "  " + value(c.value, PANEL_DIGITS) + "   from " + name(c.from) + " (step " + c.k + ")";
      }).join("\n+ ") + "\n= " + value(s.g, PANEL_DIGITS);
      box.appendChild(sum);
    } else if (parts.length === 1) {
      box.appendChild(html("p", "from its one child " + name(parts[0].from) + " (step " +
        parts[0].k + ")", "tn-note"));
    }
    if (!n.op) {
      box.appendChild(html("p", "A leaf: ∂E/∂" + name(cur) + " is final and is what backward() " +
        "leaves in its .grad."));
      if (D.numeric && D.numeric[cur] !== undefined) {
        box.appendChild(html("p", "central differences: " + value(D.numeric[cur], PANEL_DIGITS)));
      }
      return;
    }
    if (!s.edges.length) {
      box.appendChild(html("p", "No parent of this node needs a gradient."));
      return;
    }
    box.appendChild(html("h3", "the chain rule along each edge: ∂E/∂parent += g · ∂node/∂parent"));
    const table = html("table", undefined, "tn-table tn-step-table");
    const head = html("tr");
    ["parent", "local ∂node/∂parent", "g · local", "∂E/∂parent so far"].forEach(function (t) {
      head.appendChild(html("th", t));
    });
    table.appendChild(head);
    s.edges.forEach(function (e) {
      const row = html("tr");
      row.appendChild(html("td", name(e.parent)));
      row.appendChild(html("td", typeof e.local === "number" ? P.fmt(e.local, PANEL_DIGITS)
        : e.local, "tn-num"));
      row.appendChild(html("td", value(e.contribution, PANEL_DIGITS), "tn-num"));
      const total = html("td", value(e.total, PANEL_DIGITS), "tn-num");
      row.appendChild(total);
      table.appendChild(row);
    });
    box.appendChild(table);
  }

  function showDetail(id) {
    const box = $("tn-detail");
    box.textContent = "";
    if (!id || !nodes[id]) return;
    const n = nodes[id];
    box.appendChild(html("h2", "Node " + name(id)));
    box.appendChild(html("p", where(id) + (n.shape.length ? " · shape (" + n.shape.join(", ") + ")" : ""),
      "tn-note"));
    const v = html("div", "", "tn-formula");
    v.textContent = "value = " + value(n.value, PANEL_DIGITS) +
      (grads.has(id) ? "\n∂E/∂node = " + value(grads.get(id), PANEL_DIGITS) +
        (isFinal(id) ? "  (final)" : "  (so far)") : "");
    box.appendChild(v);
    const extra = html("p", "", "tn-note");
    if (finalAt[id] !== undefined) {
      extra.textContent = "Its gradient is final at step " + finalAt[id] + ". ";
      const b = html("button", "go to step " + finalAt[id]);
      b.addEventListener("click", function () { goto(finalAt[id]); });
      extra.appendChild(b);
    } else {
      extra.textContent = "No gradient reaches it (nothing it depends on requires grad).";
    }
    box.appendChild(extra);
  }

  const LONG_TABLE = 200;       // inputs past which the table has fixed column widths
  let tableRows = null;         // input id -> its row in the table of inputs
  let tableK = 0;              // the step the table shows

  function renderTable() {
    const box = $("tn-table");
    if (!D.inputs.length) return;
    if (!tableRows) {
      tableRows = {};
      box.appendChild(html("h3", "gradients of the inputs (" + D.inputs.length + ")"));
      // a long table gets fixed column widths: a changed cell then costs a layout of its row,
      // not a measure of every row (5 ms of each step with 1,738 inputs)
      const table = html("table", undefined, D.inputs.length > LONG_TABLE ? "tn-table tn-long"
        : "tn-table");
      const head = html("tr");
      ["input", "∂E/∂input (engine)"].concat(D.numeric ? ["central differences", "|Δ|"] : [])
        .forEach(function (t) { head.appendChild(html("th", t)); });
      table.appendChild(head);
      D.inputs.forEach(function (id) {
        const row = html("tr");
        row.setAttribute("data-id", id);
        const first = html("td", name(id));
        first.style.cursor = "pointer";
        first.addEventListener("click", function () { reveal(id); select(id); });
        row.appendChild(first);
        row.appendChild(html("td", "—", "tn-num"));
        if (D.numeric) { row.appendChild(html("td", "—", "tn-num")); row.appendChild(html("td", "", "tn-num")); }
        table.appendChild(row);
        tableRows[id] = row;
      });
      box.appendChild(table);
    }
    // only the rows whose gradient became final (or stopped being final) since the last render
    const lo = Math.min(tableK, k), hi = Math.max(tableK, k);
    for (let i = lo; i < hi; i++) {
      const id = steps[i].node;
      const row = tableRows[id];
      if (!row) continue;
      const cells = row.children;
      const done = isFinal(id);
      cells[1].textContent = done ? value(grads.get(id), GRAPH_DIGITS + 2) : "—";
      if (D.numeric) {
        cells[2].textContent = done ? value(D.numeric[id], GRAPH_DIGITS + 2) : "—";
        cells[3].textContent = done ? P.fmt(maxDiff(grads.get(id), D.numeric[id]), 2) : "";
      }
    }
    tableK = k;
  }

  function maxDiff(a, b) {
    if (!Array.isArray(a)) return Math.abs(a - b);
    let m = 0;
    a.forEach(function (x, i) { const d = maxDiff(x, b[i]); if (d > m || Number.isNaN(d)) m = d; });
    return m;
  }

  // --- the network view: G(V, A) with δ on each neuron ------------------------------------------
  const SUP = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
  const SUB = { 0: "₀", 1: "₁", 2: "₂", 3: "₃", 4: "₄", 5: "₅", 6: "₆", 7: "₇", 8: "₈", 9: "₉" };
  function sup(i) { return String(i).split("").map(function (d) { return SUP[d]; }).join(""); }
  function sub(i) { return String(i).split("").map(function (d) { return SUB[d]; }).join(""); }
  let notation = "column";

  /** δ of neuron j (1-based) of neuron layer l (1 = input): an entry of ∂E/∂net, summed over
      the batch when there are several samples. */
  function delta(l, j) {
    const g = grads.get(D.network.layers[l - 1].net);
    if (!Array.isArray(g)) return g;
    if (!Array.isArray(g[0])) return g[j - 1];
    return g.reduce(function (acc, row) { return acc + row[j - 1]; }, 0);
  }

  function deltaSymbol(l, j) {
    return notation === "column" ? "δ" + sup(l) + sub(j) : "∂C/∂z" + sub(j) + "⁽" + sup(l - 1) + "⁾";
  }

  function drawNetwork() {
    const layout = D.network.layout;
    network = P.drawGraph(networkBox, layout, { node: function (g, nm, b) {
      const m = /^L(\d+)_(\d+)$/.exec(nm);
      if (!m) { P.lines(g, b[0], b[1], b[4], 10); return; }
      const l = Number(m[1]), j = Number(m[2]);
      g.classList.add("tn-neuron");
      P.el("circle", { cx: b[0], cy: b[1], r: b[2] / 2 }, g);
      P.lines(g, b[0], b[1], b[4], 10);
      const t = P.el("text", { x: b[0], y: b[1] + b[3] / 2 + 12, "font-size": 11,
        "text-anchor": "middle", class: "tn-delta" }, g);
      g.deltaText = t;
      g.layer = l; g.neuron = j;
      g.addEventListener("click", function () { clickNeuron(l, j); });
    } });
    const bar = networkBox.querySelector(".tn-zoom");
    const pick = document.createElement("select");
    pick.id = "tn-notation";
    [["column", "seed 000: δ"], ["row", "seed 004: ∂C/∂z"]].forEach(function (o) {
      const opt = document.createElement("option");
      opt.value = o[0]; opt.textContent = o[1];
      pick.appendChild(opt);
    });
    pick.addEventListener("change", function () { notation = pick.value; render(); });
    bar.appendChild(pick);
  }

  function renderNetwork(cur) {
    Object.keys(network.nodes).forEach(function (nm) {
      const g = network.nodes[nm];
      if (!g.layer || g.layer < 2) return;
      const layer = D.network.layers[g.layer - 1];
      const done = isFinal(layer.net);
      g.classList.toggle("final", done);
      g.classList.toggle("current", cur === layer.net);
      setText(g.deltaText, done ? deltaSymbol(g.layer, g.neuron) + " = " +
        P.fmt(delta(g.layer, g.neuron), GRAPH_DIGITS) : "");
    });
  }

  function clickNeuron(l, j) {
    const layer = D.network.layers[l - 1];
    showTab("graph");
    const ids = [layer.net, layer.out].filter(function (x) { return x; });
    reveal(ids[0]);
    selected = ids[0];
    render();
    linked = ids;
    render();
    showDetail(ids[0]);
    const box = $("tn-detail");
    const p = html("p", "Neuron " + j + " of layer " + l + (l === 1 ? " (input)" : "") + ": entry " +
      j + " of the last axis of " + ids.map(name).join(" (net) and ") + (ids.length > 1 ? " (out)." : "."));
    box.insertBefore(p, box.children[1] || null);
    if (l > 1 && isFinal(layer.net)) {
      box.insertBefore(html("div", deltaSymbol(l, j) + " = ∂E/∂net x" + sup(l) + sub(j) + " = " +
        P.fmt(delta(l, j), PANEL_DIGITS) + (layer.batch > 1 ? "  (summed over the " + layer.batch +
        " samples)" : ""), "tn-formula"), box.children[2] || null);
    }
  }

  function showTab(which) {
    $("tn-tab-graph").setAttribute("aria-selected", String(which === "graph"));
    $("tn-tab-network").setAttribute("aria-selected", String(which === "network"));
    graphBox.hidden = which !== "graph";
    networkBox.hidden = which !== "network";
  }

  // --- controls ---------------------------------------------------------------------------------
  function goto(target) { moveTo(target); render(); return k; }
  function step() { return goto(k + 1); }
  function back() { return goto(k - 1); }

  function play(on) {
    if (timer) { clearInterval(timer); timer = null; }
    if (on) {
      if (k >= N) goto(0);
      timer = setInterval(function () {
        if (k >= N) { play(false); return; }
        step();
      }, 1000 / Number($("tn-speed").value));
    }
    $("tn-play").textContent = timer ? "■ pause" : "▶ play";
  }

  // a button clicked with the mouse gives the focus back, so that space plays again
  document.querySelectorAll("header.tn-bar button").forEach(function (b) {
    b.addEventListener("mouseup", function () { b.blur(); });
  });
  $("tn-first").addEventListener("click", function () { play(false); goto(0); });
  $("tn-back").addEventListener("click", function () { play(false); back(); });
  $("tn-next").addEventListener("click", function () { play(false); step(); });
  $("tn-last").addEventListener("click", function () { play(false); goto(N); });
  $("tn-play").addEventListener("click", function () { play(!timer); });
  $("tn-speed").addEventListener("input", function () { if (timer) play(true); });
  $("tn-collapse").addEventListener("click", function () {
    const view = views[viewId];
    const top = view.clusters.filter(function (id) {
      return view.clusters.indexOf(clusters[id].parent) < 0;
    });
    const anyOpen = top.some(function (id) { return !covered.has(id); });
    top.forEach(function (id) { if (anyOpen) covered.add(id); else covered.delete(id); });
    $("tn-collapse").textContent = anyOpen ? "open all" : "collapse all";
    drawCovers();
    render();
  });
  const list = $("tn-jump-list");
  D.nodes.forEach(function (n) {
    if (finalAt[n.id] === undefined) return;
    const opt = document.createElement("option");
    opt.value = n.name ? n.name + " [" + n.id + "]" : n.label + " [" + n.id + "]";
    list.appendChild(opt);
  });
  $("tn-jump").addEventListener("change", function (ev) {
    const text = ev.target.value.trim();
    const m = /\[(v\d+)\]$/.exec(text) || /^(v\d+)$/.exec(text);
    let id = m ? m[1] : null;
    if (!id) D.nodes.some(function (n) { if (n.name === text) { id = n.id; return true; } return false; });
    if (!id || !nodes[id]) return;
    play(false);
    reveal(id);
    selected = id;
    if (finalAt[id] !== undefined) goto(finalAt[id]); else render();
  });
  $("tn-tab-graph").addEventListener("click", function () { showTab("graph"); });
  $("tn-tab-network").addEventListener("click", function () { showTab("network"); });
  document.addEventListener("keydown", function (ev) {
    const t = ev.target;
    if (t && (t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (t && t.tagName === "INPUT" && (t.type !== "range" || ev.key !== " ")) return;
    if (t && t.tagName === "BUTTON" && ev.key === " ") return;   // space presses a focused button
    if (ev.key === "ArrowRight") { play(false); step(); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { play(false); back(); ev.preventDefault(); }
    else if (ev.key === " ") { play(!timer); ev.preventDefault(); }
    else if (ev.key === "Home") { play(false); goto(0); ev.preventDefault(); }
    else if (ev.key === "End") { play(false); goto(N); ev.preventDefault(); }
  });
  const legend = $("tn-legend");
  [["unreached", "not reached yet"], ["pending", "partial sum (some children done)"],
    ["current", "being processed"], ["final", "gradient final"], ["const", "constant: no gradient"]]
    .forEach(function (item) { legend.appendChild(html("span", item[1], item[0])); });

  drawView("main");
  if (D.collapse === "module") {
    views.main.clusters.forEach(function (id) {
      if (!clusters[id].parent || views.main.clusters.indexOf(clusters[id].parent) < 0) covered.add(id);
    });
    drawCovers();
    $("tn-collapse").textContent = "open all";
  }
  if (D.network) {
    $("tn-tab-network").hidden = false;
    drawNetwork();
  }
  render();

  function copy(v) { return Array.isArray(v) ? v.map(copy) : v; }

  window.tn = {
    /** The number of backward steps: one per node a gradient reaches, in the engine's order. */
    count: function () { return N; },
    /** Show the state after k steps (0: before backward; count(): done); returns k. */
    goto: function (target) { play(false); return goto(target); },
    /** One step forward (the next node of the backward pass); returns the new k. */
    step: function () { play(false); return step(); },
    /** One step back; returns the new k. */
    back: function () { play(false); return back(); },
    /** {step, node, grads}: k, the node processed at step k (null at 0), and every gradient
        accumulated so far by node id (a number or nested arrays), as the page shows them. */
    state: function () {
      const out = {};
      grads.forEach(function (v, id) { out[id] = copy(v); });
      return { step: k, node: currentNode(), grads: out };
    },
  };
})();
