// Filter designer: a 3x3 kernel applied live to a photograph, each colour channel and the gray
// image, with reflect padding so the output keeps the photograph's size. State: kernel (9
// weights, row-major), normalise (divide by the sum), display (auto / clip / stretch / abs),
// photos ({name: PNG data URL}), photo (the name shown). Written back: kernel_sum, gray_range.
import { h, fmt, numberField, selectField, buttonGroup, setValue, signedColour, readout, root,
  watch, update } from "./common.mjs";

export const PRESETS = {
  "Sobel x (vertical edges)": [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  "Sobel y (horizontal edges)": [-1, -2, -1, 0, 0, 0, 1, 2, 1],
  "horizontal edge (by hand)": [-1, -1, -1, 0, 0, 0, 1, 1, 1],
  "vertical edge (by hand)": [-1, 0, 1, -1, 0, 1, -1, 0, 1],
  "Laplacian": [0, 1, 0, 1, -4, 1, 0, 1, 0],
  "box blur": Array(9).fill(1 / 9),
  "Gaussian": [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16),
  "sharpen": [0, -1, 0, -1, 5, -1, 0, -1, 0],
  "emboss": [-2, -1, 0, -1, 1, 1, 0, 1, 2],
  "identity": [0, 0, 0, 0, 1, 0, 0, 0, 0],
};
export const DISPLAYS = ["auto", "clip to [0, 1]", "stretch min-max", "absolute value"];
export const GRAY = [0.2125, 0.7154, 0.0721];

/** The kernel as applied (3x3 rows): divided by its sum when asked; throws if that sum is 0. */
export function effectiveKernel(kernel, normalise) {
  let k = kernel.slice();
  if (normalise) {
    const s = k.reduce((a, v) => a + v, 0);
    if (Math.abs(s) < 1e-12) throw new Error("The weights sum to 0, so they cannot be divided by their sum: " +
      "untick 'divide by the sum' (edge filters are meant to sum to 0).");
    k = k.map((v) => v / s);
  }
  return k;
}

/** 3x3 cross-correlation of a (h*w) Float64Array with NumPy-style "reflect" padding by 1. */
export function filter3x3(x, hgt, wid, k) {
  const out = new Float64Array(hgt * wid);
  const ref = (i, n) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  for (let r = 0; r < hgt; r++)
    for (let c = 0; c < wid; c++) {
      let acc = 0;
      for (let a = 0; a < 3; a++) {
        const rr = ref(r + a - 1, hgt) * wid;
        for (let b = 0; b < 3; b++) acc += k[3 * a + b] * x[rr + ref(c + b - 1, wid)];
      }
      out[r * wid + c] = acc;
    }
  return out;
}

/** NumPy's default (linear) percentile of the absolute values. */
function absPercentile(x, q) {
  const a = Float64Array.from(x, Math.abs).sort();
  const pos = (q / 100) * (a.length - 1), i = Math.floor(pos), f = pos - i;
  return i + 1 < a.length ? a[i] + f * (a[i + 1] - a[i]) : a[i];
}

/** Map responses to [0, 1] for showing (auto: zero-sum kernels centred at mid-gray). */
export function toDisplay(resp, mode, kernelSum) {
  if (mode === "auto") mode = Math.abs(kernelSum) < 1e-9 ? "centred" : "clip to [0, 1]";
  if (mode === "clip to [0, 1]") return resp.map((v) => Math.min(1, Math.max(0, v)));
  if (mode === "absolute value") {
    const v = Math.max(absPercentile(resp, 99.5), 1e-12);
    return resp.map((x) => Math.min(1, Math.abs(x) / v));
  }
  if (mode === "stretch min-max") {
    let lo = Infinity, hi = -Infinity;
    for (const v of resp) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    return resp.map((v) => (v - lo) / Math.max(hi - lo, 1e-12));
  }
  const v = Math.max(absPercentile(resp, 99.5), 1e-12);
  return resp.map((x) => Math.min(1, Math.max(0, 0.5 + 0.5 * x / v)));
}

/** Responses of an image given as {width, height, rgb: [R, G, B] Float64Arrays in [0, 1]}. */
export function compute(img, kernel, normalise) {
  const k = effectiveKernel(kernel, normalise);
  const n = img.width * img.height;
  const gray = new Float64Array(n);
  for (let i = 0; i < n; i++) gray[i] = GRAY[0] * img.rgb[0][i] + GRAY[1] * img.rgb[1][i] + GRAY[2] * img.rgb[2][i];
  const colour = img.rgb.map((ch) => filter3x3(ch, img.height, img.width, k));
  const g = filter3x3(gray, img.height, img.width, k);
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const v of g) { lo = Math.min(lo, v); hi = Math.max(hi, v); sum += v; }
  return { kernel: k, kernelSum: k.reduce((a, v) => a + v, 0), colour, gray: g, min: lo, max: hi, mean: sum / n };
}

function presetOf(kernel) {
  for (const [name, w] of Object.entries(PRESETS))
    if (w.every((v, i) => Math.abs(v - kernel[i]) < 1e-9)) return name;
  return "custom";
}

function decode(url) {
  return new Promise((resolve, reject) => {
    const im = new Image();
    im.onload = () => {
      const cv = document.createElement("canvas");
      cv.width = im.naturalWidth; cv.height = im.naturalHeight;
      const ctx = cv.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(im, 0, 0);
      const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
      const n = cv.width * cv.height;
      const rgb = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[c][i] = d[4 * i + c] / 255;
      resolve({ width: cv.width, height: cv.height, rgb });
    };
    im.onerror = () => reject(new Error("the photograph could not be decoded"));
    im.src = url;
  });
}

