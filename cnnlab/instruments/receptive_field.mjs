// Receptive-field calculator: a stack of convolutions and pools, the receptive field and jump
// after every layer. State: layers (text such as "conv3 pool2 conv3d2"), convs, pools (the two
// counts that write a plain stack into layers), input_size. Written back: rows, error.
import { outSize, h, numberField, readout, root, watch, update } from "./common.mjs";

const TOKEN = /^(conv|c|pool|p)(\d+)(?:s(\d+))?(?:p(\d+))?(?:d(\d+))?$/;
const COLOURS = ["#f4a261", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#264653", "#9b5de5"];

/** "conv3 pool2 ..." -> [{kind, kernel, stride, padding, dilation}], same grammar as cnnlab.receptive.parse_layers. */
export function parseLayers(spec) {
  const tokens = spec.trim().toLowerCase().split(/[\s,;>→-]+/).filter(Boolean);
  if (!tokens.length) throw new Error("The layer list is empty: write layers such as 'conv3 pool2 conv3'.");
  return tokens.map((tok, n) => {
    const m = TOKEN.exec(tok);
    if (!m) throw new Error(`Cannot read layer ${n + 1} '${tok}': expected conv<k> or pool<k> with optional ` +
      "s<stride>, p<padding>, d<dilation> (e.g. conv3, pool2, conv7s2p3).");
    const kind = m[1].startsWith("c") ? "conv" : "pool", k = Number(m[2]);
    if (k < 1) throw new Error(`Layer ${n + 1} '${tok}': the kernel size must be at least 1.`);
    if (kind === "pool" && m[5]) throw new Error(`Layer ${n + 1} '${tok}': pooling has no dilation here.`);
    const d = kind === "conv" && m[5] ? Number(m[5]) : 1;
    const s = m[3] ? Number(m[3]) : kind === "conv" ? 1 : k;
    if (s < 1) throw new Error(`Layer ${n + 1} '${tok}': the stride must be at least 1.`);
    if (d < 1) throw new Error(`Layer ${n + 1} '${tok}': the dilation must be at least 1.`);
    const p = m[4] ? Number(m[4]) : kind === "conv" ? Math.floor((d * (k - 1)) / 2) : 0;
    return { kind, kernel: k, stride: s, padding: p, dilation: d };
  });
}

/** Spread convs 3x3 convs into pools + 1 groups separated by 2x2 pools (extras last). */
export function countsSpec(convs, pools) {
  const groups = Array(pools + 1).fill(Math.floor(convs / (pools + 1)));
  for (let i = 0; i < convs % (pools + 1); i++) groups[groups.length - 1 - i] += 1;
  const parts = [];
  groups.forEach((n, g) => { for (let i = 0; i < n; i++) parts.push("conv3"); if (g < pools) parts.push("pool2"); });
  return parts.join(" ");
}

/** Field, jump, start and output size after every layer: rf += (span - 1) jump; jump *= stride. */
export function receptiveField(layers, inputSize) {
  let jump = 1, rf = 1, start = 0, size = inputSize;
  const counts = {};
  return layers.map((l, i) => {
    counts[l.kind] = (counts[l.kind] || 0) + 1;
    const span = l.dilation * (l.kernel - 1) + 1;
    const out = outSize(size, l.kernel, l.stride, l.padding, l.dilation);
    if (out < 1) throw new Error(`Layer ${i + 1} (${l.kind}${counts[l.kind]}) spans ${span} pixels but its input is only ` +
      `${size} pixels (+ ${2 * l.padding} padding) wide at input size ${inputSize}: use a larger input or fewer layers.`);
    size = out;
    start += ((span - 1) / 2 - l.padding) * jump;
    rf += (span - 1) * jump;
    jump *= l.stride;
    return { name: `${l.kind}${counts[l.kind]}`, ...l, out_size: out, jump, rf, start,
      first: Math.round(start - (rf - 1) / 2) };
  });
}

export function compute({ layers, input_size }) {
  try {
    return { rows: receptiveField(parseLayers(layers), input_size), error: "" };
  } catch (e) {
    return { rows: [], error: e.message };
  }
}

function render({ model, el }) {
  const box = root(el, "receptive-field", "Receptive field: how much of the image one unit sees");
  const convs = numberField("3×3 convs", { min: 0, max: 12, value: 3,
    onchange: (v) => update(model, { convs: v, layers: countsSpec(v, model.get("pools")) }) });
  const pools = numberField("2×2 pools", { min: 0, max: 5, value: 2,
    onchange: (v) => update(model, { pools: v, layers: countsSpec(model.get("convs"), v) }) });
  const size = numberField("input size", { min: 32, max: 512, step: 16, value: 224,
    onchange: (v) => update(model, { input_size: Math.round(v) }) });
  const id = `rf-layers-${Math.random().toString(36).slice(2, 8)}`;
  const text = h("input", { type: "text", id, spellcheck: "false", autocomplete: "off", class: "rf-text" });
  text.addEventListener("change", () => update(model, { layers: text.value }));
  const svg = h("div", { class: "rf-pic" });
  const table = h("div", { class: "rf-table" });
  const facts = h("div", {});
  const note = h("p", { class: "ci-note" });
  box.append(h("style", {}, `.ci-root .rf-text{width:100%;max-width:34em}
.rf-table table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
.rf-table th,.rf-table td{border-bottom:1px solid #d6dbe1;padding:2px 7px;text-align:right}
.rf-pic svg{max-width:100%;height:auto}`),
    h("div", { class: "ci-row" }, convs.wrap, pools.wrap, size.wrap),
    h("div", { class: "ci-field", style: "width:100%" }, h("label", { for: id }, "layers"), text),
    h("div", { class: "ci-note" }, "conv3 = 3×3 conv (stride 1, same padding), pool2 = 2×2 pool (stride 2); add s<stride>, " +
      "p<padding>, d<dilation>, e.g. conv7s2p3 pool3s2 conv3d2. Press Enter to apply."),
    h("div", { class: "ci-row" }, table, svg), facts, note);

  function picture(rows, n) {
    const W = 200, sc = W / n;
    const ns = "http://www.w3.org/2000/svg";
    const s = document.createElementNS(ns, "svg");
    s.setAttribute("viewBox", `-2 -2 ${W + 4} ${W + 4}`); s.setAttribute("width", W + 4);
    s.setAttribute("role", "img");
    const add = (tag, attrs) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); s.append(e); return e; };
    add("rect", { x: 0, y: 0, width: W, height: W, fill: "#e8eef3", stroke: "#555" });
    rows.forEach((r, i) => {
      const c = Math.floor(r.out_size / 2);
      const top = r.first + c * r.jump;
      const a = Math.max(0, top), b = Math.min(n, top + r.rf);
      const last = i === rows.length - 1;
      add("rect", { x: a * sc, y: a * sc, width: (b - a) * sc, height: (b - a) * sc, fill: "none",
        stroke: last ? "#111" : COLOURS[i % COLOURS.length], "stroke-width": last ? 2.5 : 1.2,
        "stroke-dasharray": last ? "" : "4 3" });
    });
    const fin = rows[rows.length - 1];
    s.append(Object.assign(document.createElementNS(ns, "title"), { textContent:
      `The centre unit's field, ${fin.rf} pixels wide, on a ${n}-pixel input` }));
    return h("figure", { style: "margin:0" }, s, h("figcaption", { class: "ci-note" }, `centre unit's field on a ${n}² input`));
  }

  function draw() {
    const st = { layers: model.get("layers"), input_size: model.get("input_size") };
    if (document.activeElement !== text) text.value = st.layers;
    for (const [f, v] of [[convs, model.get("convs")], [pools, model.get("pools")], [size, st.input_size]])
      if (String(f.input.value) !== String(v)) f.input.value = v;
    const r = compute(st);
    if (r.error) {
      table.replaceChildren(h("p", { class: "ci-error", role: "alert" }, r.error));
      svg.replaceChildren(); facts.replaceChildren(); note.textContent = "";
      update(model, { rows: [], error: r.error });
      return;
    }
    table.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ["layer", "k", "s", "p", "d", "out", "field", "jump"].map((t) => h("th", {}, t)))),
      h("tbody", {}, h("tr", {}, h("td", {}, "input"), h("td", {}), h("td", {}), h("td", {}), h("td", {}),
        h("td", {}, st.input_size), h("td", {}, 1), h("td", {}, 1)),
      r.rows.map((x, i) => h("tr", { "data-layer": i + 1, "data-rf": x.rf, "data-jump": x.jump, "data-out": x.out_size },
        h("td", { style: "text-align:left" }, x.name), h("td", {}, x.kernel), h("td", {}, x.stride), h("td", {}, x.padding),
        h("td", {}, x.dilation), h("td", {}, x.out_size), h("td", {}, x.rf), h("td", {}, x.jump))))));
    svg.replaceChildren(picture(r.rows, st.input_size));
    const fin = r.rows[r.rows.length - 1];
    facts.replaceChildren(readout([
      ["receptive field", `${fin.rf} px`, "rf"], ["jump (feature stride)", String(fin.jump), "jump"],
      ["total layers", String(r.rows.length), "layers"], ["output size", `${fin.out_size} × ${fin.out_size}`, "output size"],
    ]));
    const share = Math.min(fin.rf, st.input_size) ** 2 / st.input_size ** 2;
    note.textContent = `One output unit sees ${fin.rf} × ${fin.rf} input pixels (${(100 * share).toFixed(1)}% of the image, ` +
      `if the field fitted inside it); neighbouring units are ${fin.jump} px apart. Each layer adds (k − 1) × (jump so far) ` +
      "to the field, a dilated one (d(k − 1)) × jump; a stride multiplies the jump.";
    update(model, { rows: r.rows, error: "" });
  }
  const stop = watch(model, ["layers", "input_size", "convs", "pools"], draw);
  draw();
  return stop;
}

export default { render };
