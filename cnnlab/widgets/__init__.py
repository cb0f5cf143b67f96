"""``live``: a frame that ties ipywidgets controls to a function drawing matplotlib figures,
with a still view of the same figures in the static book (the labs use it for their own plots).

The course's instruments (kernel explorer, convolution stepper, pooling shift, feature-map
sizes, receptive field, filter designer) live in :mod:`cnnlab.instruments`: each one runs in the
browser page itself, in the book as in Jupyter and Colab, and each checks its numbers against
:mod:`cnnlab.ops` and :mod:`cnnlab.receptive`. Their first versions, ipywidgets panels redrawn
by the kernel, were in this package; they are retired, and asking for one of their names here
says where it went.
"""

from __future__ import annotations

from typing import Any

from cnnlab.widgets.live_panel import Live, live

__all__ = [
    "Live",
    "live",
]

# The retired ipywidgets instruments -> where each idea lives now.
_RETIRED = {
    "kernel_explorer": "cnnlab.instruments.KernelExplorer",
    "KernelExplorer": "cnnlab.instruments.KernelExplorer",
    "conv_stepper": "cnnlab.instruments.ConvStepper",
    "ConvStepper": "cnnlab.instruments.ConvStepper",
    "pooling_shift": "cnnlab.instruments.PoolingShift",
    "PoolingShift": "cnnlab.instruments.PoolingShift",
    "feature_map_visualizer": "cnnlab.instruments.FeatureMaps",
    "FeatureMapVisualizer": "cnnlab.instruments.FeatureMaps",
    "receptive_field_calculator": "cnnlab.instruments.ReceptiveField",
    "ReceptiveFieldCalculator": "cnnlab.instruments.ReceptiveField",
    "filter_designer": "cnnlab.instruments.FilterDesigner",
    "FilterDesigner": "cnnlab.instruments.FilterDesigner",
    "parse_layers": "cnnlab.receptive.parse_layers",
}


def __getattr__(name: str) -> Any:
    if name in _RETIRED:
        raise AttributeError(f"cnnlab.widgets.{name} was retired: use {_RETIRED[name]} (the "
                             "instrument that runs live in the book too)")
    raise AttributeError(f"module 'cnnlab.widgets' has no attribute {name!r}")
