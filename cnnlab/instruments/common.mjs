// Shared pieces of the course's instruments: arithmetic (checked against cnnlab's NumPy
// functions by tests/test_instruments.py) and small DOM helpers. Each instrument module
// imports from this file; cnnlab.instruments.esm() inlines it, so the module that Jupyter,
// Colab and the static book load is one self-contained file.

// ---- arithmetic ---------------------------------------------------------------------------

/** Output length of a convolution or pool: floor((n + 2p - d(k-1) - 1) / s) + 1, or 0. */
export function outSize(n, k, s = 1, p = 0, d = 1) {
  const span = d * (k - 1) + 1;
  if (n + 2 * p < span) return 0;
  return Math.floor((n + 2 * p - span) / s) + 1;
}

/** Pad a 2-D array (rows of numbers) with p zeros on every side. */
export function pad2d(x, p) {
  const h = x.length, w = x[0].length;
  const out = [];
  for (let r = 0; r < h + 2 * p; r++) {
    const row = new Array(w + 2 * p).fill(0);
    if (r >= p && r < h + p) for (let c = 0; c < w; c++) row[c + p] = x[r - p][c];
    out.push(row);
  }
  return out;
}

/** Cross-correlation of a 2-D image with a k x k kernel (as deep-learning "convolution"). */
export function conv2d(x, kernel, stride = 1, padding = 0, dilation = 1) {
  const k = kernel.length;
  const oh = outSize(x.length, k, stride, padding, dilation);
  const ow = outSize(x[0].length, k, stride, padding, dilation);
  const xp = pad2d(x, padding);
  const out = [];
  for (let i = 0; i < oh; i++) {
    const row = [];
    for (let j = 0; j < ow; j++) {
      let acc = 0;
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++)
          acc += kernel[a][b] * xp[i * stride + a * dilation][j * stride + b * dilation];
      row.push(acc);
    }
    out.push(row);
  }
  return out;
}

/** Max or average pooling (k x k windows, stride s, no padding). */
export function pool2d(x, k, s, mode = "max") {
  const oh = outSize(x.length, k, s), ow = outSize(x[0].length, k, s);
  const out = [];
  for (let i = 0; i < oh; i++) {
    const row = [];
    for (let j = 0; j < ow; j++) {
      let acc = mode === "max" ? -Infinity : 0;
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const v = x[i * s + a][j * s + b];
          acc = mode === "max" ? Math.max(acc, v) : acc + v;
        }
      row.push(mode === "max" ? acc : acc / (k * k));
    }
    out.push(row);
  }
  return out;
}

/** Weights and biases of a k x k convolution from cin to cout channels. */
export function convParams(cin, cout, k, bias = true) {
  return cin * cout * k * k + (bias ? cout : 0);
}

/** Number formatting as a reader writes it: 6, -1, 0.111, 1.5e+3. */
export function fmt(x, digits = 3) {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x - Math.round(x)) < 1e-9) return String(Math.round(x));
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(1);
  return String(Number(x.toFixed(digits)));
}

/** 1234567 -> "1,234,567". */
export function thousands(n) {
  return Math.round(n).toLocaleString("en-US");
}

// ---- DOM ------------------------------------------------------------------------------------

/** Create an element: h("button", {class: "x", onclick: f}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined)
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

let uid = 0;
/** A unique id for label/for pairs. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}-${Math.random().toString(36).slice(2, 7)}`;
}

/** A labelled number input; onchange(value) fires with a finite number. */
export function numberField(label, { min, max, step = 1, value, onchange, width = "4.2em" }) {
  const id = newId("ci");
  const input = h("input", { type: "number", id, min, max, step, value, style: `width:${width}` });
  input.addEventListener("change", () => {
    let v = Number(input.value);
    if (!Number.isFinite(v) || input.value === "") return;
    if (Number.isInteger(step)) v = Math.round(v);
    if (min !== undefined) v = Math.max(min, v);
    if (max !== undefined) v = Math.min(max, v);
    onchange(v);
  });
  const wrap = h("span", { class: "ci-field" }, h("label", { for: id }, label), input);
  return { wrap, input };
}

/** A labelled <select>; options is a list of [value, text]. */
export function selectField(label, options, onchange) {
  const id = newId("cs");
  const select = h("select", { id }, options.map(([v, t]) => h("option", { value: v }, t)));
  select.addEventListener("change", () => onchange(select.value));
  return { wrap: h("span", { class: "ci-field" }, h("label", { for: id }, label), select), select };
}

/** A group of toggle buttons with aria-pressed; onpick(value). */
export function buttonGroup(label, options, onpick) {
  const buttons = options.map(([v, t]) =>
    h("button", { type: "button", "data-value": v, "aria-pressed": "false", onclick: () => onpick(v) }, t));
  const wrap = h("span", { class: "ci-field", role: "group", "aria-label": label },
    h("span", { class: "ci-label" }, label), ...buttons);
  return {
    wrap, buttons,
    show(value) {
      for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === String(value)));
    },
  };
}

