// Runs the instruments' own JavaScript arithmetic on the cases in a JSON file and prints the
// results as JSON (tests/test_instruments.py compares them with cnnlab's NumPy functions).
// Usage: node tests/instruments/run_js.mjs cases.json
import { readFileSync } from "node:fs";
import * as ke from "../../cnnlab/instruments/kernel_explorer.mjs";
import * as cs from "../../cnnlab/instruments/conv_stepper.mjs";
import * as ps from "../../cnnlab/instruments/pooling_shift.mjs";
import * as fm from "../../cnnlab/instruments/feature_maps.mjs";
import * as rf from "../../cnnlab/instruments/receptive_field.mjs";
import * as fd from "../../cnnlab/instruments/filter_designer.mjs";

const run = {
  "kernel-explorer": (s) => ke.compute(s),
  "conv-stepper": (s) => cs.compute(s),
  "pooling-shift": (s) => ps.compute(s),
  "feature-maps": (s) => fm.compute(s),
  "receptive-field": (s) => rf.compute(s),
  "filter-designer": ({ width, height, rgb, kernel, normalise }) => {
    try {
      const r = fd.compute({ width, height, rgb: rgb.map((c) => Float64Array.from(c)) }, kernel, normalise);
      return { gray: Array.from(r.gray), colour: r.colour.map((c) => Array.from(c)), kernelSum: r.kernelSum };
    } catch (e) {
      return { error: e.message };
    }
  },
  "counts-spec": ({ convs, pools }) => rf.countsSpec(convs, pools),
};
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify(cases.map(([name, state]) => run[name](state))));
