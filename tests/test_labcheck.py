"""The labs' checkers: each reference solution passes, each typical mistake fails with a message
that says what is wrong, odd answers (a string, a bare int, NaN) never crash a checker, and the
student notebooks contain no reference solution."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from cnnlab import inside, models, ops
from cnnlab import labcheck as L

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
sys.path.insert(0, str(ROOT / "tools"))
import instructor  # noqa: E402
from labcheck_support import fails, load_solution  # noqa: E402

load = load_solution
S1 = load("lab01")
S3 = load("lab03")
S4 = load("lab04")
S5 = load("lab05")
S6 = load("lab06")

torch.manual_seed(0)
SOURCE5 = models.LeNet5("modern", num_classes=10, in_channels=3)
HEAD5 = "classifier.output"


def blocks5(model):
    return [model.get_submodule(n)
            for n in ("features.c1", "features.c3", "features.c5", "classifier.f6")]


torch.manual_seed(1)
NET6 = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10)).eval()   # flips at varied eps
for _p in NET6.parameters():
    _p.requires_grad_(False)
_g = torch.Generator().manual_seed(2)
X6 = ((torch.rand(16, 1, 32, 32, generator=_g) > 0.8).float()
      * torch.rand(16, 1, 32, 32, generator=_g))            # sparse "ink" on black, median 0
Y6 = NET6(X6).argmax(1)
GRID6 = [round(0.0005 * k, 4) for k in range(1, 41)]

_g2 = torch.Generator().manual_seed(3)
BG2 = -0.425
X28 = torch.where(torch.rand(8, 1, 28, 28, generator=_g2) > 0.8,
                  torch.rand(8, 1, 28, 28, generator=_g2) * 3, torch.full((8, 1, 28, 28), BG2))
X32 = F.pad(X28, (2, 2, 2, 2), value=BG2)   # what cnnlab.data's size=32 gives, for these
IMAGES2 = torch.randn(64, 1, 32, 32, generator=_g2)
LABELS2 = torch.randint(0, 10, (64,), generator=_g2)
LENET = models.LeNet5("modern")
WEIGHTED2 = {"c1": LENET.features.c1, "c3": LENET.features.c3, "c5": LENET.features.c5,
             "f6": LENET.classifier.f6, "output": LENET.classifier.output}


def _centre_net():
    """A network that sees its class 0 only in the centre of a 32x32 image (for Task C)."""
    net = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Flatten(), nn.Linear(32 * 32, 2))
    with torch.no_grad():
        w = torch.zeros(2, 32, 32)
        w[0, 13:19, 13:19] = 1.0
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
        net[2].weight.copy_(w.reshape(2, -1))
        net[2].bias.copy_(torch.tensor([0.0, 10.0]))
    return net.eval()


_IMG3 = torch.zeros(1, 32, 32)
_IMG3[0, 8:24, 8:24] = 1.0
MAPS3 = inside.occlusion(_centre_net(), _IMG3, 0, window=8, stride=2)   # worst near (16, 16)

# The arguments each checker takes after the learner's functions (what the notebook passes).
CONTEXT = {
    "lab02/pad_to_32": (X28, X32, BG2),
    "lab02/shapes": (LENET,),
    "lab02/params": (WEIGHTED2,),
    "lab02/train_step": (IMAGES2, LABELS2),
    "lab02/schedule": (IMAGES2, LABELS2),
    "lab05/freeze_first": (SOURCE5, blocks5),
    "lab05/replace_head": (SOURCE5, HEAD5, torch.randn(2, 3, 32, 32)),
    "lab05/make_optimizer": (SOURCE5, HEAD5, blocks5),
    "lab06/fgsm": (NET6, X6, Y6),
    "lab06/smallest_flip": (NET6, X6[:5], Y6[:5], GRID6),
    "lab06/contrast": (X6,),
    "lab03/guess": (MAPS3,),
}
S2 = load("lab02")
S2.BACKGROUND = BG2
MODULES = {"lab01": S1, "lab03": S3, "lab02": S2, "lab04": S4, "lab05": S5, "lab06": S6}


@pytest.mark.parametrize("task", sorted(L.TASKS))
def test_reference_passes(task):
    names, check = L.TASKS[task]
    module = MODULES[task.split("/")[0]]
    verdict = check(*[getattr(module, n) for n in names], *CONTEXT.get(task, ()), quiet=True)
    assert verdict, verdict


# ------------------------------------------------------------------------------ lab 1

FIRST_TWO_MISTAKES = {
    "wrong sign": ((-23, -22), ("wrong sign",)),
    "top row not subtracted": ((26, 25), ("top row",)),
    "moved down": ((23, 24), ("moved the kernel down",)),
    "a bare int": (23, ("give 2 numbers",)),
    "three numbers": ((23, 22, 21), ("exactly 2",)),
    "a string": ("23, 22", ("not a string",)),
    "NaN": ((float("nan"), 22), ("not a finite number",)),
    "one missing": ((23, None), ("still None",)),
}


@pytest.mark.parametrize("name", list(FIRST_TWO_MISTAKES))
def test_first_two_mistakes(name):
    answer, words = FIRST_TWO_MISTAKES[name]
    fails(L.check_first_two(answer, quiet=True), *words)


def _loops(image, kernel, dtype=float):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1), dtype=dtype)
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(kernel * image[r:r + kh, c:c + kw])
    return out


def corr2d_integer_output(image, kernel):       # np.zeros(..., dtype=int): fractions cut off
    return _loops(image, kernel, dtype=int)


def corr2d_integer_inputs(image, kernel):       # the arithmetic done in whole numbers
    return _loops(image.astype(int), kernel.astype(int)).astype(float)


def corr2d_short(image, kernel):                # range(H - kh): the last row is missing
    return _loops(image, kernel)[:-1, :-1]


def corr2d_flipped(image, kernel):              # true convolution: kernel turned by 180 degrees
    return _loops(image, kernel[::-1, ::-1])


def corr2d_transposed_kernel(image, kernel):    # kernel[v, u] instead of kernel[u, v]
    if kernel.shape[0] != kernel.shape[1]:
        return _loops(image.T, kernel).T
    return _loops(image, kernel.T)


def corr2d_in_place(image, kernel):             # flips the caller's kernel and back, wrongly
    kernel *= -1
    return -_loops(image, kernel)


def corr2d_out_of_range(image, kernel):         # one window too many: runs off the image
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for r in range(out.shape[0] + 1):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(kernel * image[r:r + kh, c:c + kw])
    return out


CORR2D_MISTAKES = {
    corr2d_integer_output: ("holds integers",),
    corr2d_integer_inputs: ("values are not",),
    corr2d_short: ("one row and one column short",),
    corr2d_flipped: ("flipped the kernel",),
    corr2d_transposed_kernel: ("rows and columns of the kernel are swapped",),
    corr2d_in_place: ("in place",),
    corr2d_out_of_range: ("past the edge",),
}


@pytest.mark.parametrize("mistake", list(CORR2D_MISTAKES), ids=lambda f: f.__name__)
def test_corr2d_mistakes(mistake):
    message = fails(L.check_corr2d(mistake, quiet=True), *CORR2D_MISTAKES[mistake])
    if mistake is not corr2d_short:                 # the shape is right: never blamed
        assert "expected shape" not in message, message


def test_corr2d_accepts_a_list_of_lists():
    assert L.check_corr2d(lambda i, k: S1.corr2d(i, k).tolist(), quiet=True)


KERNEL_MISTAKES = {
    "vertical: still horizontal": (L.check_vertical, L.PAPER_KERNEL * 2, ("turn it",)),
    "vertical: flat responds": (L.check_vertical, np.array([[0, 0, 0], [0, 1, 1], [0, 0, 0]]),
                                ("sum to 0",)),
    "vertical: diagonal": (L.check_vertical, np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]),
                           ("horizontal step",)),
    "vertical: 2x2": (L.check_vertical, np.array([[-1, 1], [-1, 1]]), ("3x3 or 5x5",)),
    "vertical: a string": (L.check_vertical, "[[-1, 0, 1]] * 3", ("not a string",)),
    "vertical: NaN weight": (L.check_vertical, np.array([[-1, 0, np.nan]] * 3), ("finite",)),
    "blur: times 9": (L.check_blur, np.ones((3, 3)), ("divide every weight",)),
    "blur: sharpens": (L.check_blur, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
                       ("sharpens",)),
    "blur: rows only": (L.check_blur, np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]]) / 3,
                        ("smooths too little",)),
    "blur: one row of five": (L.check_blur, np.pad(np.ones((1, 5)) / 5, ((2, 2), (0, 0))),
                              ("horizontal step stays sharp",)),
    "blur: a shift": (L.check_blur, np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]]),
                      ("copies or moves",)),
    "diagonal: flat responds": (L.check_diagonal, np.eye(3)[::-1], ("sum to 0",)),
    "diagonal: the other way": (L.check_diagonal,
                                np.array([[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]),
                                ("\\ line",)),
    "diagonal: transposed start": (L.check_diagonal, L.START_KERNELS["my_diagonal"][0].T,
                                   ("vertical line",)),
}


@pytest.mark.parametrize("name", list(KERNEL_MISTAKES))
def test_kernel_mistakes(name):
    check, kernel, words = KERNEL_MISTAKES[name]
    fails(check(kernel, quiet=True), *words)


def test_other_good_kernels_pass():
    assert L.check_vertical(np.outer([1, 2, 1], [1, 0, -1]), quiet=True)        # Sobel, flipped
    assert L.check_vertical(torch.tensor(S1.my_vertical), quiet=True)
    assert L.check_blur(np.full((5, 5), 1 / 25), quiet=True)
    assert L.check_blur(np.ones((3, 3), dtype=int) / 9, quiet=True)


def _sobel_pair(image):
    return ops.corr2d(image, L.SOBEL_X), ops.corr2d(image, L.SOBEL_X.T)


def edge_squared(image):                        # Gx^2 + Gy^2: the root forgotten
    gx, gy = _sobel_pair(image)
    return gx ** 2 + gy ** 2


def edge_normalised(image):                     # rescaled to a maximum of 1 for display
    e = S1.edge_map(image)
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / e.max()


def edge_in_place(image):                       # shifts the caller's photograph
    image -= image.mean()
    return S1.edge_map(image)


def edge_integer(image):                        # percent, as whole numbers
    return (100 * S1.edge_map(image)).astype(int)


def edge_one_way(image):
    return np.abs(_sobel_pair(image)[0])


def edge_no_magnitude(image):
    gx, gy = _sobel_pair(image)
    return gx + gy


EDGE_MISTAKES = {
    edge_squared: ("square root",),
    edge_normalised: ("NaN", "maximum"),
    edge_in_place: ("in place",),
    edge_integer: ("integers",),
    edge_one_way: ("horizontal edges give only",),
    edge_no_magnitude: ("magnitude",),
    (lambda image: image): ("flat region",),
    (lambda image: ops.corr2d(image, np.full((3, 3), 1 / 9))): ("flat region",),
    (lambda image: 1 - S1.edge_map(image)): ("flat region",),
    (lambda image: torch.tensor(S1.edge_map(image)).unsqueeze(0)): ("2-D map",),
}


@pytest.mark.parametrize("mistake", list(EDGE_MISTAKES),
                         ids=[w[0] for w in EDGE_MISTAKES.values()])
def test_edge_map_mistakes(mistake):
    message = fails(L.check_edge_map(mistake, quiet=True), *EDGE_MISTAKES[mistake])
    if mistake is edge_normalised:
        assert "is fine" in message                 # never blames the right shape


def edge_prewitt(image):
    return np.hypot(ops.corr2d(image, L.PAPER_KERNEL.T), ops.corr2d(image, L.PAPER_KERNEL))


def edge_forward(image):                        # 2-pixel differences, |gx| + |gy|
    gx = ops.corr2d(image, np.array([[-1.0, 1.0]]))[:-1, :]
    gy = ops.corr2d(image, np.array([[-1.0], [1.0]]))[:, :-1]
    return np.abs(gx) + np.abs(gy)


@pytest.mark.parametrize("detector", [
    edge_prewitt, edge_forward,
    lambda image: S1.edge_map(ndimage.uniform_filter(image, 5)),      # smoothed first
    lambda image: S1.edge_map(ndimage.gaussian_filter(image, 1.5)),
    lambda image: torch.tensor(S1.edge_map(image)),
], ids=["prewitt", "forward", "box5", "gauss1.5", "tensor"])
def test_other_edge_detectors_pass(detector):
    assert L.check_edge_map(detector, quiet=True)


# ------------------------------------------------------------------------------ lab 3

def unpool_swapped(value, switch, top, left, width):      # rows and columns mixed up
    col, row = divmod(switch, width)
    block = np.zeros((2, 2))
    block[(row - top) % 2, (col - left) % 2] = value
    return block


def unpool_spread(value, switch, top, left, width):       # fills the whole window
    return np.full((2, 2), value)


def unpool_integer(value, switch, top, left, width):      # np.zeros(..., dtype=int)
    block = np.zeros((2, 2), dtype=int)
    row, col = divmod(switch, width)
    block[row - top, col - left] = value
    return block


def unpool_wrong_width(value, switch, top, left, width):  # a square map assumed
    block = np.zeros((2, 2))
    row, col = divmod(switch, 6)
    block[(row - top) % 2, (col - left) % 2] = value
    return block


def unpool_marks_one(value, switch, top, left, width):    # the switch, not the value
    block = np.zeros((2, 2))
    row, col = divmod(switch, width)
    block[row - top, col - left] = 1
    return block


def unpool_absolute(value, switch, top, left, width):     # corner not subtracted
    block = np.zeros((2, 2))
    row, col = divmod(switch, width)
    block[row, col] = value
    return block


UNPOOL_MISTAKES = {
    unpool_swapped: ("wrong places",),
    unpool_spread: ("more than one nonzero",),
    unpool_integer: ("integers",),
    unpool_wrong_width: ("wrong places",),
    unpool_marks_one: ("pooled value",),
    unpool_absolute: ("IndexError",),
}


@pytest.mark.parametrize("mistake", list(UNPOOL_MISTAKES), ids=lambda f: f.__name__)
def test_unpool_mistakes(mistake):
    fails(L.check_unpool(mistake, quiet=True), *UNPOOL_MISTAKES[mistake])


BOX_MISTAKES = {
    "no jump": ((3, 5, 13, 15), ("jump",)),
    "inclusive": ((6, 10, 19, 23), ("exclusive",)),
    "transposed": ((10, 6, 24, 20), ("rows and columns are swapped",)),
    "height and width": ((6, 10, 14, 14), ("height and width",)),
    "moved": ((8, 12, 22, 26), ("wrong place",)),
    "upside down": ((20, 24, 6, 10), ("empty box",)),
    "a string": ("(6, 10, 20, 24)", ("not a string",)),
    "a fraction": ((6, 10, 20, 24.5), ("whole numbers",)),
    "two numbers": ((6, 10), ("exactly 4",)),
}


@pytest.mark.parametrize("name", list(BOX_MISTAKES))
def test_box_mistakes(name):
    box, words = BOX_MISTAKES[name]
    fails(L.check_box(box, quiet=True), *words)


GUESS_MISTAKES = {
    "background": ((4, 4), ("Look at the map",)),
    "a string": ("16, 16", ("not a string",)),
    "NaN": ((float("nan"), 16), ("finite",)),
    "outside": ((40, 16), ("outside",)),
    "a bare int": (16, ("give 2 numbers",)),
}


@pytest.mark.parametrize("name", list(GUESS_MISTAKES))
def test_guess_mistakes(name):
    guess, words = GUESS_MISTAKES[name]
    fails(L.check_guess(guess, MAPS3, quiet=True), *words)


# ------------------------------------------------------------------------------ lab 2

PAD_MISTAKES = {
    (lambda x: F.pad(x, (2, 2, 2, 2))): ("border is 0",),
    (lambda x: F.pad(x, (0, 4, 0, 4), value=BG2)): ("row 0, column 0",),
    (lambda x: F.interpolate(x, size=(32, 32), mode="bilinear")): ("stretch",),
    (lambda x: F.pad(x, (2, 2, 0, 0), value=BG2)): ("expected shape",),
    (lambda x: F.pad(x, (2, 2, 2, 2), value=BG2).numpy()): ("NumPy",),
    (lambda x: F.pad(x, (2, 2, 2, 2), value=BG2).double()): ("dtype",),
}


@pytest.mark.parametrize("mistake", list(PAD_MISTAKES),
                         ids=[w[0] for w in PAD_MISTAKES.values()])
def test_padding_mistakes(mistake):
    fails(L.check_padding(mistake, X28, X32, BG2, quiet=True), *PAD_MISTAKES[mistake])


def test_padding_in_place():
    def normalises_in_place(x):
        x.mul_(2)
        return F.pad(x / 2, (2, 2, 2, 2), value=BG2)

    fails(L.check_padding(normalises_in_place, X28, X32, BG2, quiet=True), "in place")


SHAPES = dict(S2.my_shapes)
SHAPE_MISTAKES = {
    "batch dimension": ({**SHAPES, "c1": (1, 6, 28, 28)}, ("batch dimension",)),
    "channels last": ({**SHAPES, "c1": (28, 28, 6)}, ("channels come first",)),
    "same padding": ({**SHAPES, "c1": (6, 32, 32)}, ("N - 5 + 1",)),
    "N - k": ({**SHAPES, "c1": (6, 27, 27)}, ("off by one",)),
    "c5 flattened": ({**SHAPES, "c5": (120,)}, ("still a convolution",)),
    "a string": ({**SHAPES, "c1": "6x28x28"}, ("not a string",)),
    "a float": ({**SHAPES, "s2": (6, 14.0, 14)}, ("whole number",)),
    "one missing": ({**SHAPES, "f6": None}, ("f6: no answer yet",)),
}


@pytest.mark.parametrize("name", list(SHAPE_MISTAKES))
def test_shape_mistakes(name):
    answer, words = SHAPE_MISTAKES[name]
    fails(L.check_shapes(answer, LENET, quiet=True), *words)


PARAMS = dict(S2.my_params)
PARAM_MISTAKES = {
    "no biases": ({**PARAMS, "c1": 150}, ("bias",)),
    "paper's C3": ({**PARAMS, "c3": 1_516}, ("partly connected",)),
    "one input map": ({**PARAMS, "c3": 16 * 26}, ("input maps",)),
    "bias per input": ({**PARAMS, "f6": 120 * 85}, ("per output unit",)),
    "a string": ({**PARAMS, "c1": "156"}, ("a string",)),
    "not a dict": (61_706, ("a bare number",)),
}


@pytest.mark.parametrize("name", list(PARAM_MISTAKES))
def test_param_mistakes(name):
    answer, words = PARAM_MISTAKES[name]
    fails(L.check_params(answer, WEIGHTED2, quiet=True), *words)


def step_no_zero_grad(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_no_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def step_zero_grad_late(model, optimizer, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def step_returns_tensor(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def step_loss_after(model, optimizer, loss_fn, x, y):
    S2.train_step(model, optimizer, loss_fn, x, y)
    with torch.no_grad():
        return loss_fn(model(x), y).item()


STEP_MISTAKES = {step_no_zero_grad: ("zero_grad() in every step",),
                 step_no_step: ("optimizer.step()",), step_zero_grad_late: ("before backward",),
                 step_returns_tensor: ("Python float",), step_loss_after: ("before the step",),
                 (lambda *a: "0.3"): ("a string",)}


@pytest.mark.parametrize("mistake", list(STEP_MISTAKES), ids=lambda f: f.__name__)
def test_train_step_mistakes(mistake):
    fails(L.check_train_step(mistake, IMAGES2, LABELS2, quiet=True), *STEP_MISTAKES[mistake])


def _loop(model, batches, epochs, lr, kind="sgd", per_batch=False, step=True, gamma=0.5):
    opt = (torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9) if kind == "sgd"
           else torch.optim.Adam(model.parameters(), lr=lr))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=gamma)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        for x, y in batches:
            S2.train_step(model, opt, nn.CrossEntropyLoss(), x, y)
            if per_batch:
                sched.step()
        if step and not per_batch:
            sched.step()
    return rates


SCHEDULE_MISTAKES = {
    (lambda m, b, e, lr: _loop(m, b, e, lr, per_batch=True)): ("every 2 *batches*",),
    (lambda m, b, e, lr: _loop(m, b, e, lr, step=False)): ("never changes",),
    (lambda m, b, e, lr: _loop(m, b, e, lr, kind="adam")): ("Adam",),
    (lambda m, b, e, lr: _loop(m, b, e, lr)[:-1]): ("list of the 5",),
    (lambda m, b, e, lr: [lr] * e if _loop(m, b, e, lr) else None): ("rates you return",),
    (lambda m, b, e, lr: [lr] * e): ("no parameter moved",),
    (lambda m, b, e, lr: _loop(m, b, e, lr, gamma=0.1)): ("schedule's are",),
}


@pytest.mark.parametrize("mistake", list(SCHEDULE_MISTAKES),
                         ids=[w[0] for w in SCHEDULE_MISTAKES.values()])
def test_schedule_mistakes(mistake):
    fails(L.check_schedule(mistake, IMAGES2, LABELS2, quiet=True), *SCHEDULE_MISTAKES[mistake])


def test_fit_with_schedule_passes():
    assert L.check_schedule(lambda m, b, e, lr: L.fit_with_schedule(m, b, e, lr, progress=False),
                            IMAGES2, LABELS2, quiet=True)


# ------------------------------------------------------------------------------ lab 4, NumPy

def conv_int_output(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, w, b, stride, pad).astype(int)


def conv_flipped(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, w[:, :, ::-1, ::-1], b, stride, pad)


def conv_no_bias(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, w, np.zeros_like(b), stride, pad)


def conv_ignores_stride(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, w, b, 1, pad)


def conv_ignores_padding(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, w, b, stride, 0)


def conv_transposed_kernel(x, w, b, stride=1, pad=0):
    return S4.conv_forward(x, np.swapaxes(w, 2, 3), b, stride, pad)


def conv_pads_in_place(x, w, b, stride=1, pad=0):
    x -= x.mean()                          # "normalises" the caller's array
    return S4.conv_forward(x, w, b, stride, pad)


def conv_nan(x, w, b, stride=1, pad=0):
    out = S4.conv_forward(x, w, b, stride, pad)
    out[0, 0, 0, 0] = np.nan
    return out


CONV_MISTAKES = {
    conv_int_output: ("integers",),
    conv_flipped: ("flipped the kernel",),
    conv_no_bias: ("bias",),
    conv_ignores_stride: ("expected shape", "stride is ignored"),
    conv_ignores_padding: ("expected shape", "padding is missing"),
    conv_transposed_kernel: ("swapped",),
    conv_pads_in_place: ("in place",),
    conv_nan: ("NaN",),
    (lambda x, w, b, stride=1, pad=0: "12x3"): ("a string",),
    (lambda x, w, b, stride=1, pad=0: 7): ("a bare number",),
    (lambda x, w, b, stride=1, pad=0:
     torch.tensor(S4.conv_forward(x, w, b, stride, pad)).permute(0, 1, 3, 2)):
        ("expected shape",),
}


@pytest.mark.parametrize("mistake", list(CONV_MISTAKES), ids=lambda f: f.__name__)
def test_conv_forward_mistakes(mistake):
    message = fails(L.check_conv_forward(mistake, quiet=True), *CONV_MISTAKES[mistake])
    if "expected shape" not in CONV_MISTAKES[mistake]:
        assert "expected shape" not in message


def conv_db_per_example(dout, x, w, b, stride=1, pad=0):
    dx, dw, _ = S4.conv_backward(dout, x, w, b, stride, pad)
    return dx, dw, dout.sum(axis=(2, 3))


def conv_db_first_example(dout, x, w, b, stride=1, pad=0):
    dx, dw, _ = S4.conv_backward(dout, x, w, b, stride, pad)
    return dx, dw, dout.sum(axis=(2, 3))[0]


def conv_dw_overwritten(dout, x, w, b, stride=1, pad=0):
    dx, _, db = S4.conv_backward(dout, x, w, b, stride, pad)
    _, dw, _ = S4.conv_backward(dout[:1], x[:1], w, b, stride, pad)
    return dx, dw, db


def conv_dx_padded(dout, x, w, b, stride=1, pad=0):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx, dw, db = S4.conv_backward(dout, xp, w, b, stride, 0)
    return dx, dw, db


def conv_dx_no_overlap(dout, x, w, b, stride=1, pad=0):     # '=' instead of '+=' in dx
    _, kh, kw = w.shape[1:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] = np.tensordot(
                dout[:, :, i, j], w, axes=([1], [0]))
    _, dw, db = S4.conv_backward(dout, x, w, b, stride, pad)
    return dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]], dw, db


def conv_backward_two(dout, x, w, b, stride=1, pad=0):
    return S4.conv_backward(dout, x, w, b, stride, pad)[:2]


def conv_backward_float32(dout, x, w, b, stride=1, pad=0):
    return tuple(g.astype(np.int32) for g in S4.conv_backward(dout, x, w, b, stride, pad))


CONV_BACK_MISTAKES = {
    conv_db_per_example: ("db", "expected shape", "batch"),
    conv_db_first_example: ("db", "every example"),
    conv_dw_overwritten: ("dw", "first example"),
    conv_dx_padded: ("dx", "expected shape", "padding"),
    conv_dx_no_overlap: ("dx", "overlap"),
    conv_backward_two: ("(dx, dw, db)",),
    conv_backward_float32: ("integers",),
    (lambda dout, x, w, b, stride=1, pad=0: float("nan")): ("(dx, dw, db)", "a bare number"),
}


@pytest.mark.parametrize("mistake", list(CONV_BACK_MISTAKES), ids=lambda f: f.__name__)
def test_conv_backward_mistakes(mistake):
    fails(L.check_conv_backward(mistake, quiet=True), *CONV_BACK_MISTAKES[mistake])


def num_grad_no_half(f, x, dout, h=1e-5):
    return 2 * S4.numerical_gradient(f, x, dout, h)


def num_grad_forward_difference_sign(f, x, dout, h=1e-5):
    return -S4.numerical_gradient(f, x, dout, h)


def num_grad_not_restored(f, x, dout, h=1e-5):
    grad = S4.numerical_gradient(f, x, dout, h)
    x.flat[0] += h
    return grad


def num_grad_ignores_dout(f, x, dout, h=1e-5):
    return S4.numerical_gradient(f, x, np.ones_like(dout), h)


NUM_MISTAKES = {num_grad_no_half: ("2h",), num_grad_forward_difference_sign: ("sign",),
                num_grad_not_restored: ("put every entry back",),
                num_grad_ignores_dout: ("dout",)}


@pytest.mark.parametrize("mistake", list(NUM_MISTAKES), ids=lambda f: f.__name__)
def test_numerical_gradient_mistakes(mistake):
    fails(L.check_numerical_gradient(mistake, quiet=True), *NUM_MISTAKES[mistake])


def pool_transposed(x, size, stride):
    return S4.maxpool_forward(x, size[::-1], stride)


def pool_mean(x, size, stride):
    ph, pw = size
    out = S4.maxpool_forward(x, size, stride)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + ph,
                                j * stride:j * stride + pw].mean(axis=(2, 3))
    return out


def pool_int(x, size, stride):
    return S4.maxpool_forward(x, size, stride).astype(np.int64)


def pool_in_place(x, size, stride):
    out = S4.maxpool_forward(x, size, stride)
    x[:] = 0
    return out


POOL_MISTAKES = {pool_transposed: ("rows",), pool_mean: ("mean",), pool_int: ("integers",),
                 pool_in_place: ("in place",),
                 (lambda x, size, stride: "pooled"): ("a string",)}


@pytest.mark.parametrize("mistake", list(POOL_MISTAKES), ids=lambda f: f.__name__)
def test_maxpool_forward_mistakes(mistake):
    message = fails(L.check_maxpool_forward(mistake, quiet=True), *POOL_MISTAKES[mistake])
    if mistake in (pool_mean, pool_int, pool_in_place):
        assert "expected shape" not in message


def pool_back_overwrites(dout, x, size, stride):
    ph, pw = size
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols]
            winner = window == window.max(axis=(2, 3), keepdims=True)
            part = dx[:, :, rows, cols]
            part[winner] = (winner * dout[:, :, i, j][:, :, None, None])[winner]
    return dx


def pool_back_everyone(dout, x, size, stride):
    ph, pw = size
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += \
                dout[:, :, i, j][:, :, None, None]
    return dx


def pool_back_transposed(dout, x, size, stride):
    return S4.maxpool_backward(dout, x, size[::-1], stride) if size[0] != size[1] else \
        S4.maxpool_backward(dout, x, size, stride)


POOL_BACK_MISTAKES = {pool_back_overwrites: ("+=",), pool_back_everyone: ("only the pixel",),
                      pool_back_transposed: ("values are not",),
                      (lambda dout, x, size, stride: None): ()}


@pytest.mark.parametrize("mistake", list(POOL_BACK_MISTAKES), ids=lambda f: f.__name__)
def test_maxpool_backward_mistakes(mistake):
    verdict = L.check_maxpool_backward(mistake, quiet=True)
    if POOL_BACK_MISTAKES[mistake]:
        message = fails(verdict, *POOL_BACK_MISTAKES[mistake])
        assert "expected shape" not in message
    else:
        assert not verdict and not verdict.attempted


# ------------------------------------------------------------------------------ lab 4, torch

def residual_relu_first(block, h):
    return F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(h)))))) + h


def residual_calls_block(block, h):
    return block(h)


def residual_always_train(block, h):
    mode = block.training
    block.train()
    out = S4.residual_forward(block, h)
    block.train(mode)
    return out


def residual_wrong_order(block, h):
    return F.relu(h + block.bn2(block.conv2(block.bn1(F.relu(block.conv1(h))))))


def residual_numpy(block, h):
    return S4.residual_forward(block, h).numpy()


RESIDUAL_MISTAKES = {residual_relu_first: ("after adding",), residual_calls_block: ("block(h)",),
                     residual_always_train: ("train-mode",), residual_wrong_order: ("order",),
                     residual_numpy: ("NumPy",)}


@pytest.mark.parametrize("mistake", list(RESIDUAL_MISTAKES), ids=lambda f: f.__name__)
def test_residual_mistakes(mistake):
    message = fails(L.check_residual_forward(mistake, quiet=True), *RESIDUAL_MISTAKES[mistake])
    assert "expected shape" not in message


def shortcut_both_sides(h, out_channels, stride=2):
    extra = out_channels - h.shape[1]
    return F.pad(h[:, :, ::stride, ::stride], (0, 0, 0, 0, extra // 2, extra - extra // 2))


def shortcut_max_pool(h, out_channels, stride=2):
    pooled = F.max_pool2d(h, stride, ceil_mode=True)
    return F.pad(pooled, (0, 0, 0, 0, 0, out_channels - h.shape[1]))


def shortcut_front(h, out_channels, stride=2):
    return F.pad(h[:, :, ::stride, ::stride], (0, 0, 0, 0, out_channels - h.shape[1], 0))


def shortcut_pads_space(h, out_channels, stride=2):
    return F.pad(h[:, :, ::stride, ::stride], (0, out_channels - h.shape[1]))


def shortcut_float64(h, out_channels, stride=2):
    return S4.shortcut_a(h, out_channels, stride).double()


SHORTCUT_MISTAKES = {shortcut_both_sides: ("both sides",), shortcut_max_pool: ("maximum",),
                     shortcut_front: ("in front",), shortcut_pads_space: ("expected shape",),
                     shortcut_float64: ("dtype",)}


@pytest.mark.parametrize("mistake", list(SHORTCUT_MISTAKES), ids=lambda f: f.__name__)
def test_shortcut_mistakes(mistake):
    message = fails(L.check_shortcut_a(mistake, quiet=True), *SHORTCUT_MISTAKES[mistake])
    if mistake is not shortcut_pads_space:
        assert "expected shape" not in message


def test_shortcut_message_never_repeats_the_shape():
    message = fails(L.check_shortcut_a(shortcut_both_sides, quiet=True))
    shapes = re.findall(r"\(2, \d+, \d+, \d+\)", message)
    assert len(shapes) <= 1, message


def params_builds(n, width=16, in_channels=3, num_classes=10):
    from cnnlab import models
    return models.count_params(models.resnet_cifar(6 * n + 2, width=width,
                                                   in_channels=in_channels,
                                                   num_classes=num_classes))


COUNT_MISTAKES = {
    (lambda n: 6 * n, S4.cifar_params): ("first convolution",),
    (S4.cifar_depth, lambda n, w, c, k: S4.cifar_params(n, w, c, k) - k): ("bias per class",),
    (S4.cifar_depth, params_builds): ("formula",),
    (lambda n: "6n+2", S4.cifar_params): ("a string",),
    (S4.cifar_depth, lambda n, w, c, k: str(S4.cifar_params(n, w, c, k))): ("a string",),
}


@pytest.mark.parametrize("pair", list(COUNT_MISTAKES),
                         ids=[w[0] for w in COUNT_MISTAKES.values()])
def test_count_mistakes(pair):
    fails(L.check_counts(*pair, quiet=True), *COUNT_MISTAKES[pair])


def evaluate_no_eval(model, batches):
    correct = seen = 0
    with torch.no_grad():
        for x, y in batches:
            correct += int((model(x).argmax(1) == y).sum())
            seen += len(y)
    return correct / seen


def evaluate_leaves_eval(model, batches):
    model.eval()
    return evaluate_no_eval(model, batches)


def evaluate_percent(model, batches):
    return 100 * S4.evaluate_accuracy(model, batches)


def evaluate_last_batch(model, batches):
    return S4.evaluate_accuracy(model, batches[-1:])


EVAL_MISTAKES = {evaluate_no_eval: ("model.eval()",), evaluate_leaves_eval: ("left the model",),
                 evaluate_percent: ("percentage",), evaluate_last_batch: ("last batch",),
                 (lambda m, b: "97%"): ("a string",), (lambda m, b: float("nan")): ("NaN",)}


@pytest.mark.parametrize("mistake", list(EVAL_MISTAKES), ids=lambda f: f.__name__)
def test_evaluate_mistakes(mistake):
    fails(L.check_evaluate(mistake, quiet=True), *EVAL_MISTAKES[mistake])


def _units(c_in, c_out, bias=False, pad=1, relu=True):
    return [nn.Conv2d(c_in, c_out, 3, padding=pad, bias=bias), nn.BatchNorm2d(c_out)] + (
        [nn.ReLU()] if relu else [])


NET_MISTAKES = {
    "biases": (lambda: nn.Sequential(*_units(1, 16, True), nn.MaxPool2d(2), *_units(16, 32, True),
                                     *_units(32, 32, True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(32, 10)), ("no bias",)),
    "no padding": (lambda: nn.Sequential(*_units(1, 16, pad=0), nn.MaxPool2d(2),
                                         *_units(16, 32), *_units(32, 32),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                         nn.Linear(32, 10)), ("pad by 1",)),
    "no relu": (lambda: nn.Sequential(*_units(1, 16, relu=False), nn.MaxPool2d(2),
                                      *_units(16, 32, relu=False), *_units(32, 32, relu=False),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)),
                ("ReLU",)),
    "no batch norm": (lambda: nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                            nn.MaxPool2d(2), *_units(16, 32), *_units(32, 32),
                                            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                            nn.Linear(32, 10)), ("batch-norm",)),
    "a layer short": (lambda: nn.Sequential(*_units(1, 16), nn.MaxPool2d(2), *_units(16, 32),
                                            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                            nn.Linear(32, 10)), ("layer",)),
    "a class": (lambda: nn.Conv2d, ("nn.Module",)),
    "an int": (lambda: 14_458, ("nn.Module", "a bare number")),
}


@pytest.mark.parametrize("name", list(NET_MISTAKES))
def test_spec_net_mistakes(name):
    build, words = NET_MISTAKES[name]
    fails(L.check_spec_net(build, quiet=True), *words)


# ------------------------------------------------------------------------------ lab 5

def freeze_with_eval(model, blocks, k):
    for block in blocks[:k]:
        block.eval()
    return model


def freeze_never_unfreeze(model, blocks, k):
    for block in blocks[:k]:
        block.requires_grad_(False)
    return model


def freeze_one_too_many(model, blocks, k):
    return S5.freeze_first(model, blocks, k + 1)


def freeze_weights_only(model, blocks, k):
    model.requires_grad_(True)
    for block in blocks[:k]:
        block.weight.requires_grad_(False)
    return model


def freeze_no_return(model, blocks, k):
    S5.freeze_first(model, blocks, k)


def freeze_no_grad(model, blocks, k):
    with torch.no_grad():
        return model


FREEZE_MISTAKES = {freeze_with_eval: ("eval()",), freeze_never_unfreeze: ("trainable again",),
                   freeze_one_too_many: ("off by one",), freeze_weights_only: ("biases",),
                   freeze_no_return: ("not attempted",), freeze_no_grad: ("no_grad",)}


@pytest.mark.parametrize("mistake", list(FREEZE_MISTAKES), ids=lambda f: f.__name__)
def test_freeze_mistakes(mistake):
    verdict = L.check_freeze(mistake, SOURCE5, blocks5, quiet=True)
    assert not verdict
    for word in FREEZE_MISTAKES[mistake]:
        assert word in verdict.message, verdict.message


def head_attribute_only(model, n):
    model.get_submodule(HEAD5).out_features = n
    return model


def head_new_network(model, n):
    return models.LeNet5("modern", num_classes=n, in_channels=3)


def head_copies_rows(model, n):
    old = model.get_submodule(HEAD5)
    new = nn.Linear(old.in_features, n)
    with torch.no_grad():
        new.weight.copy_(old.weight[:n])
        new.bias.copy_(old.bias[:n])
    model.set_submodule(HEAD5, new)
    return model


def head_frozen(model, n):
    S5.replace_head(model, n)
    model.get_submodule(HEAD5).requires_grad_(False)
    return model


def head_returns_layer(model, n):
    S5.replace_head(model, n)
    return model.get_submodule(HEAD5)


HEAD_MISTAKES = {head_attribute_only: ("new nn.Linear",), head_new_network: ("backbone",),
                 head_copies_rows: ("fresh",), head_frozen: ("trainable",),
                 head_returns_layer: ("return the model",)}


@pytest.mark.parametrize("mistake", list(HEAD_MISTAKES), ids=lambda f: f.__name__)
def test_head_mistakes(mistake):
    S5.HEAD = HEAD5
    fails(L.check_head(mistake, SOURCE5, HEAD5, torch.randn(2, 3, 32, 32), quiet=True),
          *HEAD_MISTAKES[mistake])


def _groups(model, head, lr, factor, kind=torch.optim.AdamW):
    ids = {id(p) for p in head.parameters()}
    train = [p for p in model.parameters() if p.requires_grad]
    return kind([{"params": [p for p in train if id(p) in ids], "lr": lr},
                 {"params": [p for p in train if id(p) not in ids], "lr": lr * factor}])


OPTIMIZER_MISTAKES = {
    (lambda m, h, lr: torch.optim.AdamW(m.parameters(), lr=lr)): ("as fast as the head",),
    (lambda m, h, lr: _groups(m, h, lr, 10)): ("not larger",),
    (lambda m, h, lr: torch.optim.AdamW([{"params": h.parameters(), "lr": lr},
                                         {"params": m.parameters(), "lr": lr / 10}])):
        ("one group",),
    (lambda m, h, lr: _groups(m, h, lr, 0.1, torch.optim.SGD)): ("AdamW", "SGD"),
    (lambda m, h, lr: _groups(m, h, lr, 0.1, torch.optim.Adam)): ("AdamW", "Adam"),
    (lambda m, h, lr: _groups(m, h, 0.01, 0.1)): ("the lr you are given",),
    (lambda m, h, lr: torch.optim.AdamW(h.parameters(), lr=lr)): ("no parameter group",),
    (lambda m, h, lr: "AdamW"): ("a string",),
}


@pytest.mark.parametrize("mistake", list(OPTIMIZER_MISTAKES),
                         ids=[w[0] for w in OPTIMIZER_MISTAKES.values()])
def test_optimizer_mistakes(mistake):
    fails(L.check_optimizer(mistake, SOURCE5, HEAD5, blocks5, quiet=True),
          *OPTIMIZER_MISTAKES[mistake])


# ------------------------------------------------------------------------------ lab 6

def fgsm_wrong_sign(model, x, y, eps):
    return L.fgsm(model, x, y, -eps)


def fgsm_no_sign(model, x, y, eps):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * g).clamp(0, 1).detach()


def fgsm_no_clip(model, x, y, eps):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * g.sign()).detach()


def fgsm_attached(model, x, y, eps):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * g.sign()).clamp(0, 1)


def fgsm_in_place(model, x, y, eps):
    out = L.fgsm(model, x, y, eps)
    x.copy_(out)
    return out


def fgsm_predicted_label(model, x, y, eps):
    wrong = (y + 1) % 10
    return L.fgsm(model, x, wrong, eps)


def fgsm_numpy(model, x, y, eps):
    return L.fgsm(model, x, y, eps).numpy()


FGSM_MISTAKES = {fgsm_wrong_sign: ("wrong way",), fgsm_no_sign: ("sign()",),
                 fgsm_no_clip: ("clip",), fgsm_attached: ("detach",),
                 fgsm_in_place: ("changed the images",),
                 fgsm_predicted_label: ("true labels",), fgsm_numpy: ("NumPy",)}


@pytest.mark.parametrize("mistake", list(FGSM_MISTAKES), ids=lambda f: f.__name__)
def test_fgsm_mistakes(mistake):
    message = fails(L.check_fgsm(mistake, NET6, X6, Y6, quiet=True), *FGSM_MISTAKES[mistake])
    assert "expected shape" not in message


def flip_last(model, image, label, grid):
    found = None
    for eps in grid:
        if int(model(L.fgsm(model, image, label, eps)).argmax(1)[0]) != int(label[0]):
            found = eps
    return found


def flip_one_early(model, image, label, grid):
    eps = L.smallest_flip(model, image, label, grid)
    return None if eps is None else grid[max(grid.index(eps) - 1, 0)]


def test_smallest_flip_mistakes():
    flips = [L.smallest_flip(NET6, X6[i:i + 1], Y6[i:i + 1], GRID6) for i in range(5)]
    assert any(f is not None for f in flips) and any(f not in (None, GRID6[0]) for f in flips)
    for mistake, word in ((flip_last, "first"), (flip_one_early, "still reads"),
                          (lambda m, i, lab, g: "0.1", "a string"),
                          (lambda m, i, lab, g: 0.01234, "not one of")):
        verdict = L.check_smallest_flip(mistake, NET6, X6[:5], Y6[:5], GRID6, quiet=True)
        if word == "not one of" and all(f is None for f in flips):
            continue
        assert not verdict and word in verdict.message, (word, verdict.message)


def contrast_in_place(x, f):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return x.mul_(f).add_((1 - f) * mean).clamp_(0, 1)


def contrast_no_keepdim(x, f):
    return (f * x + (1 - f) * x.mean(dim=(1, 2, 3))).clamp(0, 1)


CONTRAST_MISTAKES = {
    contrast_in_place: ("in place",),
    contrast_no_keepdim: ("keepdim",),
    (lambda x, f: (f * x + (1 - f) * x.mean()).clamp(0, 1)): ("whole batch",),
    (lambda x, f: (f * x + (1 - f) * x.mean(0, keepdim=True)).clamp(0, 1)): ("dim 0",),
    (lambda x, f: f * x + (1 - f) * x.mean(dim=(1, 2, 3), keepdim=True)): ("clip",),
    (lambda x, f: (f * x).clamp(0, 1)): ("median",),
    (lambda x, f: (f * x + (1 - f) * x.flatten(1).median(1).values.view(-1, 1, 1, 1)).clamp(0, 1)):
        ("median",),
    (lambda x, f: (f * x + (1 - f) * x.mean(dim=(1, 2, 3), keepdim=True)).clamp(0, 1).double()):
        ("dtype",),
}


@pytest.mark.parametrize("mistake", list(CONTRAST_MISTAKES),
                         ids=[w[0] for w in CONTRAST_MISTAKES.values()])
def test_contrast_mistakes(mistake):
    message = fails(L.check_contrast(mistake, X6, quiet=True), *CONTRAST_MISTAKES[mistake])
    assert "expected shape" not in message


def test_cnnlab_fallbacks_are_what_the_checkers_accept():
    assert L.check_freeze(L.freeze_first, SOURCE5, blocks5, quiet=True)
    assert L.check_head(lambda m, n: L.replace_head(m, HEAD5, n), SOURCE5, HEAD5,
                        torch.randn(2, 3, 32, 32), quiet=True)
    assert L.check_optimizer(L.make_optimizer, SOURCE5, HEAD5, blocks5, quiet=True)
    assert L.check_fgsm(L.fgsm, NET6, X6, Y6, quiet=True)


# ------------------------------------------------------------------------------ every checker

ODD_ANSWERS = {"a string": "seven", "a bare int": 7, "NaN": float("nan"), "None": None,
               "a list": [1, 2]}


def _odd_callables(value):
    return [lambda *args, value=value: value, value]


@pytest.mark.parametrize("task", sorted(L.TASKS))
@pytest.mark.parametrize("odd", list(ODD_ANSWERS))
def test_no_checker_crashes_on_odd_answers(task, odd):
    names, check = L.TASKS[task]
    for answer in _odd_callables(ODD_ANSWERS[odd]):
        verdict = check(*[answer] * len(names), *CONTEXT.get(task, ()), quiet=True)
        assert isinstance(verdict, L.Verdict) and not verdict and verdict.message


@pytest.mark.parametrize("task", sorted(L.TASKS))
def test_stubs_are_not_attempted(task):
    names, check = L.TASKS[task]

    def stub(*args):
        raise NotImplementedError

    answers = {"lab02/shapes": dict.fromkeys(("c1", "s2", "c3", "s4", "c5", "f6", "output")),
               "lab02/params": dict.fromkeys(WEIGHTED2),
               "lab01/first_two": (None, None), "lab03/box": None, "lab03/guess": None,
               **{f"lab01/{k[3:]}": start.copy() for k, (start, _) in L.START_KERNELS.items()}}
    verdict = check(*[answers.get(task, stub)] * len(names), *CONTEXT.get(task, ()), quiet=True)
    assert not verdict and not verdict.attempted and "not attempted" in verdict.message


def test_crashing_answer_is_reported():
    def crashes(x, w, b, stride, pad):
        return x[99]

    fails(L.check_conv_forward(crashes, quiet=True), "IndexError")


def test_numerical_gradient_matches_cnnlab():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(1, 1, 4, 4)), rng.normal(size=(1, 1, 2, 2))
    dout = rng.normal(size=(1, 1, 3, 3))
    num = L.numerical_gradient(lambda v: ops.conv2d(v, w), x.copy(), dout)
    assert L.relative_error(num, ops.conv2d_backward(dout, x, w)[0]) < 1e-7


def test_compare_never_blames_a_right_shape():
    exp = np.zeros((2, 3))
    assert "shape (2, 3) is right" in L.compare(np.ones((2, 3)), exp, "y")
    assert "swapped" in L.compare(np.zeros((3, 2)), np.zeros((2, 3)), "y")


def test_yours_or(capsys):
    assert L.yours_or(len, L.Verdict(False, "no"), max, "f") is max
    assert L.yours_or(len, L.Verdict(True, "ok"), max, "f") is len
    assert "cnnlab's f" in capsys.readouterr().out


# ------------------------------------------------------------------------------ editions

LABS = [p.stem.split("_")[0] for p in sorted(SOLUTIONS.glob("lab*.py"))]


@pytest.mark.parametrize("lab", LABS)
def test_student_edition_has_no_solution(lab):
    notebook = next((ROOT / "labs").glob(f"{lab}_*.ipynb"))
    problems = instructor.leaks(notebook, SOLUTIONS / f"{lab}.py")
    assert not problems, problems


@pytest.mark.parametrize("lab", LABS)
def test_every_solution_has_its_cell_and_checker(lab):
    notebook = next((ROOT / "labs").glob(f"{lab}_*.ipynb"))
    sections = instructor.sections(SOLUTIONS / f"{lab}.py")
    cells = instructor.task_cells(notebook)
    assert sections and set(sections) == set(cells), (set(sections) ^ set(cells))
    assert set(sections) <= set(L.TASKS)


@pytest.mark.parametrize("lab", ["lab01", "lab03", "lab04"])
def test_instructor_edition_fills_every_task(tmp_path, lab):
    notebook = next((ROOT / "labs").glob(f"{lab}_*.ipynb"))
    out = instructor.build(notebook, SOLUTIONS / f"{lab}.py", tmp_path)
    text = out.read_text()
    for task, code in instructor.sections(SOLUTIONS / f"{lab}.py").items():
        assert code.strip().splitlines()[-1].strip() in text, task
    assert "YOUR CODE HERE" not in text


def test_docstring_examples():
    import doctest

    results = doctest.testmod(L, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert results.attempted > 0 and results.failed == 0, results
