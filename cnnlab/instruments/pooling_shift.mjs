// Pooling and small shifts: shift an 8x8 feature map by 0-3 pixels and see which pooled
// outputs change. State: feature_map (rows), shift, direction (right/down/diagonal), window
// (a name of WINDOWS), mode (max/average). Written back: pooled, pooled_shifted, n_changed.
import { pool2d, h, fmt, numberField, buttonGroup, selectField, numberGrid, readout, root, watch,
  update } from "./common.mjs";

export const WINDOWS = { "2×2, stride 2": [2, 2], "3×3, stride 2 (overlapping)": [3, 2], "4×4, stride 4": [4, 4] };
export const DIRECTIONS = { right: [0, 1], down: [1, 0], diagonal: [1, 1] };

/** Move the map's content down by dy and right by dx, filling with zeros. */
export function shift2d(x, dy, dx) {
  return x.map((row, i) => row.map((_, j) => (i - dy >= 0 && j - dx >= 0 ? x[i - dy][j - dx] : 0)));
}

export function compute({ feature_map: fm, shift, direction, window, mode }) {
  const [dy, dx] = DIRECTIONS[direction].map((v) => v * shift);
  const [k, s] = WINDOWS[window];
  const shifted = shift2d(fm, dy, dx);
  const pooled = pool2d(fm, k, s, mode === "max" ? "max" : "avg");
  const pooledShifted = pool2d(shifted, k, s, mode === "max" ? "max" : "avg");
  const changed = pooled.map((row, i) => row.map((v, j) => Math.abs(v - pooledShifted[i][j]) > 1e-8));
  return { shifted, pooled, pooledShifted, changed, nChanged: changed.flat().filter(Boolean).length };
}

function viridis(v, vmax) {
  const t = vmax > 0 ? Math.max(0, Math.min(1, v / vmax)) : 0;
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((a, n) => Math.round(a + f * (stops[i + 1][n] - a)));
  return `rgb(${c.join(",")})`;
}

function render({ model, el }) {
  const box = root(el, "pooling-shift", "Pooling: which outputs survive a small shift?");
  const state = () => ({ feature_map: model.get("feature_map"), shift: model.get("shift"),
    direction: model.get("direction"), window: model.get("window"), mode: model.get("mode") });
  const shift = numberField("shift (px)", { min: 0, max: 3, value: 1, onchange: (v) => update(model, { shift: v }) });
  const dir = buttonGroup("direction", Object.keys(DIRECTIONS).map((d) => [d, d]), (v) => update(model, { direction: v }));
  const win = selectField("pool", Object.keys(WINDOWS).map((w) => [w, w]), (v) => update(model, { window: v }));
  const mode = buttonGroup("mode", [["max", "max"], ["average", "average"]], (v) => update(model, { mode: v }));
  const pics = h("div", { class: "ci-row" });
  const facts = h("div", {});
  box.append(h("style", {}, ".ps-map td{color:#fff;text-shadow:0 0 2px #000}"),
    h("div", { class: "ci-row" }, shift.wrap, win.wrap), h("div", { class: "ci-row" }, dir.wrap, mode.wrap),
    pics, facts, h("p", { class: "ci-note" },
      "Red boxes mark the pooled outputs that differ after the shift. Max pooling keeps an output as " +
      "long as its peak stays inside the same window; averaging notices almost every move."));

  function draw() {
    const s = state();
    if (String(shift.input.value) !== String(s.shift)) shift.input.value = s.shift;
    dir.show(s.direction); mode.show(s.mode); win.select.value = s.window;
    const r = compute(s);
    const vmax = Math.max(1e-9, ...s.feature_map.flat());
    const col = (v) => viridis(v, vmax);
    pics.replaceChildren(
      numberGrid(s.feature_map, { caption: "feature map", colour: col, cls: "ps-map" }),
      numberGrid(r.shifted, { caption: `shifted ${s.shift} px ${s.direction}`, colour: col, cls: "ps-map" }),
      numberGrid(r.pooled, { caption: `${s.mode}-pooled`, colour: col, cls: "ps-map ps-pooled" }),
      numberGrid(r.pooledShifted, { caption: "pooled after shift", colour: col, cls: "ps-map ps-after" }));
    pics.querySelectorAll(".ps-after td").forEach((td, n) => {
      const w = r.pooled[0].length;
      if (r.changed[Math.floor(n / w)][n % w]) td.classList.add("ci-changed");
    });
    const flat = r.pooled.flat(), flat2 = r.pooledShifted.flat();
    facts.replaceChildren(readout([
      ["pooled outputs changed", `${r.nChanged} of ${flat.length}`, "changed"],
      ["pooled size", `${r.pooled.length} × ${r.pooled[0].length}`, "pooled size"],
      ["largest output", `${fmt(Math.max(...flat))} → ${fmt(Math.max(...flat2))}`, "largest"],
    ]));
    update(model, { pooled: r.pooled, pooled_shifted: r.pooledShifted, n_changed: r.nChanged });
  }
  const stop = watch(model, ["feature_map", "shift", "direction", "window", "mode"], draw);
  draw();
  return stop;
}

export default { render };
