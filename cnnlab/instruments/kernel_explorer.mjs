// Kernel explorer: one 3x3 kernel slid over a hand-drawn 7 (9x9), with stride, padding and
// dilation. State (model keys): image (rows of 0/1), kernel (9 weights, row-major), stride,
// padding, dilation. Written back for Python: feature_map (rows), out_size [h, w].
import { conv2d, outSize, h, fmt, thousands, numberField, buttonGroup, setValue, signedColour,
  numberGrid, readout, root, watch, update } from "./common.mjs";

export const PRESETS = {
  EDGE: [-1, -1, -1, -1, 8, -1, -1, -1, -1],
  BLUR: Array(9).fill(1 / 9),
  SHARPEN: [0, -1, 0, -1, 5, -1, 0, -1, 0],
  IDENTITY: [0, 0, 0, 0, 1, 0, 0, 0, 0],
};

/** The numbers the instrument shows, for any state. */
export function compute({ image, kernel, stride, padding, dilation }) {
  const k = [kernel.slice(0, 3), kernel.slice(3, 6), kernel.slice(6, 9)];
  const hgt = image.length, wid = image[0].length;
  const oh = outSize(hgt, 3, stride, padding, dilation);
  const ow = outSize(wid, 3, stride, padding, dilation);
  const featureMap = oh > 0 && ow > 0 ? conv2d(image, k, stride, padding, dilation) : [];
  return { featureMap, outSize: [oh, ow], reuse: oh * ow, dense: hgt * wid * oh * ow };
}

function presetOf(kernel) {
  for (const [name, w] of Object.entries(PRESETS))
    if (w.every((v, i) => Math.abs(v - kernel[i]) < 1e-9)) return name;
  return "custom";
}

function render({ model, el }) {
  const box = root(el, "kernel-explorer", "Kernel explorer: one 3×3 kernel reused at every position");
  const state = () => ({
    image: model.get("image"), kernel: model.get("kernel"), stride: model.get("stride"),
    padding: model.get("padding"), dilation: model.get("dilation"),
  });

  const img0 = model.get("image");
  const cells = img0.map((row, r) => row.map((_, c) => h("button", {
    type: "button", class: "ke-cell", "aria-label": `pixel row ${r + 1}, column ${c + 1}`,
    onclick: () => {
      const img = model.get("image").map((x) => x.slice());
      img[r][c] = img[r][c] ? 0 : 1;
      update(model, { image: img });
    },
  })));
  const drawGrid = h("div", { class: "ke-draw", role: "group", "aria-label": "input pixels",
    style: `grid-template-columns:repeat(${img0[0].length}, 24px)` }, cells.flat());

  const presets = buttonGroup("kernel", [...Object.keys(PRESETS).map((n) => [n, n]), ["custom", "custom"]],
    (name) => { if (name !== "custom") update(model, { kernel: PRESETS[name].slice() }); });
  presets.buttons[presets.buttons.length - 1].disabled = true;
  presets.buttons[presets.buttons.length - 1].title = "type weights below to make your own";
  const weights = Array.from({ length: 9 }, (_, i) => numberField(
    `w${Math.floor(i / 3) + 1}${(i % 3) + 1}`, {
      step: 0.1, value: 0, width: "5.6em",
      onchange: (v) => { const k = model.get("kernel").slice(); k[i] = v; update(model, { kernel: k }); },
    }));
  for (const w of weights) w.wrap.querySelector("label").classList.add("ci-sr");
  const weightGrid = h("div", { class: "ke-weights", role: "group", "aria-label": "kernel weights, row by row" },
    weights.map((w) => w.wrap));
  const geo = {};
  for (const [key, label, min, max] of [["stride", "stride", 1, 3], ["padding", "padding", 0, 3],
    ["dilation", "dilation", 1, 4]])
    geo[key] = numberField(label, { min, max, value: model.get(key), onchange: (v) => update(model, { [key]: v }) });

  const out = h("div", { class: "ke-out" });
  const facts = h("div", {});
  const note = h("p", { class: "ci-note" });
  box.append(
    h("style", {}, `.ke-draw{display:grid;gap:1px;margin:2px 0}
.ci-root .ke-cell{width:24px;height:24px;min-height:24px;padding:0;border-radius:2px;border:1px solid #b5bcc4;background:#fff}
.ci-root .ke-cell[aria-pressed="true"]{background:#222;border-color:#222}
.ke-weights{display:grid;grid-template-columns:repeat(3,max-content);gap:3px}
.ci-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`),
    h("div", { class: "ci-row" },
      h("div", {}, h("div", { class: "ci-label" }, "input (click a cell to draw or erase)"), drawGrid),
      h("div", {}, presets.wrap, h("div", { class: "ci-label", style: "margin-top:6px" }, "weights (type to edit)"),
        weightGrid, h("div", { class: "ci-row" }, geo.stride.wrap, geo.padding.wrap, geo.dilation.wrap))),
    h("div", { class: "ci-row" }, out, facts), note);

  function draw() {
    const s = state();
    const img = s.image;
    img.forEach((row, r) => row.forEach((v, c) => cells[r][c].setAttribute("aria-pressed", String(Boolean(v)))));
    s.kernel.forEach((v, i) => setValue(weights[i].input, Number(fmt(v, 4))));
    for (const key of ["stride", "padding", "dilation"]) setValue(geo[key].input, s[key]);
    presets.show(presetOf(s.kernel));
    const r = compute(s);
    if (!r.featureMap.length) {
      out.replaceChildren(h("p", { class: "ci-error" },
        `The kernel spans ${2 * s.dilation + 1} pixels but the padded input is only ${img.length + 2 * s.padding}: lower the dilation or add padding.`));
      facts.replaceChildren();
      note.textContent = "";
      update(model, { feature_map: [], out_size: [0, 0] });
      return;
    }
    const vmax = Math.max(1e-9, ...r.featureMap.flat().map(Math.abs));
    out.replaceChildren(numberGrid(r.featureMap, {
      caption: `feature map ${r.outSize[0]} × ${r.outSize[1]}`, cls: "ke-map",
      colour: (v) => signedColour(v, vmax),
    }));
    facts.replaceChildren(readout([
      ["output size", `${r.outSize[0]} × ${r.outSize[1]}`, "output size"],
      ["weight reuse", `${r.reuse}×`, "weight reuse"],
      ["conv weights", "9", "conv weights"],
      ["dense weights", thousands(r.dense), "dense weights"],
    ]));
    note.textContent = `The same 9 weights produce all ${r.reuse} outputs. A dense layer mapping the ` +
      `${img.length * img[0].length} input pixels to the same ${r.reuse} outputs would need ${thousands(r.dense)} weights.`;
    update(model, { feature_map: r.featureMap, out_size: r.outSize });
  }
  const stop = watch(model, ["image", "kernel", "stride", "padding", "dilation"], draw);
  draw();
  return stop;
}

export default { render };
