// nnci learn: builds a page's controls from its spec, keeps their values in the URL, asks the server
// (which computes everything with nnci) for the panels and draws them. No numbers are computed here.
"use strict";

const spec = JSON.parse(document.getElementById("spec").textContent);
const nav = JSON.parse(document.getElementById("nav-data").textContent);
const main = document.getElementById("main");
const panels = document.getElementById("panels");
const errorBox = document.getElementById("error");
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#1d4ed8", "#dc2626", "#059669", "#9333ea", "#ea580c", "#0891b2"];
const values = {};
let request = 0;
let inFlight = null;
let timer = null;

function element(tag, attributes = {}, children = []) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function format(value, digits = 6) {
  if (value === null || value === undefined) return "";
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(digits)));
}

// ----- navigation and controls --------------------------------------------------------------------
function buildNav() {
  const box = document.getElementById("nav");
  box.append(element("a", {href: "/", text: "nnci learn", ...(spec ? {} : {"aria-current": "page"})}));
  let section = null;
  for (const item of nav) {
    if (item.section !== section) {
      section = item.section;
      box.append(element("h2", {text: section}));
    }
    const link = element("a", {href: "/" + item.slug, text: item.title});
    if (spec && item.slug === spec.slug) link.setAttribute("aria-current", "page");
    box.append(link);
  }
}

function buildIndex() {
  document.getElementById("intro").textContent =
    "The course chapter's interactive figures. Every number and curve on these pages is computed by nnci, " +
    "the library you write code against, when you move a control.";
  const toc = element("div", {class: "toc"});
  let list = null, section = null;
  for (const item of nav) {
    if (item.section !== section) {
      section = item.section;
      list = element("ul");
      toc.append(element("section", {}, [element("h2", {text: section}), list]));
    }
    list.append(element("li", {}, [element("a", {href: "/" + item.slug, text: item.title})]));
  }
  panels.append(toc);
  document.getElementById("controls").hidden = true;
  main.dataset.state = "ready";
}

function setValue(name, value, source) {
  values[name] = value;
  for (const input of document.querySelectorAll(`[data-control="${name}"]`)) {
    if (input !== source && input.type !== "file") input.value = value;
  }
}

function buildControls() {
  const form = document.getElementById("controls");
  const query = new URLSearchParams(location.search);
  for (const control of spec.controls) {
    const id = "c-" + control.name;
    const box = element("div", {class: "control"});
    values[control.name] = query.has(control.name) ? query.get(control.name) : String(control.default);
    if (control.type === "slider") {
      const range = element("input", {type: "range", id, min: control.low, max: control.high, step: control.step,
                                      "data-control": control.name, "aria-label": control.label});
      const number = element("input", {type: "number", id: "n-" + control.name, min: control.low, max: control.high,
                                       step: control.step, "data-control": control.name,
                                       "aria-label": control.label + " (exact value)"});
      range.value = number.value = values[control.name];
      range.addEventListener("input", () => { setValue(control.name, range.value, range); schedule(40); });
      number.addEventListener("input", () => { setValue(control.name, number.value, number); schedule(400); });
      number.addEventListener("change", () => { setValue(control.name, number.value, number); schedule(0); });
      box.append(element("label", {for: id, text: control.label}), element("div", {class: "row"}, [range, number]));
    } else if (control.type === "choice") {
      const select = element("select", {id, "data-control": control.name});
      for (const [value, label] of control.options) select.append(element("option", {value, text: label}));
      select.value = values[control.name];
      select.addEventListener("change", () => { setValue(control.name, select.value, select); schedule(0); });
      box.append(element("label", {for: id, text: control.label}), select);
    } else if (control.type === "text") {
      const input = element("input", {type: "text", id, maxlength: control.max_length, "data-control": control.name,
                                      spellcheck: "false"});
      input.value = values[control.name];
      input.addEventListener("input", () => { setValue(control.name, input.value, input); schedule(400); });
      input.addEventListener("keydown", (event) => { if (event.key === "Enter") schedule(0); });
      box.append(element("label", {for: id, text: control.label}), input);
    } else if (control.type === "upload") {
      const input = element("input", {type: "file", id, accept: "image/*", "data-control": control.name});
      input.addEventListener("change", () => upload(control.name, input.files[0]));
      box.append(element("label", {for: id, text: control.label}), input);
    }
    form.append(box);
  }
  if (spec.stream) {
    const button = element("button", {type: "button", id: "run", text: "Train again"});
    button.addEventListener("click", () => schedule(0));
    form.append(element("div", {class: "control"}, [button]));
  }
}

