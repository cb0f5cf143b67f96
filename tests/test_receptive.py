"""cnnlab.receptive: the analytical receptive field against known values, real output shapes
and the receptive field measured by back-propagation."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlab import receptive
from cnnlab.receptive import (
    ERFResult,
    Layer,
    RFRow,
    RFTable,
    conv,
    empirical_receptive_field,
    input_window,
    pool,
    receptive_field,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


@cache
def untrained(name: str) -> nn.Module:
    """A torchvision model with random weights (no download), built once per session: VGG-16
    alone has 138M parameters to initialise. Tests must leave it as they found it."""
    model: nn.Module = getattr(torchvision.models, name)(weights=None)
    return model


# ---------------------------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layers, rf, jump", [
    ([conv(3)], 3, 1),
    ([conv(3), conv(3)], 5, 1),  # two 3x3 see what one 5x5 sees
    ([conv(3)] * 3, 7, 1),  # three 3x3 see what one 7x7 sees
    ([conv(3), pool(2), conv(3), pool(2), conv(3)], 18, 4),  # the chapter's calculator
    ([conv(3, d=1), conv(3, d=2), conv(3, d=4)], 15, 1),  # dilations 1, 2, 4
    ([conv(7, s=2, p=3), pool(3, 2, 1)], 11, 4),  # a ResNet stem
    ([conv(1, s=2), conv(3)], 5, 2),  # stride larger than the kernel: holes, same extent
])
def test_known_receptive_fields(layers: list[Layer], rf: int, jump: int) -> None:
    final = receptive_field(layers).final
    assert (final.rf, final.jump) == (rf, jump)


def test_start_is_the_centre_of_the_first_unit() -> None:
    assert receptive_field([conv(3)]).final.start == 1.0  # no padding: first window 0..2
    assert receptive_field([conv(3, p=1)]).final.start == 0.0  # padding centres it on 0
    assert receptive_field([conv(2)]).final.start == 0.5  # even kernels: between two pixels
    table = receptive_field([conv(3), pool(2), conv(3)])
    assert [row.start for row in table] == [1.0, 1.5, 3.5]
    assert [row.first for row in table] == [0, 0, 0]


def test_out_size_and_names_for_a_layer_list() -> None:
    table = receptive_field([conv(3), pool(2), conv(3), pool(2), conv(3)], input_size=224)
    assert [row.out_size for row in table] == [222, 111, 109, 54, 52]
    assert [row.name for row in table] == ["conv1", "pool1", "conv2", "pool2", "conv3"]
    assert receptive_field([conv(3)]).final.out_size is None


@pytest.mark.parametrize("name, rf, jump, out, last", [
    ("alexnet", 195, 32, 6, "features.12"),
    ("vgg16", 212, 32, 7, "features.30"),
    ("resnet18", 435, 32, 7, "layer4.1.bn2"),
    ("resnet50", 427, 32, 7, "layer4.2.relu"),  # torchvision's v1.5 blocks
])
def test_torchvision_models(name: str, rf: int, jump: int, out: int, last: str) -> None:
    table = receptive_field(untrained(name), input_size=224)
    assert (table.final.rf, table.final.jump, table.final.out_size) == (rf, jump, out)
    assert table.final.name == last
    assert table.stopped_at == "avgpool (AdaptiveAvgPool2d)"
    assert not any("downsample" in row.name for row in table)


def test_resnet_follows_the_deepest_path() -> None:
    table = receptive_field(untrained("resnet50"))
    convs = [row.name for row in table if row.kind == "conv"]
    assert convs[:4] == ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.0.conv3"]
    assert len(convs) == 1 + 3 * (3 + 4 + 6 + 3)


def test_nested_sequential_gives_the_same_field_as_flat() -> None:
    flat = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 2, 5))
    nested = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()),
                           nn.Sequential(nn.MaxPool2d(2), nn.Sequential(nn.Conv2d(2, 2, 5))))
    a, b = receptive_field(flat, 32), receptive_field(nested, 32)
    assert [r.name for r in b] == ["0.0", "0.1", "1.0", "1.1.0"]
    assert [(r.rf, r.jump, r.start, r.out_size) for r in a] == [
        (r.rf, r.jump, r.start, r.out_size) for r in b]


class TwoBranches(nn.Module):
    """A tiny Inception block: a 1x1 branch beside a 3x3-then-5x5 branch, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(2, 2, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(2, 2, 5, padding=2))
        self.aux = nn.Sequential(nn.Flatten(), nn.Linear(2, 3))  # a side head, never walked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x)], dim=1)


