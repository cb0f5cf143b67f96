// Feature-map visualizer: stages of a "same" k x k convolution (channels doubled from the first
// stage's count) and a 2x2 stride-2 pool (size halved). State: input_size, in_channels,
// base_channels, stages, kernel. Written back: rows (one per stage), memory_mib.
import { outSize, convParams, h, fmt, thousands, numberField, buttonGroup, selectField, readout,
  root, watch, update } from "./common.mjs";

const COLOURS = ["#f4a261", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#264653", "#9b5de5"];

/** One row per stage, or {error} when a stage's map is too small to pool. */
export function compute({ input_size, in_channels, base_channels, stages, kernel }) {
  let size = input_size, cin = in_channels;
  const rows = [];
  for (let i = 1; i <= stages; i++) {
    const cout = base_channels * 2 ** (i - 1);
    const conv = outSize(size, kernel, 1, Math.floor(kernel / 2));
    const pooled = outSize(conv, 2, 2);
    if (pooled < 1)
      return { rows, error: `Stage ${i} cannot pool its ${conv} × ${conv} map: a ${input_size}-pixel input ` +
        `allows at most ${rows.length} stages. Use fewer stages or a larger input.` };
    rows.push({ index: i, in_size: size, in_channels: cin, conv_size: conv, channels: cout, out_size: pooled,
      conv_activations: conv * conv * cout, out_activations: pooled * pooled * cout,
      params: convParams(cin, cout, kernel) });
    size = pooled; cin = cout;
  }
  const memory = rows.reduce((s, r) => s + r.conv_activations + r.out_activations, 0) * 4 / 2 ** 20;
  return { rows, memory };
}

function render({ model, el }) {
  const box = root(el, "feature-maps", "Feature maps: smaller and deeper, stage by stage");
  const keys = ["input_size", "in_channels", "base_channels", "stages", "kernel"];
  const state = () => Object.fromEntries(keys.map((k) => [k, model.get(k)]));
  const size = numberField("input size", { min: 16, max: 512, step: 16, value: 224,
    onchange: (v) => update(model, { input_size: Math.max(16, Math.round(v / 16) * 16) }) });
  const stages = numberField("stages", { min: 1, max: 8, value: 4, onchange: (v) => update(model, { stages: Math.round(v) }) });
  const base = selectField("first channels", [8, 16, 32, 64, 128].map((c) => [c, c]),
    (v) => update(model, { base_channels: Number(v) }));
  const cin = buttonGroup("input channels", [[1, "1 (gray)"], [3, "3 (colour)"]], (v) => update(model, { in_channels: Number(v) }));
  const kern = buttonGroup("kernel", [1, 3, 5, 7].map((k) => [k, `${k}×${k}`]), (v) => update(model, { kernel: Number(v) }));
  const vols = h("div", { class: "fm-vols", "aria-hidden": "true" });
  const table = h("div", { class: "fm-table" });
  const facts = h("div", {});
  const note = h("p", { class: "ci-note" });
  box.append(h("style", {}, `.fm-vols{display:flex;align-items:flex-end;gap:10px;flex-wrap:wrap;margin:8px 0}
.fm-vol{display:flex;flex-direction:column;align-items:center;font-size:11px;gap:3px}
.fm-vol div.b{border:1px solid #333;border-radius:2px}
.fm-table{max-width:100%;overflow-x:auto}
.fm-table table{border-collapse:collapse;font-size:12px;font-variant-numeric:tabular-nums}
.fm-table th,.fm-table td{border-bottom:1px solid #d6dbe1;padding:2px 3px;text-align:right}
.fm-bar{height:8px;background:#2a9d8f;display:block;margin-top:2px}`),
    h("div", { class: "ci-row" }, size.wrap, stages.wrap, base.wrap), h("div", { class: "ci-row" }, cin.wrap, kern.wrap),
    vols, table, facts, note);

  function draw() {
    const s = state();
    for (const [f, v] of [[size, s.input_size], [stages, s.stages]]) if (String(f.input.value) !== String(v)) f.input.value = v;
    base.select.value = String(s.base_channels); cin.show(s.in_channels); kern.show(s.kernel);
    const r = compute(s);
    if (r.error) {
      vols.replaceChildren(); facts.replaceChildren();
      table.replaceChildren(h("p", { class: "ci-error" }, r.error)); note.textContent = "";
      update(model, { rows: [], memory_mib: 0 });
      return;
    }
    const hmax = Math.log2(s.input_size);
    const cmax = Math.log2(Math.max(s.in_channels, ...r.rows.map((x) => x.channels))) + 1;
    const vol = (sz, ch, label, col) => h("div", { class: "fm-vol" },
      h("div", { class: "b", style: `height:${Math.round(8 + 70 * Math.log2(Math.max(sz, 1)) / hmax)}px;` +
        `width:${Math.round(4 + 40 * (Math.log2(ch) + 1) / cmax)}px;background:${col}` }),
      h("span", {}, label), h("span", {}, `${sz}×${sz}×${ch}`));
    vols.replaceChildren(vol(s.input_size, s.in_channels, "input", "#bcd4e6"),
      ...r.rows.map((x, i) => vol(x.out_size, x.channels, `stage ${x.index}`, COLOURS[i % COLOURS.length])));
    const amax = Math.max(...r.rows.map((x) => x.conv_activations));
    table.replaceChildren(h("table", {},
      h("caption", { style: "text-align:left;font-size:12.5px" }, "Each stage: a conv (same size), then a 2×2 pool, stride 2. Activations: the conv's output, H × W × C."),
      h("thead", {}, h("tr", {}, ["stage", "conv", "pooled", "activations", "params"].map((t) => h("th", {}, t)))),
      h("tbody", {}, r.rows.map((x) => h("tr", { "data-stage": x.index },
        h("td", {}, x.index), h("td", {}, `${x.conv_size}²×${x.channels}`), h("td", { "data-out": `${x.out_size},${x.channels}` }, `${x.out_size}²×${x.channels}`),
        h("td", { "data-activations": x.conv_activations, style: "text-align:left" },
          thousands(x.conv_activations),
          h("span", { class: "fm-bar", style: `width:${Math.max(1, Math.round(70 * x.conv_activations / amax))}px` })),
        h("td", { "data-params": x.params }, thousands(x.params)))))));
    const last = r.rows[r.rows.length - 1];
    facts.replaceChildren(readout([
      ["final map", `${last.out_size} × ${last.out_size}`, "final map"],
      ["final channels", String(last.channels), "final channels"],
      ["parameters", thousands(r.rows.reduce((a, x) => a + x.params, 0)), "parameters"],
      ["memory of the maps, float32", `${fmt(r.memory, 1)} MiB`, "memory"],
    ]));
    const first = r.rows[0];
    note.textContent = `Stage 1 holds ${thousands(first.conv_activations)} activations with ${thousands(first.params)} ` +
      `parameters; stage ${last.index} holds ${thousands(last.conv_activations)} with ${thousands(last.params)}. ` +
      `Storing every map of one image in float32 takes ${fmt(r.memory, 1)} MiB, which training keeps for the backward pass.`;
    update(model, { rows: r.rows, memory_mib: r.memory });
  }
  const stop = watch(model, keys, draw);
  draw();
  return stop;
}

export default { render };