/** Set an input's value only when it differs (keeps the caret where the reader typed). */
export function setValue(input, value) {
  if (document.activeElement === input && Number(input.value) === Number(value)) return;
  if (String(input.value) !== String(value)) input.value = value;
}

/** Blue (negative) to white to red (positive), like matplotlib's RdBu_r, for |v| <= vmax. */
export function signedColour(v, vmax) {
  const t = vmax > 0 ? Math.max(-1, Math.min(1, v / vmax)) : 0;
  const a = Math.abs(t);
  const [r, g, b] = t >= 0 ? [255, 255 - 170 * a, 255 - 190 * a] : [255 - 200 * a, 255 - 130 * a, 255];
  return `rgb(${r | 0},${g | 0},${b | 0})`;
}

/** A table of numbers drawn as coloured cells; each cell carries its exact value in data-value. */
export function numberGrid(values, { colour, mark, caption, cls = "" } = {}) {
  const rows = values.map((row, i) => h("tr", {}, row.map((v, j) => {
    const cell = h("td", { "data-value": String(v) }, v === null ? "" : fmt(v, 2));
    if (colour) cell.style.background = colour(v, i, j);
    if (mark && mark(i, j)) cell.classList.add("ci-mark");
    return cell;
  })));
  return h("table", { class: `ci-grid ${cls}` }, caption ? h("caption", {}, caption) : null, h("tbody", {}, rows));
}

/** Readout as a definition list: [[term, value, key], ...]; key goes into data-readout. */
export function readout(items) {
  return h("dl", { class: "ci-readout" }, items.flatMap(([t, v, key]) =>
    [h("dt", {}, t), h("dd", { "data-readout": key || null }, v)]));
}

const CSS = `
.ci-root{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1d;
  border:1px solid #d6dbe1;border-radius:8px;padding:10px;margin:0.8em 0;background:#fbfcfd;
  max-width:100%;box-sizing:border-box;overflow-x:auto}
.ci-root *{box-sizing:border-box}
.ci-title{font-weight:600;margin:0 0 6px}
.ci-row{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:flex-start;margin:6px 0}
.ci-field{display:inline-flex;align-items:center;gap:5px;flex-wrap:wrap}
.ci-field label,.ci-label{font-size:13px;color:#333}
.ci-root button{font:inherit;font-size:13px;padding:3px 9px;border:1px solid #8a96a3;border-radius:5px;
  background:#fff;color:#1d1d1d;cursor:pointer;min-height:30px}
.ci-root button[aria-pressed="true"]{background:#2a6f97;border-color:#2a6f97;color:#fff}
.ci-root button:focus-visible,.ci-root input:focus-visible,.ci-root select:focus-visible{outline:3px solid #f4a261;outline-offset:1px}
.ci-root input[type=number],.ci-root input[type=text],.ci-root select{font:inherit;font-size:13px;padding:3px 4px;
  border:1px solid #8a96a3;border-radius:4px;background:#fff;color:#1d1d1d;min-height:30px}
.ci-grid{border-collapse:collapse;margin:2px 0;font-variant-numeric:tabular-nums}
.ci-grid caption{caption-side:top;font-size:12.5px;color:#333;text-align:left;padding-bottom:2px}
.ci-grid td{width:30px;height:30px;min-width:30px;text-align:center;font-size:11px;border:1px solid #c9ced4;padding:0;color:#111}
.ci-grid td.ci-mark{outline:3px solid #e76f51;outline-offset:-3px}
.ci-grid td.ci-changed{outline:3px solid #e63946;outline-offset:-3px}
.ci-readout{display:grid;grid-template-columns:fit-content(60%) 1fr;gap:2px 10px;margin:6px 0;font-size:13px}
.ci-readout dt{color:#444}.ci-readout dd{margin:0;font-weight:600}
.ci-note{font-size:13px;color:#333;margin:6px 0 0}
.ci-error{color:#9b2226;font-weight:600}
@media (max-width:480px){.ci-root{padding:6px}}
`;

/** The instrument's root: the data-instrument name, a title and the shared style sheet. */
export function root(el, name, title) {
  el.replaceChildren();
  const box = h("div", { class: "ci-root", "data-instrument": name }, h("style", {}, CSS),
    h("div", { class: "ci-title" }, title));
  el.append(box);
  return box;
}

/** Subscribe draw() to every key of the model; returns the cleanup function for render. */
export function watch(model, keys, draw) {
  const handlers = keys.map((k) => [`change:${k}`, () => draw()]);
  for (const [ev, f] of handlers) model.on(ev, f);
  return () => { for (const [ev, f] of handlers) model.off(ev, f); };
}

/** Set several model keys and send them to Python (a no-op in the static book). */
export function update(model, values) {
  for (const [k, v] of Object.entries(values)) model.set(k, v);
  model.save_changes();
}