def test_parallel_branches_follow_the_widest_one() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), TwoBranches(), nn.MaxPool2d(2))
    table = receptive_field(model, 30)
    assert [row.name for row in table] == ["0", "1.branch2.0", "1.branch2.1", "1.branch2.2", "2"]
    assert (table.final.rf, table.final.out_size, table.stopped_at) == (10, 14, None)
    _check_against_measurement(model, 30, must_be_inside=True)


def test_googlenet_is_walked_along_its_widest_branches() -> None:
    googlenet = torchvision.models.googlenet(weights=None, init_weights=True)  # with aux heads
    table = receptive_field(googlenet, 96)
    assert not any(row.name.startswith("aux") or "branch1" in row.name for row in table)
    assert table.final.name == "inception5b.branch2.1.bn"
    assert table.stopped_at == "avgpool (AdaptiveAvgPool2d)"
    sizes = _forward_sizes(googlenet, 96)
    assert all(row.out_size == sizes[row.name] for row in table)  # ceil_mode pooling included


def test_pointwise_layers_change_nothing_and_flatten_stops_the_walk() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(),
                          nn.Flatten(), nn.Linear(4, 2))
    table = receptive_field(model, 8)
    assert [row.kind for row in table] == ["conv", "pointwise", "pointwise", "pointwise"]
    assert {(row.rf, row.jump, row.out_size) for row in table} == {(3, 1, 6)}
    assert table.stopped_at == "4 (Flatten)"


def test_conv_padding_strings() -> None:
    same = nn.Sequential(nn.Conv2d(1, 1, 5, padding="same"), nn.Conv2d(1, 1, 3, padding="valid"))
    table = receptive_field(same, 10)
    assert [(r.padding, r.out_size, r.rf) for r in table] == [(2, 10, 5), (0, 8, 7)]


# ---------------------------------------------------------------------------------------------
# Output sizes agree with a real forward pass
# ---------------------------------------------------------------------------------------------


def _forward_sizes(model: nn.Module, input_size: int, channels: int = 3) -> dict[str, int]:
    sizes: dict[str, int] = {}
    hooks = [module.register_forward_hook(
        lambda _m, _i, out, name=name: sizes.__setitem__(name, out.shape[-1]))
        for name, module in model.named_modules() if not list(module.children())]
    was_training = model.training
    with torch.no_grad():
        model.eval()(torch.zeros(1, channels, input_size, input_size))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    return sizes


@pytest.mark.parametrize("name, input_size", [
    ("alexnet", 224), ("alexnet", 131), ("vgg16", 67), ("resnet18", 99), ("resnet50", 64),
])
def test_out_size_matches_a_forward_pass(name: str, input_size: int) -> None:
    model = untrained(name)
    sizes = _forward_sizes(model, input_size)
    table = receptive_field(model, input_size)
    assert len(table) > 5
    for row in table:
        assert row.out_size == sizes[row.name], row.name


@given(st.integers(2, 4), st.integers(1, 3), st.integers(0, 1), st.booleans(),
       st.integers(9, 40))
