"""Interactive instruments for the core ideas of the course (ipywidgets + matplotlib).

Six instruments, each a class with a factory function of the same name in snake case:

- :func:`kernel_explorer` -- draw on a 9x9 grid, pick or type a 3x3 kernel, set stride, padding
  and dilation, and watch the feature map and how often each weight is reused.
- :func:`conv_stepper` -- the kernel window stepping over a 5x5 input, with the nine products
  and their sum written out at each position.
- :func:`pooling_shift` -- shift a feature map by 0-3 pixels and see which pooled outputs move.
- :func:`feature_map_visualizer` -- stages of "same" conv + stride-2 pool: spatial size falls,
  channels rise, and the activation count of every stage is drawn as a bar.
- :func:`receptive_field_calculator` -- a stack of convs and pools, the receptive field and jump
  after every layer (table and plot), drawn as boxes over a photograph.
- :func:`filter_designer` -- type or pick a 3x3/5x5 kernel and see it applied to a photograph,
  in colour and in gray.

And one frame for any figure of your own: :func:`live` ties ipywidgets controls to a function
that draws matplotlib figures, with the same still view in the book (the labs use it).

The package has the frame every instrument shares in ``_instrument.py``, their starting data
in ``presets.py``, one file per instrument (``explorer.py``, ``stepper.py``, ``pooling.py``,
``feature_maps.py``, ``receptive_field.py``, ``filter_design.py``) and :func:`live` in
``live_panel.py``. Photographs come from :func:`cnnlab.data.sample_photo`.

Every number an instrument shows comes from :mod:`cnnlab.ops` or :mod:`cnnlab.receptive` (the
course has one implementation of each idea). The state lives in plain attributes, ``compute()``
returns the numbers behind the view and ``readout()`` the numbers as shown, so a test (or a
curious reader) can drive every control programmatically::

    >>> from cnnlab.widgets import kernel_explorer
    >>> ke = kernel_explorer()
    >>> ke.readout()["output size"], ke.readout()["weight reuse"]
    ('7 × 7', '49×')
    >>> ke.controls["padding"].value = 1
    >>> ke.readout()["output size"]
    '9 × 9'

Settings that cannot work (a kernel wider than the padded input, a map pooled down to nothing)
show a message in the instrument instead of a traceback; ``error`` holds it.

In Jupyter and Colab an instrument displays as a live widget. In the static book there is no
kernel behind the page, so the display also carries a still picture of the current view and a
line inviting the reader to launch the page live (``_repr_mimebundle_`` emits the widget view,
``image/png`` and ``text/html``; the book picks the HTML).
"""

from __future__ import annotations

from cnnlab.widgets._instrument import Instrument
from cnnlab.widgets.explorer import KernelExplorer, KernelResult, kernel_explorer
from cnnlab.widgets.feature_maps import FeatureMapVisualizer, Stage, feature_map_visualizer
from cnnlab.widgets.filter_design import FilterDesigner, FilterResult, filter_designer
from cnnlab.widgets.live_panel import Live, live
from cnnlab.widgets.pooling import PoolingShift, PoolResult, pooling_shift
from cnnlab.widgets.presets import FEATURE_MAP_8X8, FILTER_PRESETS, KERNELS_3X3, PHOTOS, SEVEN
from cnnlab.widgets.receptive_field import (
    ReceptiveFieldCalculator,
    parse_layers,
    receptive_field_calculator,
)
from cnnlab.widgets.stepper import ConvStepper, StepResult, conv_stepper

__all__ = [
    "SEVEN",
    "KERNELS_3X3",
    "FILTER_PRESETS",
    "FEATURE_MAP_8X8",
    "PHOTOS",
    "Instrument",
    "KernelResult",
    "StepResult",
    "PoolResult",
    "Stage",
    "FilterResult",
    "KernelExplorer",
    "ConvStepper",
    "PoolingShift",
    "FeatureMapVisualizer",
    "ReceptiveFieldCalculator",
    "FilterDesigner",
    "kernel_explorer",
    "conv_stepper",
    "pooling_shift",
    "feature_map_visualizer",
    "receptive_field_calculator",
    "filter_designer",
    "parse_layers",
    "Live",
    "live",
]