function paint(canvas, width, height, channels) {
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d");
  const im = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) im.data[4 * i + c] = Math.round(255 * channels[channels.length === 1 ? 0 : c][i]);
    im.data[4 * i + 3] = 255;
  }
  ctx.putImageData(im, 0, 0);
}

function render({ model, el }) {
  const box = root(el, "filter-designer", "Filter designer: your 3×3 kernel on a photograph");
  const photoNames = Object.keys(model.get("photos"));
  const preset = selectField("preset", [...Object.keys(PRESETS), "custom"].map((n) => [n, n]),
    (v) => { if (v !== "custom") update(model, { kernel: PRESETS[v].slice() }); });
  preset.select.querySelector('option[value="custom"]').disabled = true;
  const weights = Array.from({ length: 9 }, (_, i) => numberField(`weight row ${Math.floor(i / 3) + 1}, column ${(i % 3) + 1}`, {
    step: 0.1, value: 0, width: "4.6em",
    onchange: (v) => { const k = model.get("kernel").slice(); k[i] = v; update(model, { kernel: k }); },
  }));
  for (const w of weights) w.wrap.querySelector("label").classList.add("fd-sr");
  const normId = `fd-norm-${Math.random().toString(36).slice(2, 8)}`;
  const norm = h("input", { type: "checkbox", id: normId });
  norm.addEventListener("change", () => update(model, { normalise: norm.checked }));
  const display = selectField("display", DISPLAYS.map((d) => [d, d]), (v) => update(model, { display: v }));
  const photo = buttonGroup("photo", photoNames.map((n) => [n, n]), (v) => update(model, { photo: v }));
  const canv = [0, 1, 2].map(() => h("canvas", { class: "fd-canvas" }));
  const captions = ["photograph", "filtered, each colour", "filtered, gray"];
  const facts = h("div", {});
  const note = h("p", { class: "ci-note" });
  box.append(h("style", {}, `.fd-weights{display:grid;grid-template-columns:repeat(3,max-content);gap:3px}
.fd-canvas{width:160px;max-width:100%;height:auto;image-rendering:auto;border:1px solid #c9ced4;display:block}
.fd-pics figure{margin:0;font-size:12.5px}
.fd-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}`),
    h("div", { class: "ci-row" },
      h("div", {}, h("div", { class: "ci-label" }, "weights (type to edit)"),
        h("div", { class: "fd-weights", role: "group", "aria-label": "kernel weights, row by row" }, weights.map((w) => w.wrap))),
      h("div", {}, h("div", { class: "ci-row" }, preset.wrap),
        h("div", { class: "ci-row" }, h("span", { class: "ci-field" }, norm, h("label", { for: normId }, "divide by the sum"))),
        h("div", { class: "ci-row" }, display.wrap), photoNames.length > 1 ? h("div", { class: "ci-row" }, photo.wrap) : null)),
    h("div", { class: "ci-row fd-pics" }, canv.map((c, i) => h("figure", {}, c, h("figcaption", {}, captions[i])))),
    facts, note);

  const cache = {};  // decoded photographs, by data URL
  let generation = 0;
  async function draw() {
    const k = model.get("kernel");
    k.forEach((v, i) => setValue(weights[i].input, Number(fmt(v, 4))));
    preset.select.value = presetOf(k);
    norm.checked = Boolean(model.get("normalise"));
    display.select.value = model.get("display");
    photo.show(model.get("photo"));
    const gen = ++generation;
    const name = model.get("photo");
    const url = model.get("photos")[name];
    let img;
    try {
      img = cache[url] || (cache[url] = await decode(url));
    } catch (e) {
      note.replaceChildren(h("span", { class: "ci-error" }, e.message));
      return;
    }
    if (gen !== generation) return;
    let r;
    try {
      r = compute(img, k, model.get("normalise"));
    } catch (e) {
      paint(canv[0], img.width, img.height, img.rgb);
      facts.replaceChildren();
      note.replaceChildren(h("span", { class: "ci-error", role: "alert" }, e.message));
      return;
    }
    paint(canv[0], img.width, img.height, img.rgb);
    paint(canv[1], img.width, img.height, r.colour.map((ch) => toDisplay(ch, model.get("display"), r.kernelSum)));
    paint(canv[2], img.width, img.height, [toDisplay(r.gray, model.get("display"), r.kernelSum)]);
    const kmax = Math.max(1e-9, ...r.kernel.map(Math.abs));
    weights.forEach((w, i) => { w.input.style.background = signedColour(r.kernel[i], kmax / 0.55); });
    facts.replaceChildren(readout([
      ["sum of weights", fmt(r.kernelSum), "sum"],
      ["gray response range", `${fmt(r.min)} … ${fmt(r.max)}`, "range"],
    ]));
    const dd = facts.querySelector('[data-readout="range"]');
    dd.dataset.min = r.min; dd.dataset.max = r.max; dd.dataset.mean = r.mean;
    let text;
    if (r.kernel.every((v) => v === 0)) text = "All weights are 0, so every output is 0.";
    else if (Math.abs(r.kernelSum) < 1e-9) text = "The weights sum to 0: flat regions give 0 (mid-gray) and only changes in brightness respond, as in an edge detector.";
    else if (Math.abs(r.kernelSum - 1) < 1e-9) text = "The weights sum to 1: flat regions keep their brightness.";
    else text = `The weights sum to ${fmt(r.kernelSum)}: flat regions are multiplied by that factor (tick 'divide by the sum' to keep the brightness).`;
    note.textContent = text;
    box.dataset.ready = "true";
    update(model, { kernel_sum: r.kernelSum, gray_range: [r.min, r.max] });
  }
  const stop = watch(model, ["kernel", "normalise", "display", "photo", "photos"], draw);
  draw();
  return stop;
}

export default { render };