@settings(max_examples=40)
def test_ceil_mode_pooling_sizes(kernel: int, stride: int, padding: int, use_max: bool,
                                 size: int) -> None:
    padding = min(padding, kernel // 2)
    layer = (nn.MaxPool2d if use_max else nn.AvgPool2d)(kernel, stride, padding, ceil_mode=True)
    expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
    assert receptive_field(nn.Sequential(layer), size).final.out_size == expected


# ---------------------------------------------------------------------------------------------
# The analytical field equals the one measured by back-propagation
# ---------------------------------------------------------------------------------------------


def _check_against_measurement(model: nn.Module, input_size: int,
                               position: tuple[int, int] | None = None,
                               must_be_inside: bool = False) -> ERFResult:
    table = receptive_field(model, input_size)
    measured = empirical_receptive_field(model, input_size, position=position, samples=1)
    assert measured.output_size == (table.final.out_size, table.final.out_size)
    assert measured.box == input_window(table, measured.position, input_size)
    if must_be_inside:  # the whole field inside the image: its size is the extent
        assert measured.extent == (table.final.rf, table.final.rf)
    return measured


@st.composite
def random_stacks(draw: Any) -> nn.Sequential:
    layers: list[nn.Module] = []
    jump = 1
    for _ in range(draw(st.integers(2, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "max", "avg"]))
        kernel = draw(st.integers(1, 5) if kind == "conv" else st.integers(2, 3))
        stride = draw(st.integers(1, 3)) if jump < 8 else 1
        jump *= stride
        if kind == "conv":
            dilation = draw(st.integers(1, 2))
            padding = draw(st.integers(0, dilation * (kernel // 2)))
            layers += [nn.Conv2d(2, 2, kernel, stride, padding, dilation), nn.ReLU()]
        else:
            padding = draw(st.integers(0, kernel // 2))
            pooling = nn.MaxPool2d if kind == "max" else nn.AvgPool2d
            layers.append(pooling(kernel, stride, padding))
    return nn.Sequential(*layers)


@given(random_stacks())
@settings(max_examples=12)
def test_random_stacks_measured_field_equals_computed(model: nn.Sequential) -> None:
    final = receptive_field(model).final
    input_size = 2 * final.rf + 4 * final.jump + 16  # the centre unit's field fits inside
    _check_against_measurement(model, input_size, must_be_inside=True)


def test_alexnet_measured_field_equals_computed() -> None:
    features = untrained("alexnet").features
    _check_against_measurement(features, 224)  # centre unit (3, 3): box clipped at the bottom
    measured = _check_against_measurement(features, 224, position=(0, 0))
    assert measured.box == (0, 0, 129, 129)  # first = 31 - 97 = -66; -66 + 195 = 129


def test_vgg16_measured_field_equals_computed() -> None:
    features = untrained("vgg16").features
    # rf 212, jump 32, first pixel -90: on a 128x128 input (4x4 output) the first unit's
    # field ends inside the image and the last one's begins inside it.
    assert _check_against_measurement(features, 128, (0, 0)).box == (0, 0, 122, 122)
    assert _check_against_measurement(features, 128, (3, 3)).box == (6, 6, 128, 128)


def test_resnet_stages_measured_field_equals_computed() -> None:
    # The stem, layer1 and layer2 (rf 99), shortcuts included in the measurement.
    trunk = nn.Sequential(*list(untrained("resnet18").children())[:6])
    _check_against_measurement(trunk, 224, must_be_inside=True)


def test_effective_field_is_concentrated_in_the_centre() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(6) for m in (nn.Conv2d(4, 4, 3), nn.ReLU())])
    model[0] = nn.Conv2d(1, 4, 3)
    result = empirical_receptive_field(model, 13, samples=8)  # one output unit, rf 13
    grad = result.gradient
    assert result.extent == (13, 13) and grad.shape == (13, 13)
    centre, ring = grad[4:9, 4:9].mean(), np.concatenate([grad[:2].ravel(), grad[-2:].ravel()])
    assert centre > 5 * ring.mean()


def test_effective_field_is_zero_outside_the_box_and_leaves_the_model_alone() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    result = empirical_receptive_field(model, 20, position=(2, 5), samples=2)
    top, left, bottom, right = result.box
    outside = result.gradient.copy()
    outside[top:bottom, left:right] = 0
    assert not outside.any() and result.gradient[top:bottom, left:right].any()
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


# ---------------------------------------------------------------------------------------------
# Windows and display
# ---------------------------------------------------------------------------------------------


def test_input_window_clips_and_accepts_a_row() -> None:
    table = receptive_field([conv(5, p=2), pool(2)], input_size=8)  # rf 6, jump 2, first -2
    assert input_window(table, (0, 0), 8) == (0, 0, 4, 4)
    assert input_window(table[1], (3, 1), (8, 6)) == (4, 0, 8, 6)
    assert input_window(table[0], (7, 2), 8) == (5, 0, 8, 5)


def test_table_prints_as_text_and_html() -> None:
    table = receptive_field(untrained("alexnet"), 224)
    text = str(table)
    assert text.splitlines()[0].split() == ["layer", "kind", "k", "s", "p", "d", "out", "jump",
                                            "rf", "start"]
    assert "features.12  pool" in text and text.splitlines()[-2].split()[-2] == "195"
    assert "walk stopped at avgpool" in text and repr(table) == text
    page = table._repr_html_()
    assert page.count("<tr>") == len(table) + 1 and "<td>195</td>" in page
    assert table.row("features.3").rf == 51


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

ERRORS = [
    (lambda: Layer("conv", 0), ValueError, r"kernel must be positive, got 0"),
    (lambda: conv(3, s=0), ValueError, r"stride must be positive, got 0"),
    (lambda: conv(3, p=-1), ValueError, r"padding must be at least 0, got -1"),
    (lambda: conv(2.5), TypeError, r"kernel must be an int, got 2.5 \(float\)"),
    (lambda: pool(2, s=True), TypeError, r"stride must be an int, got True"),
    (lambda: receptive_field("conv3"), TypeError,
     r"expects an nn.Module or a list of Layer, got str"),
    (lambda: receptive_field([conv(3), (3, 1)]), TypeError, r"layer 1 must be a Layer"),
    (lambda: receptive_field([conv(3)], input_size=0), ValueError, r"input_size must be positive"),
    (lambda: receptive_field([conv(3), pool(2), conv(5)], input_size=8), ValueError,
     r"layer conv2 spans 5 pixels but its input is only 3 pixels \(\+ 0 padding\) wide at "
     r"input_size=8"),
    (lambda: receptive_field(nn.Sequential(nn.Conv2d(1, 1, (1, 7)))), ValueError,
     r"layer '0' \(Conv2d\) has kernel size \(1, 7\); receptive_field follows one image axis"),
    (lambda: receptive_field(nn.Sequential(nn.ConvTranspose2d(1, 1, 3))), ValueError,
     r"does not know how layer '0' \(ConvTranspose2d\) moves pixels"),
    (lambda: receptive_field(nn.Conv2d(1, 1, 2, padding="same")), ValueError, r"pads unevenly"),
    (lambda: input_window(receptive_field([conv(3)], 8), (6, 0), 8), ValueError,
     r"index \(6, 0\) is outside the 6x6 output of layer 'conv1'"),
    (lambda: input_window(receptive_field([conv(3)]), (-1, 0), 8), ValueError,
     r"index must be at least 0"),
    (lambda: input_window([conv(3)], (0, 0), 8), TypeError, r"expects an RFTable or RFRow"),
    (lambda: RFTable().final, ValueError, r"the table is empty"),
    (lambda: receptive_field([conv(3)]).row("conv2"), KeyError, r"no layer named 'conv2'"),
    (lambda: empirical_receptive_field(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), 8),
     ValueError, r"the model returns \(1, 72\), not a feature map"),
    (lambda: empirical_receptive_field(nn.Conv2d(1, 1, 3), 8, position=(6, 0)), ValueError,
     r"position \(6, 0\) is outside the 6x6 output map"),
    (lambda: empirical_receptive_field(nn.Sequential(nn.ReLU()), 8), ValueError,
     r"no Conv2d to read the number of input channels from; pass channels="),
    (lambda: empirical_receptive_field(nn.Conv2d(1, 1, 3), 8.5), TypeError,
     r"input_size must be an int"),
    (lambda: empirical_receptive_field("model", 8), TypeError, r"model must be an nn.Module"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_bad_input_raises_a_clear_error(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("name", ["conv", "pool", "Layer", "receptive_field", "input_window",
                                  "empirical_receptive_field"])
def test_public_names_have_examples(name: str) -> None:
    assert ">>>" in (getattr(receptive, name).__doc__ or "")


def test_rows_are_plain_data() -> None:
    row = receptive_field([conv(3)], 5).final
    assert row == RFRow("conv1", "conv", 3, 1, 0, 1, 3, 1, 3, 1.0)


# ---------------------------------------------------------------------------------------------
# Layer lists typed as text
# ---------------------------------------------------------------------------------------------


def test_parse_layers_reads_every_token_form_and_explains_bad_ones() -> None:
    layers = receptive.parse_layers("c3, p2 -> conv5s2p1 pool3s2 conv3d2")
    assert [(x.kind, x.kernel, x.stride, x.padding, x.dilation) for x in layers] == [
        ("conv", 3, 1, 1, 1), ("pool", 2, 2, 0, 1), ("conv", 5, 2, 1, 1), ("pool", 3, 2, 0, 1),
        ("conv", 3, 1, 2, 2)]
    with pytest.raises(TypeError, match="spec must be a string"):
        receptive.parse_layers(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pooling has no dilation"):
        receptive.parse_layers("pool2d2")
    with pytest.raises(ValueError, match="at least 1"):
        receptive.parse_layers("conv0")
    with pytest.raises(ValueError, match=r"cannot read layer 3 'convx'"):
        receptive.parse_layers("conv3 pool2 convX")
    with pytest.raises(ValueError, match="the layer list is empty"):
        receptive.parse_layers("  ")


@pytest.mark.parametrize(("convs", "pools"), [(0, 0), (1, 0), (3, 2), (7, 3), (12, 5)])
def test_stack_spec_has_the_counts_it_was_given(convs: int, pools: int) -> None:
    layers = receptive.parse_layers(receptive.stack_spec(convs, pools)) if convs + pools else []
    assert sum(x.kind == "conv" for x in layers) == convs
    assert sum(x.kind == "pool" for x in layers) == pools


def test_stack_spec_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="convs must be"):
        receptive.stack_spec(-1, 0)
    with pytest.raises(TypeError, match="pools must be an int"):
        receptive.stack_spec(2, 1.5)  # type: ignore[arg-type]

