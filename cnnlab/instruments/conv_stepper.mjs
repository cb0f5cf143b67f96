// Convolution stepper: a 3x3 kernel stepping over a small input (default 1..25 in a 5x5 grid),
// the nine products and their sum at each position. State: image (rows), kernel (a name of
// KERNELS), stride, padding, step (output position, row-major). Written back: total (the sum
// at this step), output (the whole map, rows).
import { conv2d, outSize, pad2d, h, fmt, numberField, selectField, signedColour, numberGrid,
  readout, root, watch, update } from "./common.mjs";

export const KERNELS = {
  "vertical edge (columns -1, 0, 1)": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
  "horizontal edge (rows -1, 0, 1)": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
  "box sum (all ones)": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
  "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
};

/** The window, products and sum at one step, and the whole output map. */
export function compute({ image, kernel, stride, padding, step }) {
  const k = KERNELS[kernel];
  const oh = outSize(image.length, 3, stride, padding), ow = outSize(image[0].length, 3, stride, padding);
  const positions = oh * ow;
  if (positions === 0) return { positions, oh, ow };
  const st = Math.max(0, Math.min(positions - 1, step));
  const [row, col] = [Math.floor(st / ow), st % ow];
  const xp = pad2d(image, padding);
  const window = [0, 1, 2].map((a) => [0, 1, 2].map((b) => xp[row * stride + a][col * stride + b]));
  const products = window.map((r, a) => r.map((v, b) => v * k[a][b]));
  const total = products.flat().reduce((s, v) => s + v, 0);
  return { positions, oh, ow, step: st, row, col, window, products, total,
    output: conv2d(image, k, stride, padding) };
}

function render({ model, el }) {
  const box = root(el, "conv-stepper", "Convolution, one step at a time");
  const state = () => ({ image: model.get("image"), kernel: model.get("kernel"),
    stride: model.get("stride"), padding: model.get("padding"), step: model.get("step") });
  const kern = selectField("kernel", Object.keys(KERNELS).map((n) => [n, n]),
    (v) => update(model, { kernel: v, step: 0 }));
  const stride = numberField("stride", { min: 1, max: 3, value: 1, onchange: (v) => update(model, { stride: v, step: 0 }) });
  const padding = numberField("padding", { min: 0, max: 2, value: 0, onchange: (v) => update(model, { padding: v, step: 0 }) });
  const position = numberField("position", { min: 0, value: 0, onchange: (v) => update(model, { step: v }) });
  let timer = null;
  const last = () => Math.max(0, compute(state()).positions - 1);
  const stepBy = (d) => update(model, { step: Math.max(0, Math.min(last(), model.get("step") + d)) });
  const prev = h("button", { type: "button", onclick: () => stepBy(-1) }, "◀ previous");
  const next = h("button", { type: "button", onclick: () => stepBy(1) }, "next ▶");
  const play = h("button", { type: "button", "aria-pressed": "false", onclick: () => {
    if (timer) { stopPlay(); return; }
    if (model.get("step") >= last()) update(model, { step: 0 });
    play.setAttribute("aria-pressed", "true"); play.textContent = "pause";
    timer = setInterval(() => { if (model.get("step") >= last()) stopPlay(); else stepBy(1); }, 900);
  } }, "play");
  function stopPlay() {
    clearInterval(timer); timer = null;
    play.setAttribute("aria-pressed", "false"); play.textContent = "play";
  }
  const pics = h("div", { class: "ci-row" });
  const facts = h("div", {});
  const eq = h("p", { class: "ci-note cs-eq" });
  box.append(h("div", { class: "ci-row" }, kern.wrap, stride.wrap, padding.wrap),
    h("div", { class: "ci-row" }, prev, next, play, position.wrap), pics, facts, eq);

  function draw() {
    const s = state();
    kern.select.value = s.kernel;
    for (const [f, v] of [[stride, s.stride], [padding, s.padding], [position, s.step]])
      if (String(f.input.value) !== String(v)) f.input.value = v;
    const r = compute(s);
    if (!r.positions) {
      pics.replaceChildren(h("p", { class: "ci-error" }, "The 3×3 window does not fit: add padding."));
      facts.replaceChildren(); eq.textContent = "";
      return;
    }
    position.input.max = r.positions - 1;
    const p = s.padding, st = s.stride;
    const xp = pad2d(s.image, p);
    const inside = (i, j) => i >= p && j >= p && i < s.image.length + p && j < s.image[0].length + p;
    const inWin = (i, j) => i >= r.row * st && i < r.row * st + 3 && j >= r.col * st && j < r.col * st + 3;
    const input = numberGrid(xp, { caption: p ? `input (zero padding ${p})` : "input",
      colour: (v, i, j) => (inWin(i, j) ? "#ffe3c2" : inside(i, j) ? "#e8f0f8" : "#e9e9e9"), mark: inWin });
    const pv = Math.max(1e-9, ...r.products.flat().map(Math.abs));
    const prods = numberGrid(r.products, { caption: "kernel × window", colour: (v) => signedColour(v, pv) });
    const ov = Math.max(1e-9, ...r.output.flat().map(Math.abs));
    const shown = r.output.map((row, i) => row.map((v, j) => (i * r.ow + j <= r.step ? v : null)));
    const outg = numberGrid(shown, { caption: `output ${r.oh} × ${r.ow}`, cls: "cs-output",
      colour: (v) => (v === null ? "#fff" : signedColour(v, ov)), mark: (i, j) => i === r.row && j === r.col });
    pics.replaceChildren(input, prods, outg);
    facts.replaceChildren(readout([
      ["position", `row ${r.row}, col ${r.col} (step ${r.step + 1} of ${r.positions})`, "position"],
      ["sum of products", fmt(r.total), "sum"],
      ["output size", `${r.oh} × ${r.ow}`, "output size"],
    ]));
    const k = KERNELS[s.kernel].flat();
    eq.textContent = r.window.flat().map((v, i) => `(${fmt(k[i])}×${fmt(v)})`).join(" + ") + ` = ${fmt(r.total)}`;
    update(model, { total: r.total, output: r.output });
  }
  const stop = watch(model, ["image", "kernel", "stride", "padding", "step"], draw);
  draw();
  return () => { stopPlay(); stop(); };
}

export default { render };