async function upload(name, file) {
  if (!file) return;
  main.dataset.state = "busy";
  const response = await fetch(`/api/${spec.slug}/upload`, {method: "POST", body: file,
                                                            headers: {"X-Filename": file.name}});
  const answer = await response.json();
  if (!response.ok) { showError(answer.error); return; }
  setValue(name, answer.token);
  if ("photo" in values) setValue("photo", "upload");
  schedule(0);
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  main.dataset.state = "error";
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(update, delay);
}

// ----- asking the server --------------------------------------------------------------------------
async function update() {
  const query = new URLSearchParams(values).toString();
  history.replaceState(null, "", "?" + query);
  if (inFlight) inFlight.abort();
  inFlight = new AbortController();
  const mine = ++request;
  main.dataset.state = "busy";
  try {
    const response = await fetch(`/api/${spec.slug}${spec.stream ? "/stream" : ""}?${query}`, {signal: inFlight.signal});
    if (!response.ok) { if (mine === request) showError((await response.json()).error); return; }
    if (spec.stream) await readStream(response, mine); else show(await response.json(), mine, true);
  } catch (error) {
    if (error.name !== "AbortError" && mine === request) showError("the server did not answer: " + error.message);
  }
}

async function readStream(response, mine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, {stream: true});
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.trim() || mine !== request) continue;
      const update = JSON.parse(line);
      if (update.error) { showError(update.error); return; }
      show(update, mine, update.done);
    }
  }
}

function show(result, mine, finished) {
  if (mine !== request) return;  // a newer request is on its way
  errorBox.hidden = true;
  for (const [name, limit] of Object.entries(result.limits || {})) {
    for (const input of document.querySelectorAll(`[data-control="${name}"]`)) input.max = limit;
    if (Number(values[name]) > limit) setValue(name, String(limit));
  }
  panels.replaceChildren(...result.panels.map(draw));
  if (finished) {
    main.dataset.state = "ready";
    main.dataset.version = String(Number(main.dataset.version) + 1);
  }
}

// ----- drawing the panels -------------------------------------------------------------------------
function draw(panel) {
  return {plot, grids, readouts, images, graph, note}[panel.kind](panel);
}

function extent(numbers, fallback) {
  const finite = numbers.filter((v) => v !== null && Number.isFinite(v));
  if (!finite.length) return fallback;
  let low = Math.min(...finite), high = Math.max(...finite);
  if (low === high) { low -= 0.5; high += 0.5; }
  const pad = 0.04 * (high - low);
  return [low - pad, high + pad];
}

function ticks(low, high, count = 5) {
  const raw = (high - low) / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(low / step) * step; v <= high + 1e-12; v += step) out.push(Number(v.toPrecision(10)));
  return out;
}

