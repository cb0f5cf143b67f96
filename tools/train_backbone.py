"""Train the course's photo backbone ("photonet") and store it in cnnlab/weights/.

    OMP_NUM_THREADS=1 python tools/train_backbone.py            # the stored run
    OMP_NUM_THREADS=1 python tools/train_backbone.py --steps 100 --out /tmp/quick   # a check

The network learns to tell which of the offline photographs (scikit-image, scikit-learn,
matplotlib; see cnnlab.pretrained.photo_sources) a random augmented 64x64 crop comes from.
Writes photonet.pt (trained and initial state dicts) and photonet.json (provenance: data, seed,
steps, time, accuracy, first-layer filter measures against the random start).

Reproducibility: the same seed on the same machine and torch version gives the same weights
bit for bit (one thread); elsewhere, the validation accuracy and the filter measures are
expected within the tolerance stored in the JSON.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from cnnlab.pretrained import filter_measures, random_filter_measures, train_photonet  # noqa: E402

TOLERANCE = {"val_accuracy": 0.05, "low_freq": 0.05, "orientation": 0.05, "chroma": 0.05,
             "cosine": 0.05}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parents[1] / "cnnlab" / "weights")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, initial, provenance = train_photonet(args.steps, args.batch, args.seed,
                                                log=lambda m: print(m, flush=True))
    w = model.features.conv1.weight
    trained = filter_measures(w, initial["features.conv1.weight"])
    start = filter_measures(initial["features.conv1.weight"])
    fresh = random_filter_measures(tuple(w.shape))
    provenance["first_layer"] = {
        "trained_mean": {k: round(float(v.mean()), 4) for k, v in trained.items()},
        "initial_mean": {k: round(float(v.mean()), 4) for k, v in start.items()},
        "random_init_mean_over_20_seeds": {k: round(float(v.mean()), 4) for k, v in fresh.items()},
        "random_init_sd_over_20_seeds": {k: round(float(v.std()), 4) for k, v in fresh.items()},
    }
    provenance["tolerance"] = TOLERANCE
    provenance["script"] = "tools/train_backbone.py"
    provenance["can_show"] = (
        "what a conv net's filters and units become when trained on natural photographs: "
        "first-layer edge and colour filters, units at three depths with their top patches, "
        "deconvnet projections, occlusion and Grad-CAM on photographs")
    provenance["cannot_show"] = (
        "object categories: it knows ~20 photographs, not objects; its classes mean 'which "
        "photograph', and its deeper units reflect textures and parts of those photographs, not "
        "ImageNet-scale object parts")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({"trained": model.state_dict(), "initial": initial}, args.out / "photonet.pt")
    (args.out / "photonet.json").write_text(json.dumps(provenance, indent=1) + "\n")
    print(json.dumps({k: provenance[k] for k in ("seconds", "train_accuracy", "val_accuracy")}))
    print(json.dumps(provenance["first_layer"], indent=1))


if __name__ == "__main__":
    main()
