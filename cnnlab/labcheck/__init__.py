"""Checkers for the labs: each one judges a learner's function against cnnlab's tested code.

A checker takes the learner's function (and whatever the lab has built, e.g. a network), calls it
on several inputs, and returns a :class:`Verdict`: true when the function is right, false with a
message that says what is wrong. It prints the verdict unless ``quiet=True``. Three rules:

- a checker never raises, whatever it is given (a string, a bare int, NaN, a function that
  crashes): it says what came and what was expected;
- a stub (a body that still raises ``NotImplementedError`` or returns ``None``) is reported as
  *not attempted yet*, a neutral line and no error output;
- the expected values come from cnnlab's own tested functions (``cnnlab.ops``,
  ``cnnlab.models``, ``cnnlab.train``) or from properties, never from a reference solution:
  the reference solutions live outside the learner's notebook (``solutions/`` in the
  repository) and are only merged in by ``make instructor``.

Each lab's checkers are listed in :data:`TASKS` under ``"labNN/task-id"``; a notebook cell that
holds a learner's answer carries the same id in its metadata (``{"cnnlab": {"task": ...}}``),
which is how ``tools/instructor.py`` knows where each reference solution goes.

>>> import numpy as np
>>> def stub(x, w, b, stride, pad):
...     raise NotImplementedError
>>> bool(check_conv_forward(stub, quiet=True))
False
>>> check_conv_forward(stub, quiet=True).attempted
False
"""

from __future__ import annotations

from collections.abc import Callable

from cnnlab.labcheck._core import (
    Verdict,
    attempt,
    compare,
    numerical_gradient,
    relative_error,
    yours_or,
)
from cnnlab.labcheck.design import (
    DesignLog,
    run_design,
)
from cnnlab.labcheck.lab01 import (
    PAPER_IMAGE,
    PAPER_KERNEL,
    SOBEL_X,
    START_KERNELS,
    TEST_IMAGES,
    check_blur,
    check_corr2d,
    check_diagonal,
    check_edge_map,
    check_first_two,
    check_vertical,
    sobel_magnitude,
)
from cnnlab.labcheck.lab02 import (
    check_padding,
    check_params,
    check_schedule,
    check_shapes,
    check_train_step,
    fit_with_schedule,
)
from cnnlab.labcheck.lab03 import (
    check_box,
    check_guess,
    check_randomized_copy,
    check_unpool,
)
from cnnlab.labcheck.lab04 import (
    SPEC_NET,
    check_conv_backward,
    check_conv_forward,
    check_counts,
    check_evaluate,
    check_maxpool_backward,
    check_maxpool_forward,
    check_numerical_gradient,
    check_residual_forward,
    check_shortcut_a,
    check_spec_net,
)
from cnnlab.labcheck.lab05 import (
    check_freeze,
    check_head,
    check_norms_eval,
    check_optimizer,
    freeze_first,
    make_optimizer,
    norms_in_eval,
    replace_head,
)
from cnnlab.labcheck.lab06 import (
    check_contrast,
    check_fgsm,
    check_pgd,
    check_smallest_flip,
    fgsm,
    pgd,
    smallest_flip,
)

__all__ = [
    "Verdict",
    "TASKS",
    "attempt",
    "compare",
    "numerical_gradient",
    "relative_error",
    "yours_or",
    "PAPER_IMAGE",
    "PAPER_KERNEL",
    "SOBEL_X",
    "START_KERNELS",
    "TEST_IMAGES",
    "check_first_two",
    "check_corr2d",
    "check_vertical",
    "check_blur",
    "check_diagonal",
    "sobel_magnitude",
    "check_edge_map",
    "check_unpool",
    "check_box",
    "check_guess",
    "check_randomized_copy",
    "check_padding",
    "check_shapes",
    "check_params",
    "check_train_step",
    "check_schedule",
    "fit_with_schedule",
    "check_numerical_gradient",
    "check_conv_forward",
    "check_conv_backward",
    "check_maxpool_forward",
    "check_maxpool_backward",
    "check_residual_forward",
    "check_shortcut_a",
    "check_counts",
    "check_evaluate",
    "check_spec_net",
    "SPEC_NET",
    "freeze_first",
    "replace_head",
    "make_optimizer",
    "check_freeze",
    "check_head",
    "check_optimizer",
    "norms_in_eval",
    "check_norms_eval",
    "fgsm",
    "smallest_flip",
    "check_fgsm",
    "check_smallest_flip",
    "check_contrast",
    "pgd",
    "check_pgd",
    "DesignLog",
    "run_design",
]

# ---------------------------------------------------------------------------------------------
# The task registry: "labNN/task-id" -> (names of the learner's functions, checker)
# ---------------------------------------------------------------------------------------------

TASKS: dict[str, tuple[tuple[str, ...], Callable[..., Verdict]]] = {
    "lab01/first_two": (("my_first_two",), check_first_two),
    "lab01/corr2d": (("corr2d",), check_corr2d),
    "lab01/vertical": (("my_vertical",), check_vertical),
    "lab01/blur": (("my_blur",), check_blur),
    "lab01/diagonal": (("my_diagonal",), check_diagonal),
    "lab01/edge_map": (("edge_map",), check_edge_map),
    "lab02/pad_to_32": (("pad_to_32",), check_padding),
    "lab02/shapes": (("my_shapes",), check_shapes),
    "lab02/params": (("my_params",), check_params),
    "lab02/train_step": (("train_step",), check_train_step),
    "lab02/schedule": (("train_with_schedule",), check_schedule),
    "lab04/conv_forward": (("conv_forward",), check_conv_forward),
    "lab04/conv_backward": (("conv_backward",), check_conv_backward),
    "lab04/numerical_gradient": (("numerical_gradient",), check_numerical_gradient),
    "lab04/maxpool_forward": (("maxpool_forward",), check_maxpool_forward),
    "lab04/maxpool_backward": (("maxpool_backward",), check_maxpool_backward),
    "lab04/residual_forward": (("residual_forward",), check_residual_forward),
    "lab04/shortcut_a": (("shortcut_a",), check_shortcut_a),
    "lab04/counts": (("cifar_depth", "cifar_params"), check_counts),
    "lab04/evaluate": (("evaluate_accuracy",), check_evaluate),
    "lab04/build_net": (("build_net",), check_spec_net),
    "lab05/freeze_first": (("freeze_first",), check_freeze),
    "lab05/replace_head": (("replace_head",), check_head),
    "lab05/make_optimizer": (("make_optimizer",), check_optimizer),
    "lab05/norms_in_eval": (("norms_in_eval",), check_norms_eval),
    "lab06/fgsm": (("fgsm",), check_fgsm),
    "lab06/smallest_flip": (("smallest_flip",), check_smallest_flip),
    "lab06/contrast": (("contrast",), check_contrast),
    "lab06/pgd": (("pgd",), check_pgd),
    "lab03/unpool_window": (("unpool_window",), check_unpool),
    "lab03/box": (("my_box",), check_box),
    "lab03/guess": (("my_guess",), check_guess),
    "lab03/randomized_copy": (("randomized_copy",), check_randomized_copy),
}