function plot(panel) {
  const width = 560, height = 320, left = 56, right = 12, top = 12, bottom = 40;
  const xs = panel.series.flatMap((s) => s.x), ys = panel.series.flatMap((s) => s.y);
  const [x0, x1] = extent(xs, [0, 1]), [y0, y1] = panel.ylim || extent(ys, [0, 1]);
  const px = (x) => left + (x - x0) / (x1 - x0) * (width - left - right);
  const py = (y) => top + (y1 - y) / (y1 - y0) * (height - top - bottom);
  const svg = element("svg:svg", {viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                                  "aria-label": panel.title});
  for (const t of ticks(x0, x1)) {
    svg.append(element("svg:line", {class: "grid-line", x1: px(t), x2: px(t), y1: top, y2: height - bottom}),
               element("svg:text", {x: px(t), y: height - bottom + 14, "text-anchor": "middle", text: format(t, 4)}));
  }
  for (const t of ticks(y0, y1)) {
    svg.append(element("svg:line", {class: "grid-line", x1: left, x2: width - right, y1: py(t), y2: py(t)}),
               element("svg:text", {x: left - 6, y: py(t) + 4, "text-anchor": "end", text: format(t, 4)}));
  }
  svg.append(element("svg:rect", {class: "axis", x: left, y: top, width: width - left - right,
                                  height: height - top - bottom, fill: "none"}),
             element("svg:text", {x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle", text: panel.xlabel}),
             element("svg:text", {x: 12, y: (top + height - bottom) / 2, "text-anchor": "middle",
                                  transform: `rotate(-90 12 ${(top + height - bottom) / 2})`, text: panel.ylabel}));
  for (const mark of panel.marks) {
    svg.append(element("svg:line", {class: "mark", x1: px(mark.x), x2: px(mark.x), y1: top, y2: height - bottom}),
               element("svg:text", {x: px(mark.x) + 3, y: top + 12, text: mark.label}));
  }
  const clip = (y) => Math.max(top - 20, Math.min(height - bottom + 20, py(y)));
  panel.series.forEach((s, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const group = element("svg:g", {class: "series", "data-name": s.name, "data-x": JSON.stringify(s.x),
                                    "data-y": JSON.stringify(s.y)});
    if (s.style === "points") {
      s.x.forEach((x, i) => { if (s.y[i] !== null) group.append(element("svg:circle", {cx: px(x), cy: clip(s.y[i]), r: 2.6, fill: colour})); });
    } else {
      let path = "", pen = "M";
      s.x.forEach((x, i) => {
        if (s.y[i] === null) { pen = "M"; return; }
        path += `${pen}${px(x).toFixed(1)},${clip(s.y[i]).toFixed(1)} `;
        pen = "L";
      });
      group.append(element("svg:path", {d: path, fill: "none", stroke: colour, "stroke-width": 2,
                                        ...(s.style === "dashed" ? {"stroke-dasharray": "6 4"} : {})}));
    }
    svg.append(group);
    svg.append(element("svg:text", {x: width - right - 6, y: top + 14 + 14 * index, "text-anchor": "end", fill: colour,
                                    style: `fill:${colour}`, text: s.name}));
  });
  const defs = element("svg:defs", {}, [element("svg:clipPath", {id: "clip-" + panel.id}, [
    element("svg:rect", {x: left, y: top, width: width - left - right, height: height - top - bottom})])]);
  svg.prepend(defs);
  for (const group of svg.querySelectorAll("g.series")) group.setAttribute("clip-path", `url(#clip-${panel.id})`);
  return element("figure", {id: "plot-" + panel.id, class: "plot"}, [svg, element("figcaption", {text: panel.title})]);
}

function grid(item) {
  const table = element("table", {class: "grid", id: "grid-" + item.id});
  table.append(element("caption", {text: item.title}));
  const [r0, c0, h, w] = item.highlight || [-1, -1, 0, 0];
  item.values.forEach((row, r) => {
    const tr = element("tr");
    row.forEach((value, c) => {
      const inside = r >= r0 && r < r0 + h && c >= c0 && c < c0 + w;
      const cell = element("td", {class: (inside ? "window " : "") + (value === null ? "empty" : ""),
                                  text: format(value, 4)});
      if (value !== null) cell.dataset.value = String(value);
      tr.append(cell);
    });
    table.append(tr);
  });
  return table;
}

function grids(panel) {
  return element("div", {class: "grids"}, panel.items.map(grid));
}

function readouts(panel) {
  const list = element("dl", {class: "readouts"});
  for (const item of panel.items) {
    list.append(element("dt", {text: item.label}),
                element("dd", {id: "r-" + item.id, "data-value": String(item.value),
                               text: format(item.value) + (item.unit ? " " + item.unit : "")}));
  }
  return list;
}

function images(panel) {
  return element("div", {class: "images"}, panel.items.map((item) => element("figure", {}, [
    element("img", {id: "img-" + item.id, src: item.src, alt: item.title}),
    element("figcaption", {text: item.title})])));
}

function graph(panel) {
  const boxWidth = 150, gap = 70, height = 120;
  const width = panel.nodes.length * boxWidth + (panel.nodes.length - 1) * gap + 20;
  const svg = element("svg:svg", {viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                                  "aria-label": "computation graph"});
  svg.append(element("svg:defs", {}, [element("svg:marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto"}, [element("svg:path", {d: "M0,0 L10,5 L0,10 z", fill: "#555"})])]));
  const position = {};
  panel.nodes.forEach((node, i) => { position[node.id] = 10 + i * (boxWidth + gap); });
  for (const [from, to] of panel.edges) {
    svg.append(element("svg:line", {x1: position[from] + boxWidth, y1: 60, x2: position[to], y2: 60, stroke: "#555",
                                    "marker-end": "url(#arrow)"}));
  }
  for (const node of panel.nodes) {
    const x = position[node.id];
    svg.append(element("svg:g", {id: "node-" + node.id, "data-value": String(node.value), "data-grad": String(node.grad)}, [
      element("svg:rect", {x, y: 15, width: boxWidth, height: 90, rx: 8, fill: "#eff6ff", stroke: "#1d4ed8"}),
      element("svg:text", {x: x + boxWidth / 2, y: 40, "text-anchor": "middle", style: "font-weight:700", text: node.label}),
      element("svg:text", {x: x + boxWidth / 2, y: 64, "text-anchor": "middle", text: "value " + format(node.value)}),
      element("svg:text", {x: x + boxWidth / 2, y: 86, "text-anchor": "middle", style: "fill:#dc2626",
                           text: "dy/d\u00b7 " + format(node.grad)})]));
  }
  return element("figure", {id: "graph"}, [svg, element("figcaption", {text: "forward values (black) and gradients of y (red)"})]);
}

function note(panel) {
  return element("p", {class: "note", id: "note-" + panel.id, text: panel.text});
}

// ----- start --------------------------------------------------------------------------------------
buildNav();
if (spec) {
  document.getElementById("intro").textContent = spec.intro;
  buildControls();
  update();
} else {
  buildIndex();
}
