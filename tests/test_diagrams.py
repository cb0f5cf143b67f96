"""Tests of cnnlab.diagrams: model diagrams show a forward pass's shapes; mechanism diagrams
carry the labels and the numbers cnnlab.ops and cnnlab.receptive compute."""

from __future__ import annotations

from collections import defaultdict

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from cnnlab import models
from cnnlab.diagrams import draw_model, format_shape

matplotlib.use("Agg")
torchvision = pytest.importorskip("torchvision")


def hooked_shapes(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, list[tuple]]:
    """Every module's output shapes (without batch axis) in one forward pass, by name."""
    shapes: dict[str, list[tuple]] = defaultdict(list)
    handles = []
    for name, module in model.named_modules():
        def hook(mod, args, out, name=name):
            if isinstance(out, torch.Tensor):
                shapes[name].append(tuple(out.shape[1:]))
        handles.append(module.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for handle in handles:
        handle.remove()
    return shapes


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for t in fig.texts
    ]


CASES = {
    "lenet5": (lambda: models.LeNet5(), (1, 32, 32)),
    "lenet5-modern": (lambda: models.LeNet5("modern"), (1, 32, 32)),
    "alexnet-small": (lambda: models.AlexNetSmall(), (3, 32, 32)),
    "vgg-small": (lambda: models.VGGSmall(), (3, 32, 32)),
    "inception": (lambda: models.InceptionBlock(192, 64, 96, 128, 16, 32, 32), (192, 28, 28)),
    "resnet20": (lambda: models.resnet_cifar(20), (3, 32, 32)),
    "mbconv": (lambda: models.MBConv(16, 16), (16, 16, 16)),
    "separable": (lambda: models.DepthwiseSeparableConv(8, 16, stride=2), (8, 16, 16)),
    "tv-alexnet": (lambda: torchvision.models.alexnet(), (3, 224, 224)),
    "tv-vgg16": (lambda: torchvision.models.vgg16(), (3, 32, 32)),
    "tv-resnet18": (lambda: torchvision.models.resnet18(), (3, 64, 64)),
    "tv-inception3a": (
        lambda: torchvision.models.googlenet(init_weights=False, aux_logits=False).inception3a,
        (192, 28, 28),
    ),
    "tv-mobilenetv2-block": (lambda: torchvision.models.mobilenet_v2().features[3], (24, 28, 28)),
    "tv-efficientnet-block": (
        lambda: torchvision.models.efficientnet_b0().features[2][1],
        (24, 28, 28),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_drawn_shapes_are_the_forward_pass_shapes(case):
    make, input_shape = CASES[case]
    torch.manual_seed(0)
    model = make()
    fig = draw_model(model, input_shape)
    assert isinstance(fig, Figure)
    truth = hooked_shapes(model, input_shape)
    drawn = [b for b in fig.boxes if b.module in truth]
    # nearly every box stands for a module whose output the hooks saw
    assert len(drawn) >= len(fig.boxes) - 3, [b.label for b in fig.boxes]
    for box in drawn:
        assert box.shape in truth[box.module], (box, truth[box.module])
    # the picture carries those shapes as text
    shown = texts(fig)
    for box in fig.boxes:
        assert any(format_shape(box.shape) in t for t in shown), box
    # and its last box is the model's output
    output = model.eval()(torch.zeros(1, *input_shape))
    assert fig.boxes[-1].shape == tuple(output.shape[1:])


def test_lenet_diagram_has_the_papers_maps():
    fig = draw_model(models.LeNet5(), (1, 32, 32))
    shapes = [format_shape(b.shape) for b in fig.boxes]
    assert shapes == ["1@32x32", "6@28x28", "6@14x14", "16@10x10", "16@5x5", "120@1x1",
                      "120", "84", "10"]
    assert [b.label for b in fig.boxes][1] == "conv 5x5, Tanh"


def test_structures_are_recognised():
    inception = draw_model(models.InceptionBlock(192, 64, 96, 128, 16, 32, 32), (192, 28, 28))
    assert inception.boxes[-1].label == "concat"
    assert sum(b.label.startswith("conv 5x5") for b in inception.boxes) == 1
    resnet = draw_model(models.resnet_cifar(20), (3, 32, 32))
    merges = [b for b in resnet.boxes if b.kind == "merge"]
    assert len(merges) == 9 and all(b.label.startswith("+") for b in merges)  # 3 stages x 3
    assert sum("zero-pad" in b.label for b in resnet.boxes) == 2  # the two option-A shortcuts
    tv = draw_model(torchvision.models.resnet18(), (3, 64, 64))
    assert sum(b.kind == "merge" for b in tv.boxes) == 8
    assert sum(b.label.startswith("conv 1x1/2") for b in tv.boxes) == 3  # projection shortcuts
    mb = draw_model(models.MBConv(16, 16), (16, 16, 16))
    assert [b.label for b in mb.boxes][-2:] == ["conv 1x1, BN", "+"]
    assert any(b.label == "squeeze-excite" for b in mb.boxes)
    assert draw_model(models.MBConv(16, 24, stride=2), (16, 16, 16)).boxes[-1].kind != "merge"
    plain = draw_model(models.plain_cifar(20), (3, 32, 32))
    assert not any(b.kind == "merge" for b in plain.boxes)


def test_vgg16_is_drawn_in_five_stages():
    fig = draw_model(torchvision.models.vgg16(), (3, 32, 32))
    titles = [t for t in texts(fig) if t.startswith("stage ")]
    assert titles == [f"stage {i}" for i in range(1, 6)]
    assert sum(b.label.startswith("conv 3x3") for b in fig.boxes) == 13


def test_an_edited_model_gets_its_own_diagram():
    net = models.LeNet5()
    net.features.c1 = nn.Conv2d(1, 12, 5)
    net.features.c3 = nn.Conv2d(12, 16, 5)
    fig = draw_model(net, (1, 32, 32))
    assert fig.boxes[1].shape == (12, 28, 28)


def test_show_names_and_named_parts():
    fig = draw_model(models.LeNet5(), (1, 32, 32), show_names=True)
    labels = [b.label for b in fig.boxes]
    assert labels[1:6] == ["c1: conv 5x5, Tanh", "s2: avg pool 2x2/2", "c3: conv 5x5, Tanh",
                           "s4: avg pool 2x2/2", "c5: conv 5x5, Tanh"]
    assert {"features", "classifier"} <= set(texts(fig))  # the model's two parts are framed


def test_max_depth_collapses_blocks():
    fig = draw_model(models.resnet_cifar(20), (3, 32, 32), max_depth=1)
    labels = [b.label for b in fig.boxes]
    assert "layer1: 3 x BasicBlock" in labels
    assert not any(b.kind == "merge" for b in fig.boxes)


def test_model_mode_is_restored():
    net = models.resnet_cifar(20)
    net.train()
    draw_model(net, (3, 32, 32))
    assert net.training


def test_bad_input():
    with pytest.raises(TypeError, match="nn.Module"):
        draw_model("lenet", (1, 32, 32))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="sequence of ints"):
        draw_model(models.LeNet5(), 32)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive ints"):
        draw_model(models.LeNet5(), (1, 0, 32))
    with pytest.raises(ValueError, match="cannot run"):
        draw_model(models.LeNet5(), (1, 28, 28))
    with pytest.raises(ValueError, match="max_depth"):
        draw_model(models.LeNet5(), (1, 32, 32), max_depth=-1)
    with pytest.raises(TypeError):
        format_shape(3)  # type: ignore[arg-type]


def test_format_shape():
    assert format_shape((3, 224, 224)) == "3@224x224"
    assert format_shape((8, 4, 16, 16)) == "8@4x16x16"
    assert format_shape([10]) == "10"
    assert np.asarray(format_shape(()) == "scalar")


# ---------------------------------------------------------------------------------------------
# Mechanism diagrams: labels present, numbers from cnnlab.ops / cnnlab.receptive
# ---------------------------------------------------------------------------------------------

from cnnlab import diagrams, ops, receptive  # noqa: E402


def numbers_on(fig: Figure) -> list[str]:
    return texts(fig)


def test_conv_window_numbers_are_corr2d():
    rng = np.random.default_rng(0)
    image = rng.integers(-3, 4, size=(6, 7)).astype(float)
    kernel = rng.integers(-2, 3, size=(3, 3)).astype(float)
    fig = diagrams.conv_window(image, kernel, position=(2, 3))
    expected = ops.corr2d(image, kernel)
    np.testing.assert_array_equal(fig.output, expected)
    shown = texts(fig)
    assert "output 4x5" in shown and "kernel 3x3" in shown and "input 6x7" in shown
    assert any(t.startswith("output[2,3] =") and t.endswith(f"= {expected[2, 3]:g}")
               for t in shown)
    # every output value is written in the grid
    for value in expected.ravel():
        assert f"{value:g}" in shown
    with pytest.raises(ValueError, match="position"):
        diagrams.conv_window(image, kernel, position=(4, 0))
    with pytest.raises(ValueError, match="fit"):
        diagrams.conv_window(np.ones((2, 2)), np.ones((3, 3)))


@pytest.mark.parametrize("size,kernel,padding,stride", [(5, 3, 1, 2), (7, 3, 0, 1), (6, 4, 2, 3)])
def test_padding_stride_output_size(size, kernel, padding, stride):
    fig = diagrams.padding_stride(size, kernel, padding, stride)
    out = ops.conv_output_size(size, kernel, stride, padding)
    assert fig.out_size == out
    shown = texts(fig)
    assert f"output {out}x{out}" in shown
    assert any(t.endswith(f"= {out}") and f"s={stride}" in t for t in shown)
    with pytest.raises(ValueError, match="stride"):
        diagrams.padding_stride(5, 3, 1, 0)


def test_im2col_diagram_is_ops_im2col():
    fig = diagrams.im2col_diagram(5, 3, 2)
    x = np.arange(1, 26, dtype=float).reshape(1, 1, 5, 5)
    np.testing.assert_array_equal(fig.columns, ops.im2col(x, 3, 2)[0])
    assert fig.columns.shape == (9, 4)
    assert any("9 rows" in t and "4 columns" in t for t in texts(fig))
    with pytest.raises(ValueError, match="kernel"):
        diagrams.im2col_diagram(3, 4)


def test_max_pool_switches_match_ops():
    rng = np.random.default_rng(1)
    x = rng.permutation(36).reshape(6, 6).astype(float)
    fig = diagrams.max_pool_switches(x, kernel=3)
    pooled, idx = ops.max_pool2d(x[None, None], 3, return_indices=True)
    np.testing.assert_array_equal(fig.pooled, pooled[0, 0])
    np.testing.assert_array_equal(fig.switches, idx[0, 0])
    # unpooling puts each maximum back where it was and zeros elsewhere
    assert np.count_nonzero(fig.unpooled) == 4
    assert fig.unpooled.ravel()[idx[0, 0].ravel()].tolist() == pooled[0, 0].ravel().tolist()
    assert "max pool 3x3" in texts(fig)
    with pytest.raises(ValueError, match="divide"):
        diagrams.max_pool_switches(x, kernel=4)


def test_receptive_field_growth_matches_the_table():
    layers = [receptive.conv(3), receptive.pool(2), receptive.conv(3), receptive.conv(5, 2)]
    fig = diagrams.receptive_field_growth(layers, input_size=40)
    table = receptive.receptive_field(layers, input_size=40)
    assert fig.covered == table.final.rf
    shown = " ".join(texts(fig))
    for row in table:
        assert f"{row.out_size} units, rf = {row.rf}" in shown
    with pytest.raises(TypeError, match="Layer"):
        diagrams.receptive_field_growth([3, 3])


def test_residual_identity_labels():
    shown = texts(diagrams.residual_identity())
    assert "identity" in shown and "y = F(x) + x" in shown
    assert any("+ I" in t and "partial" in t for t in shown)


@pytest.mark.parametrize("c_in,c_out,k", [(3, 4, 3), (32, 64, 3), (8, 8, 5)])
def test_depthwise_separable_counts(c_in, c_out, k):
    fig = diagrams.depthwise_separable(c_in, c_out, k)
    standard = ops.conv_params(c_in, c_out, k, bias=False)
    separable = c_in * k * k + c_in * c_out
    assert fig.counts["standard"] == standard == c_out * k * k * c_in
    assert fig.counts["depthwise"] + fig.counts["pointwise"] == separable
    shown = " ".join(texts(fig))
    assert f"= {standard} weights" in shown and f"= {separable} weights" in shown
    assert torch.nn.Conv2d(c_in, c_out, k, bias=False).weight.numel() == standard


def test_transposed_conv_matches_torch():
    kernel = np.arange(9, dtype=float).reshape(3, 3)
    fig = diagrams.transposed_conv_unpool(kernel, stride=2)
    small = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    expected = torch.nn.functional.conv_transpose2d(
        small, torch.tensor(kernel, dtype=torch.float64)[None, None], stride=2)[0, 0]
    np.testing.assert_allclose(fig.upsampled, expected.numpy())
    assert fig.unpooled.sum() == 10 and np.count_nonzero(fig.unpooled) == 4
    assert "transposed conv 3x3/2: 5x5" in texts(fig)


def test_unet_skips_sizes():
    fig = diagrams.unet_skips(64, (8, 16, 32, 64))
    assert fig.sizes == [64, 32, 16, 8]
    shown = texts(fig)
    assert "skip: copy 8@64x64" in shown and "conv  64@8x8" in shown
    with pytest.raises(ValueError, match="channels"):
        diagrams.unet_skips(32, (16,))
    with pytest.raises(ValueError, match="too many"):
        diagrams.unet_skips(4, (1, 2, 3, 4))


@pytest.mark.parametrize("n,w,s", [(64, 32, 4), (100, 28, 8)])
def test_sliding_vs_convolutional_counts(n, w, s):
    fig = diagrams.sliding_vs_convolutional(n, w, s)
    per_side = ops.conv_output_size(n, w, s)
    assert fig.per_side == per_side
    shown = " ".join(texts(fig))
    assert f"{per_side}x{per_side} = {per_side ** 2} crops" in shown
    assert f"score map {per_side}x{per_side}" in shown
    with pytest.raises(ValueError, match="fit"):
        diagrams.sliding_vs_convolutional(16, 32, 4)


def test_docstring_examples():
    import doctest

    results = doctest.testmod(diagrams, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0
