"""Looking inside a trained conv net: how we *know* what its filters respond to.

Zeiler and Fergus (2014) attached a "deconvnet" to a trained network: keep one activation of one
feature map, set every other activation of that layer to zero, and map it back down to the
pixels, layer by layer -- unpool through the max-pooling switches recorded on the way up,
rectify, and filter with the transposed weights of the same convolution.  What arrives in pixel
space is the input pattern that activation stands for.

Going down a network is what backpropagation does, and the three classic pictures differ in one
place only, what a ReLU lets through (:func:`relu_backward`):

================  ==============================================================
rule              a ReLU with forward input ``x`` passes the signal ``g`` as ...
================  ==============================================================
``"gradient"``    ``g`` where ``x > 0`` (the true gradient; Simonyan et al., 2014)
``"deconvnet"``   ``relu(g)``, whatever ``x`` was (Zeiler & Fergus, 2014)
``"guided"``      ``relu(g)`` where ``x > 0`` (guided backprop; Springenberg et al., 2015)
================  ==============================================================

Convolutions go down through the transposed convolution with the same weights and max pooling
sends each value back to the place it came from, under all three rules.

The package reads in this order (one file each):

1. ``layers.py``: which layers a model has (:func:`feature_layers`, :func:`feature_maps`);
2. ``deconvnet.py``: the three rules at a ReLU (:func:`relu_backward`) and :class:`DeconvNet`,
   the deconvnet written out layer by layer as in the paper;
3. ``attribution.py``: the same rules through autograd (:func:`relu_rule`,
   :func:`backward_with_rule`, :func:`saliency`, :func:`guided_backprop`) -- the tests check
   that both routes agree;
4. ``experiments.py``: the paper's experiments: :func:`top_activations` (figure 2),
   :func:`occlusion` (figure 7) and :func:`feature_evolution` (figure 4), plotted by
   :mod:`cnnlab.viz`.

Nothing here leaves a trace on the model: its training mode, its modules and its hooks are as
they were after every call.
"""

from __future__ import annotations

from cnnlab.inside.attribution import backward_with_rule, guided_backprop, relu_rule, saliency
from cnnlab.inside.deconvnet import DeconvNet, Projection, relu_backward
from cnnlab.inside.experiments import (
    FeatureEvolution,
    OcclusionMaps,
    Snapshots,
    TopActivation,
    feature_evolution,
    occlusion,
    top_activations,
)
from cnnlab.inside.layers import RULES, feature_layers, feature_maps
from cnnlab.inside.layers import LayerSpec as LayerSpec
from cnnlab.inside.layers import Rule as Rule

__all__ = [
    "RULES",
    "feature_layers",
    "feature_maps",
    "relu_backward",
    "Projection",
    "DeconvNet",
    "relu_rule",
    "backward_with_rule",
    "saliency",
    "guided_backprop",
    "TopActivation",
    "top_activations",
    "OcclusionMaps",
    "occlusion",
    "FeatureEvolution",
    "feature_evolution",
    "Snapshots",
]
