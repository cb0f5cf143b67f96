"""Tests of cnnlab.models: shapes, parameter counts against the papers, training, errors."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from cnnlab.models import (
    LENET5_C3_TABLE,
    VGG_CFGS,
    AlexNetSmall,
    BasicBlock,
    Bottleneck,
    CifarResNet,
    Conv1dNet,
    Conv3dNet,
    DepthwiseSeparableConv,
    GoogLeNetSmall,
    InceptionBlock,
    LeNet5,
    MBConv,
    PatchEmbedding,
    PlainBlock,
    ResidualBlock,
    SmallViT,
    TextCNN,
    TinyVGG,
    VGGSmall,
    ZeroPadShortcut,
    conv3x3,
    count_params,
    plain_cifar,
    resnet_cifar,
    resnet_stage,
    summary,
    torchvision_param_counts,
    vgg_block,
)

# ---------------------------------------------------------------------------------------------
# count_params
# ---------------------------------------------------------------------------------------------


def test_count_params_counts_weights_and_biases_and_skips_frozen() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Linear(4, 2))
    assert count_params(net) == 8 * 3 * 9 + 8 + 4 * 2 + 2
    net[1].weight.requires_grad_(False)
    assert count_params(net) == 8 * 3 * 9 + 8 + 2
    assert count_params(net, trainable_only=False) == 8 * 3 * 9 + 8 + 4 * 2 + 2


def test_count_params_counts_shared_parameters_once() -> None:
    layer = nn.Linear(5, 5)
    assert count_params(nn.Sequential(layer, layer)) == 30


def test_count_params_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="nn.Module, got list"):
        count_params([nn.Linear(2, 2)])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# LeNet-5
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["classic", "modern"])
def test_lenet5_layer_by_layer(variant: str) -> None:
    net = LeNet5(variant)
    layer = net.get_submodule
    per_layer = {
        "C1": count_params(layer("features.c1")),  # 6 x (5x5 + 1)
        "C3": count_params(layer("features.c3")),  # 16 x (6 x 5x5 + 1), fully connected
        "C5": count_params(layer("features.c5")),  # 120 x (16 x 5x5 + 1)
        "F6": count_params(layer("classifier.f6")),  # 84 x (120 + 1)
        "output": count_params(layer("classifier.output")),  # 10 x (84 + 1)
    }
    assert per_layer == {"C1": 156, "C3": 2_416, "C5": 48_120, "F6": 10_164, "output": 850}
    assert count_params(layer("features.s2")) == count_params(layer("features.s4")) == 0
    assert count_params(net) == sum(per_layer.values()) == 61_706


def test_lenet5_variants_use_their_activation_and_pooling() -> None:
    classic, modern = LeNet5("classic"), LeNet5("modern")
    assert isinstance(classic.features.act1, nn.Tanh)
    assert isinstance(classic.features.s2, nn.AvgPool2d)
    assert isinstance(modern.features.act1, nn.ReLU)
    assert isinstance(modern.features.s2, nn.MaxPool2d)


def test_lenet5_paper_numbers_from_the_c3_table() -> None:
    # LeCun et al. 1998, Table I: which S2 maps feed each C3 map.
    assert len(LENET5_C3_TABLE) == 16
    assert all(len(set(m)) == len(m) and set(m) <= set(range(6)) for m in LENET5_C3_TABLE)
    connections = sum(len(m) for m in LENET5_C3_TABLE)
    assert connections == 60
    c3_paper = connections * 5 * 5 + 16
    assert c3_paper == 1_516
    layer = LeNet5().get_submodule
    s2_paper, s4_paper = 2 * 6, 2 * 16  # one coefficient and one bias per map
    paper_trainable = (
        count_params(layer("features.c1"))
        + s2_paper
        + c3_paper
        + s4_paper
        + count_params(layer("features.c5"))
        + count_params(layer("classifier.f6"))
    )
    assert paper_trainable == 60_000
    rbf_fixed = 84 * 10
    assert count_params(LeNet5()) == paper_trainable + (2_416 - c3_paper) - 44 + (rbf_fixed + 10)


def test_lenet5_summary_mult_adds_match_hand_calculation() -> None:
    # Weights only, per image; pooling, activations and bias additions count 0 (documented).
    hand = {
        "features.c1": 28 * 28 * 6 * (1 * 5 * 5),  # 117,600
        "features.s2": 0,
        "features.c3": 10 * 10 * 16 * (6 * 5 * 5),  # 240,000
        "features.s4": 0,
        "features.c5": 1 * 1 * 120 * (16 * 5 * 5),  # 48,000
        "classifier.flatten": 0,
        "classifier.f6": 120 * 84,  # 10,080
        "classifier.output": 84 * 10,  # 840
    }
    s = summary(LeNet5(), (1, 32, 32))
    assert {r.name: r.mult_adds for r in s.rows} == hand
    assert s.total_mult_adds == sum(hand.values()) == 416_520
    assert [r.output_shape for r in s.rows][:5] == [
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 5, 5),
        (120, 1, 1),
    ]
    # The paper's "connections" add the bias: C1 has 122,304 of them.
    assert hand["features.c1"] + 28 * 28 * 6 == 122_304


def test_lenet5_rejects_mnist_size_with_a_hint() -> None:
    with pytest.raises(ValueError) as err:
        LeNet5()(torch.zeros(8, 1, 28, 28))
    assert str(err.value) == (
        "LeNet5 expects input of shape (N, 1, 32, 32), got (8, 1, 28, 28); pad MNIST's 28x28 "
        "digits by 2 pixels (or use size=32 in cnnlab.data)"
    )


@pytest.mark.parametrize("shape", [(8, 3, 32, 32), (1, 32, 32), (8, 1, 32, 31)])
def test_lenet5_rejects_wrong_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=re.escape(f"(N, 1, 32, 32), got {shape}")):
        LeNet5()(torch.zeros(shape))


def test_lenet5_rejects_unknown_variant() -> None:
    with pytest.raises(ValueError, match="'classic' or 'modern', got 'tiny'"):
        LeNet5("tiny")


# ---------------------------------------------------------------------------------------------
# ResNet
# ---------------------------------------------------------------------------------------------

# He et al. 2016, Table 6 (CIFAR-10), parameters as printed.
TABLE6 = {20: "0.27", 32: "0.46", 44: "0.66", 56: "0.85", 110: "1.7"}


@pytest.mark.parametrize("depth", sorted(TABLE6))
def test_resnet_cifar_parameters_match_he_et_al_table6(depth: int) -> None:
    printed = TABLE6[depth]
    decimals = len(printed.split(".")[1])
    n = count_params(resnet_cifar(depth))
    assert f"{n / 1e6:.{decimals}f}" == printed
    plain = plain_cifar(depth)
    assert count_params(plain) == n  # option-A shortcuts carry no parameters


def test_resnet_cifar_layer_count_is_6n_plus_2() -> None:
    net = resnet_cifar(32)
    weighted = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 32
    stages = [net.get_submodule(f"features.layer{i}") for i in (1, 2, 3)]
    assert [len(s) for s in stages if isinstance(s, nn.Sequential)] == [5, 5, 5]


def test_plain_twin_loads_the_residual_weights_and_differs_only_in_wiring() -> None:
    torch.manual_seed(0)
    res, plain = resnet_cifar(14, width=4), plain_cifar(14, width=4)
    plain.load_state_dict(res.state_dict())
    res.eval()
    plain.eval()
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(res(x), plain(x))
    assert not any(isinstance(m, ZeroPadShortcut) for m in plain.modules())
    assert sum(isinstance(m, ZeroPadShortcut) for m in res.modules()) == 2


def test_smaller_width_shrinks_the_network() -> None:
    assert count_params(resnet_cifar(20, width=8)) < count_params(resnet_cifar(20)) / 3


@pytest.mark.parametrize("depth", [21, 2, 19, 0])
def test_resnet_cifar_rejects_depth_not_6n_plus_2(depth: int) -> None:
    with pytest.raises(
        ValueError, match=re.escape("depth must be 6n+2 (e.g. 20, 32, 44, 56, 110)")
    ):
        resnet_cifar(depth)
    with pytest.raises(ValueError, match=f"got {depth}"):
        plain_cifar(depth)


def test_zero_pad_shortcut_subsamples_and_pads_channels() -> None:
    x = torch.randn(2, 4, 6, 6)
    y = ZeroPadShortcut(4, 8, stride=2)(x)
    assert y.shape == (2, 8, 3, 3)
    torch.testing.assert_close(y[:, :4], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 4:]) == 0
    with pytest.raises(ValueError, match="only add channels"):
        ZeroPadShortcut(8, 4)


def test_residual_block_is_a_basic_block_with_identity_shortcut() -> None:
    torch.manual_seed(0)
    rb, bb = ResidualBlock(8).eval(), BasicBlock(8, 8).eval()
    bb.load_state_dict(rb.state_dict())
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(rb(x), bb(x))
    # With F = 0 (last BN scaled to zero) the block passes relu(x) through.
    nn.init.zeros_(rb.bn2.weight)
    torch.testing.assert_close(rb(x), torch.relu(x))


def _copy_and_compare(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> None:
    ours.load_state_dict(theirs.state_dict())  # strict: same names and shapes
    assert count_params(ours) == count_params(theirs)
    ours.eval()
    theirs.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_basic_block_stage_equals_torchvision_resnet18_layer2() -> None:
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None)
    _copy_and_compare(
        resnet_stage(BasicBlock, 64, 128, 2, stride=2), tv.layer2, torch.randn(2, 64, 16, 16)
    )


def test_bottleneck_stage_equals_torchvision_resnet50_layer2() -> None:
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(weights=None)
    ours = resnet_stage(Bottleneck, 256, 128, 4, stride=2)
    assert count_params(ours) == count_params(tv.layer2) == 1_219_584
    _copy_and_compare(ours, tv.layer2, torch.randn(2, 256, 16, 16))


def test_resnet_stage_options() -> None:
    a = resnet_stage(BasicBlock, 16, 32, 2, stride=2, shortcut="A")
    b = resnet_stage(BasicBlock, 16, 32, 2, stride=2, shortcut="B")
    assert isinstance(a[0].downsample, ZeroPadShortcut)
    assert count_params(b) - count_params(a) == 16 * 32 + 2 * 32  # 1x1 projection + its BN
    plain = resnet_stage(PlainBlock, 16, 32, 2, stride=2)
    assert plain[0].downsample is None and count_params(plain) == count_params(a)
    with pytest.raises(ValueError, match="'A' .* or 'B' .*got 'C'"):
        resnet_stage(BasicBlock, 16, 32, 2, shortcut="C")


def test_blocks_check_their_input_channels() -> None:
    with pytest.raises(
        ValueError, match=re.escape("BasicBlock expects input of shape (N, 16, H, W)")
    ):
        BasicBlock(16, 16)(torch.zeros(1, 8, 4, 4))
    with pytest.raises(
        ValueError, match=re.escape("Bottleneck expects input of shape (N, 64, H, W)")
    ):
        Bottleneck(64, 16)(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="PlainBlock expects"):
        PlainBlock(4, 4)(torch.zeros(4, 4, 4))
    with pytest.raises(ValueError, match="no downsample"):
        PlainBlock(4, 8, 2, nn.Identity())
    with pytest.raises(ValueError, match="groups=1 and base_width=64"):
        BasicBlock(4, 4, groups=2)


# ---------------------------------------------------------------------------------------------
# VGG, AlexNet, GoogLeNet
# ---------------------------------------------------------------------------------------------


def test_vgg_features_equal_torchvision_vgg16_features() -> None:
    torch.manual_seed(0)
    tv_features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    ours = VGGSmall("D").features
    _copy_and_compare(ours, tv_features, torch.randn(1, 3, 32, 32))


def test_vgg_small_is_three_vgg_blocks() -> None:
    blocks = nn.Sequential(*vgg_block(1, 32, 2), *vgg_block(32, 64, 2), *vgg_block(64, 128, 2))
    ours = VGGSmall("small", in_channels=1).features
    assert [p.shape for p in ours.parameters()] == [p.shape for p in blocks.parameters()]
    assert [type(m) for m in ours] == [type(m) for m in blocks]
    assert VGG_CFGS["small"].count("M") == 3


def test_vgg_block_shapes_and_weights() -> None:
    block = vgg_block(3, 16, 3, batch_norm=True)
    assert block(torch.zeros(2, 3, 8, 8)).shape == (2, 16, 4, 4)
    assert sum(isinstance(m, nn.Conv2d) for m in block) == 3
    assert sum(isinstance(m, nn.BatchNorm2d) for m in block) == 3


def test_vgg_and_alexnet_configuration_errors() -> None:
    with pytest.raises(ValueError, match=r"divisible by 2\*\*5"):
        VGGSmall("A", image_size=48)
    with pytest.raises(ValueError, match="positive ints or 'M', got 'X'"):
        VGGSmall([32, "X"])
    with pytest.raises(ValueError, match="cfg must be one of"):
        VGGSmall("vgg99")
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'swish'"):
        VGGSmall(activation="swish")
    with pytest.raises(ValueError, match="image_size >= 15, got 14"):
        AlexNetSmall(image_size=14)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        AlexNetSmall(dropout=1.5)


def test_activation_and_dropout_options_are_applied() -> None:
    net = VGGSmall(activation="tanh", dropout=0.3)
    assert any(isinstance(m, nn.Tanh) for m in net.features)
    assert not any(isinstance(m, nn.ReLU) for m in net.modules())
    assert {m.p for m in net.modules() if isinstance(m, nn.Dropout)} == {0.3}
    alex = AlexNetSmall(activation="tanh", dropout=0.0)
    assert sum(isinstance(m, nn.Tanh) for m in alex.modules()) == 7


def test_inception_block_matches_googlenet_table1_ops() -> None:
    # Szegedy et al. 2015, Table 1, "ops" column (multiply-adds of the weights). The table is
    # not self-consistent everywhere: for 5a (832 -> 256+320+128+128 at 7x7) it prints 54M
    # where its own channel counts give 51.1M, so 5a is left out.
    blocks = {
        "3a": ((192, 64, 96, 128, 16, 32, 32), 28, 128),
        "3b": ((256, 128, 128, 192, 32, 96, 64), 28, 304),
        "4a": ((480, 192, 96, 208, 16, 48, 64), 14, 73),
        "4b": ((512, 160, 112, 224, 24, 64, 64), 14, 88),
        "4e": ((528, 256, 160, 320, 32, 128, 128), 14, 170),
        "5b": ((832, 384, 192, 384, 48, 128, 128), 7, 71),
    }
    for spec, size, ops_millions in blocks.values():
        block = InceptionBlock(*spec)
        s = summary(block, (spec[0], size, size))
        assert abs(s.total_mult_adds / 1e6 - ops_millions) < 1  # the table prints whole millions
        weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
        assert s.total_mult_adds == weights * size * size  # every conv runs at size x size


def test_inception_reductions_save_parameters_and_mult_adds() -> None:
    reduced = InceptionBlock(192, 64, 96, 128, 16, 32, 32)
    naive = InceptionBlock(192, 64, 96, 128, 16, 32, 32, reduce=False)
    assert reduced.out_channels == 256
    assert naive.out_channels == 64 + 128 + 32 + 192
    assert naive(torch.zeros(1, 192, 8, 8)).shape == (1, 416, 8, 8)
    s_red, s_naive = summary(reduced, (192, 28, 28)), summary(naive, (192, 28, 28))
    assert s_naive.total_params > 2 * s_red.total_params
    naive_macs = 28 * 28 * 192 * (64 + 9 * 128 + 25 * 32)
    assert s_naive.total_mult_adds == naive_macs
    assert s_naive.total_mult_adds > 2 * s_red.total_mult_adds


# ---------------------------------------------------------------------------------------------
# Efficient blocks, TinyVGG, beyond images
# ---------------------------------------------------------------------------------------------


def test_depthwise_separable_saves_what_the_formula_says() -> None:
    ds = DepthwiseSeparableConv(256, 256, norm=False)
    weights = sum(m.weight.numel() for m in ds.modules() if isinstance(m, nn.Conv2d))
    assert weights == 256 * 9 + 256 * 256 == 67_840
    full = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    assert count_params(full) == 589_824
    s_ds, s_full = summary(ds, (256, 16, 16)), summary(full, (256, 16, 16))
    assert s_ds.total_mult_adds == 16 * 16 * 67_840
    assert s_full.total_mult_adds == 16 * 16 * 589_824
    assert ds(torch.zeros(2, 256, 16, 16)).shape == (2, 256, 16, 16)


@pytest.mark.parametrize("index", [(2, 0), (2, 1), (1, 0)])
def test_mbconv_matches_torchvision_efficientnet_b0_blocks(index: tuple[int, int]) -> None:
    torch.manual_seed(0)
    tv_block = torchvision.models.efficientnet_b0(weights=None).features[index[0]][index[1]]
    convs = [m for m in tv_block.modules() if isinstance(m, nn.Conv2d)]
    expand = convs[0].out_channels // convs[0].in_channels if len(convs) == 5 else 1
    dw = convs[-4]
    ours = MBConv(
        convs[0].in_channels,
        convs[-1].out_channels,
        expand_ratio=expand,
        kernel_size=dw.kernel_size[0],
        stride=dw.stride[0],
    )
    assert ours.use_residual == tv_block.use_res_connect
    ours_state, tv_state = ours.state_dict(), tv_block.state_dict()
    assert [v.shape for v in ours_state.values()] == [v.shape for v in tv_state.values()]
    ours.load_state_dict(dict(zip(ours_state, tv_state.values(), strict=True)))
    for a, b in zip(
        [m for m in ours.modules() if isinstance(m, nn.BatchNorm2d)],
        [m for m in tv_block.modules() if isinstance(m, nn.BatchNorm2d)],
        strict=True,
    ):
        a.eps = b.eps
    ours.eval()
    tv_block.eval()
    x = torch.randn(2, convs[0].in_channels, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv_block(x))


def test_tinyvgg_matches_cnn_explainer() -> None:
    net = TinyVGG()
    assert count_params(net) == 19_920
    shapes = [r.output_shape for r in summary(net, (3, 64, 64)).rows]
    assert shapes == [
        (10, 62, 62),
        (10, 60, 60),
        (10, 30, 30),
        (10, 28, 28),
        (10, 26, 26),
        (10, 13, 13),
        (1690,),
        (10,),
    ]


def test_textcnn_rejects_bad_tokens() -> None:
    net = TextCNN(vocab_size=20, embed_dim=8, num_filters=4)
    with pytest.raises(TypeError, match="integer token ids, got dtype torch.float32"):
        net(torch.zeros(2, 10))
    with pytest.raises(ValueError, match=r"at least 5 tokens .*got shape \(2, 3\)"):
        net(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 20\), got values in \[0, 25\]"):
        net(torch.tensor([[0, 1, 2, 3, 4, 25]]))
    with pytest.raises(ValueError, match=re.escape("TextCNN expects input of shape (N, L)")):
        net(torch.zeros(2, 3, 10, dtype=torch.long))


def test_textcnn_max_over_time_ignores_where_the_phrase_is() -> None:
    torch.manual_seed(0)
    net = TextCNN(vocab_size=30, embed_dim=8, widths=(2, 3), num_filters=6, padding_idx=None)
    net.eval()
    # The phrase 5 9 17 at two places in a filler of 0s: both sentences contain the same set of
    # windows (only how often (0, 0) occurs differs), so the maxima over time agree.
    a = torch.tensor([[0, 0, 5, 9, 17, 0, 0, 0, 0, 0]])
    b = torch.tensor([[0, 0, 0, 0, 0, 5, 9, 17, 0, 0]])
    with torch.no_grad():
        torch.testing.assert_close(net(a), net(b))


def test_conv1dnet_receptive_field_is_measured_by_gradients() -> None:
    for growth, expected in ((1, 9), (2, 31)):
        net = Conv1dNet(2, num_classes=3, channels=(4, 4, 4, 4), dilation_growth=growth).eval()
        assert net.receptive_field == expected
        x = torch.randn(1, 2, 101, requires_grad=True)
        net.features(x)[0, :, 50].sum().backward()
        assert x.grad is not None
        support = torch.nonzero(x.grad.abs().sum(dim=1)[0]).flatten()
        assert support.max() - support.min() + 1 == expected
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        Conv1dNet(1, num_classes=2, kernel_size=4)


def test_conv3dnet_checks_clip_size() -> None:
    net = Conv3dNet(1, num_classes=4, channels=(4, 8))
    with pytest.raises(ValueError, match=re.escape("(N, 1, T, H, W), got (2, 1, 16, 16)")):
        net(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="at least 4"):
        net(torch.zeros(2, 1, 2, 16, 16))


def test_small_vit_budget_and_errors() -> None:
    target = count_params(VGGSmall("small", hidden=128))
    vit = SmallViT.with_budget(target, depth=4, patch_size=4)
    assert abs(count_params(vit) - target) / target < 0.03
    assert vit(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="divisible by heads"):
        SmallViT(dim=30, heads=4)
    with pytest.raises(ValueError, match="divisible by patch_size"):
        SmallViT(image_size=30, patch_size=4)
    with pytest.raises(
        ValueError, match=re.escape("SmallViT expects input of shape (N, 3, 32, 32)")
    ):
        vit(torch.zeros(2, 3, 64, 64))


# ---------------------------------------------------------------------------------------------
# Every model: output shape, training, input checks
# ---------------------------------------------------------------------------------------------

ModelCase = tuple[Callable[[], nn.Module], tuple[int, ...], int, torch.dtype]

CASES: dict[str, ModelCase] = {
    "lenet5-classic": (lambda: LeNet5("classic"), (1, 32, 32), 10, torch.float32),
    "lenet5-modern": (lambda: LeNet5("modern"), (1, 32, 32), 10, torch.float32),
    "alexnet-small": (
        lambda: AlexNetSmall(width=16, hidden=64, dropout=0.0),
        (3, 32, 32),
        10,
        torch.float32,
    ),
    "alexnet-gray": (
        lambda: AlexNetSmall(1, num_classes=5, width=8, hidden=32, dropout=0.0),
        (1, 32, 32),
        5,
        torch.float32,
    ),
    "vgg-small": (
        lambda: VGGSmall("small", in_channels=1, hidden=64, dropout=0.0),
        (1, 32, 32),
        10,
        torch.float32,
    ),
    "vgg-tanh-bn": (
        lambda: VGGSmall(
            [8, "M", 16, "M"], in_channels=3, num_classes=7, activation="tanh", batch_norm=True,
            hidden=32, dropout=0.0,
        ),
        (3, 32, 32),
        7,
        torch.float32,
    ),
    "googlenet-small": (
        lambda: GoogLeNetSmall(width_mult=0.25, dropout=0.0),
        (3, 32, 32),
        10,
        torch.float32,
    ),
    "googlenet-naive": (
        lambda: GoogLeNetSmall(1, num_classes=4, reduce=False, width_mult=0.25),
        (1, 16, 16),
        4,
        torch.float32,
    ),
    "resnet8": (lambda: resnet_cifar(8, width=8), (3, 32, 32), 10, torch.float32),
    "plain8": (lambda: plain_cifar(8, width=8), (3, 32, 32), 10, torch.float32),
    "resnet14-gray": (
        lambda: resnet_cifar(14, in_channels=1, width=4),
        (1, 32, 32),
        10,
        torch.float32,
    ),
    "tinyvgg": (lambda: TinyVGG(), (3, 64, 64), 10, torch.float32),
    "tinyvgg-32": (
        lambda: TinyVGG(1, num_classes=3, image_size=32, padding=1), (1, 32, 32), 3, torch.float32
    ),
    "textcnn": (
        lambda: TextCNN(50, num_classes=3, embed_dim=16, num_filters=8, dropout=0.0),
        (20,),
        3,
        torch.long,
    ),
    "conv1dnet": (
        lambda: Conv1dNet(2, num_classes=3, channels=(32, 32, 32), dilation_growth=2),
        (2, 64),
        3,
        torch.float32,
    ),
    "conv3dnet": (
        lambda: Conv3dNet(1, num_classes=4, channels=(4, 8)), (1, 8, 16, 16), 4, torch.float32
    ),
    "small-vit": (
        lambda: SmallViT(patch_size=8, dim=32, depth=2, heads=4),
        (3, 32, 32),
        10,
        torch.float32,
    ),
}


def _batch(size: tuple[int, ...], dtype: torch.dtype, n: int = 16) -> torch.Tensor:
    if dtype == torch.long:
        return torch.randint(1, 50, (n, *size))
    return torch.randn(n, *size)


def _labelled_batch(
    size: tuple[int, ...], dtype: torch.dtype, num_classes: int, n: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch: one random prototype per class plus noise (random tokens for text)."""
    g = torch.Generator().manual_seed(1)
    y = torch.arange(n) % num_classes
    if dtype == torch.long:
        return torch.randint(1, 50, (n, *size), generator=g), y
    prototypes = torch.randn(num_classes, *size, generator=g)
    return prototypes[y] + 0.5 * torch.randn(n, *size, generator=g), y


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_shape_and_training_reduces_loss(case: str) -> None:
    make, size, num_classes, dtype = CASES[case]
    torch.manual_seed(0)
    model = make()
    x, y = _labelled_batch(size, dtype, num_classes)
    assert model(x).shape == (x.shape[0], num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize(
    ("make", "size", "num_classes"),
    [
        (lambda: AlexNetSmall(), (3, 32, 32), 10),
        (lambda: VGGSmall(), (3, 32, 32), 10),
        (lambda: VGGSmall("D", hidden=64), (3, 32, 32), 10),
        (lambda: GoogLeNetSmall(), (3, 32, 32), 10),
        (lambda: resnet_cifar(20), (3, 32, 32), 10),
        (lambda: plain_cifar(20), (3, 32, 32), 10),
        (lambda: SmallViT(), (3, 32, 32), 10),
        (lambda: Conv3dNet(), (3, 8, 32, 32), 10),
        (lambda: Conv1dNet(1, num_classes=5), (1, 50), 5),
    ],
)
def test_default_configurations_give_the_right_output_shape(
    make: Callable[[], nn.Module], size: tuple[int, ...], num_classes: int
) -> None:
    model = make().eval()
    with torch.no_grad():
        assert model(torch.randn(2, *size)).shape == (2, num_classes)


@pytest.mark.parametrize("case", sorted(CASES))
def test_models_reject_wrong_channels_and_rank(case: str) -> None:
    make, size, _, dtype = CASES[case]
    model = make()
    good = _batch(size, dtype, n=2)
    with pytest.raises(
        ValueError, match=f"expects input of shape .*got {re.escape(str((2, *size[1:])))}"
    ):
        model(good[:, 0])  # one dimension short
    if dtype == torch.float32:
        wrong = torch.zeros(2, size[0] + 1, *size[1:])
        with pytest.raises(ValueError, match=rf"expects input of shape \(N, {size[0]}, "):
            model(wrong)


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_rows_add_up(case: str) -> None:
    make, size, num_classes, dtype = CASES[case]
    model = make()
    model.train()
    s = summary(model, size, dtype=dtype)
    assert sum(r.params for r in s.rows) == s.total_params == count_params(model)
    assert s.total_mult_adds == sum(r.mult_adds for r in s.rows) > 0
    assert s.rows[-1].output_shape == (num_classes,)
    assert model.training and all(m.training for m in model.modules())  # mode restored


# ---------------------------------------------------------------------------------------------
# summary and the torchvision reference counts
# ---------------------------------------------------------------------------------------------


def test_summary_renders_text_and_html() -> None:
    s = summary(LeNet5(), (1, 32, 32))
    text = str(s)
    assert "features.c3" in text and "2,416" in text and "61,706" in text and "416,520" in text
    assert repr(s) == text
    page = s._repr_html_()
    assert page.count("<tr>") == len(s.rows) + 1 and "features.c5" in page


# He et al. 2016, Table 1, "FLOPs" row (multiply-adds, in units of 1e9).
TABLE1_FLOPS = {
    "resnet18": 1.8,
    "resnet34": 3.6,
    "resnet50": 3.8,
    "resnet101": 7.6,
    "resnet152": 11.3,
}


@pytest.mark.parametrize("name", sorted(TABLE1_FLOPS))
def test_summary_mult_adds_of_resnets_match_he_et_al_table1(name: str) -> None:
    with torch.device("meta"):  # shapes only: no memory, no time
        model = torchvision.models.get_model(name, weights=None)
    v15 = summary(model, (3, 224, 224)).total_mult_adds
    # torchvision's bottleneck blocks stride in the 3x3 convolution ("v1.5"); the paper strides
    # in the first 1x1. Moving the stride back reproduces the paper's count.
    moved = 0
    for block in model.modules():
        if isinstance(block, torchvision.models.resnet.Bottleneck) and block.stride == 2:
            block.conv1.stride, block.conv2.stride = (2, 2), (1, 1)
            moved += 1
    s = summary(model, (3, 224, 224))
    assert abs(s.total_mult_adds / 1e9 - TABLE1_FLOPS[name]) < 0.1
    assert s.total_params == sum(r.params for r in s.rows) == count_params(model)
    if name == "resnet50":
        assert moved == 3 and round(v15 / 1e9, 1) == 4.1  # the figure the docstring quotes
    else:
        assert (moved > 0) == (v15 > s.total_mult_adds)


def test_summary_counts_attention() -> None:
    dim, length = 16, 5
    attention = nn.MultiheadAttention(dim, 2, batch_first=True)

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = attention

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attn(x, x, x, need_weights=False)[0]

    s = summary(SelfAttention(), (length, dim))
    assert [r.name for r in s.rows] == ["attn"]
    assert s.rows[0].params == 4 * dim * dim + 4 * dim
    assert s.total_mult_adds == 4 * length * dim * dim + 2 * length * length * dim


def test_summary_errors() -> None:
    with pytest.raises(ValueError, match="without the batch dimension"):
        summary(LeNet5(), (1, 1, 32, 32))
    with pytest.raises(ValueError, match="positive sizes"):
        summary(LeNet5(), ())
    with pytest.raises(TypeError, match="nn.Module, got str"):
        summary("lenet", (1, 32, 32))  # type: ignore[arg-type]


def test_summary_receptive_fields_of_lenet5() -> None:
    rf = {r.name: r.receptive_field for r in summary(LeNet5(), (1, 32, 32)).rows}
    # r = r_prev + (k - 1) * jump: 5, 6, 6 + 4 * 2 = 14, 16, 16 + 4 * 4 = 32.
    assert [rf[f"features.{n}"] for n in ("c1", "s2", "c3", "s4", "c5")] == [5, 6, 14, 16, 32]


def test_torchvision_param_counts() -> None:
    counts = torchvision_param_counts()
    # The figures the course quotes: AlexNet ~61M, VGG-16 138M and VGG-19 144M (Simonyan and
    # Zisserman, Table 2), ResNet-50 ~25M, ResNet-152 ~60M, EfficientNet-B0 5.3M, B7 66M.
    assert round(counts["alexnet"] / 1e6) == 61
    assert round(counts["vgg16"] / 1e6) == 138
    assert round(counts["vgg19"] / 1e6) == 144
    assert int(counts["resnet50"] / 1e6) == 25
    assert int(counts["resnet152"] / 1e6) == 60
    assert round(counts["efficientnet_b0"] / 1e6, 1) == 5.3
    assert round(counts["efficientnet_b7"] / 1e6) == 66
    assert counts["resnet18"] < counts["resnet50"] < counts["resnet152"]
    # The meta-device count equals a real build's count.
    real = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    assert counts["googlenet"] == count_params(real)
    assert counts["resnet18"] == count_params(torchvision.models.resnet18(weights=None))
    with pytest.raises(ValueError, match="no model named 'lenet'"):
        torchvision_param_counts(["lenet"])


# ---------------------------------------------------------------------------------------------
# One set of argument checks: sizes, dtypes, keyword-only constructors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: VGGSmall(in_channels=0), "in_channels must be positive, got 0"),
        (lambda: TinyVGG(in_channels=0), "in_channels must be positive, got 0"),
        (lambda: conv3x3(3, 8, stride=0), "stride must be positive, got 0"),
        (lambda: InceptionBlock(8, -1, 4, 4, 2, 2, 2), "ch1x1 must be positive, got -1"),
        (lambda: PatchEmbedding(3, 16, 0, 16), "patch_size must be positive, got 0"),
        (lambda: MBConv(0, 8), "in_channels must be positive, got 0"),
        (lambda: resnet_cifar(20, num_classes=0), "num_classes must be positive, got 0"),
    ],
)
def test_constructors_refuse_sizes_below_one(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_constructors_refuse_non_integer_sizes_with_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"num_classes must be an int, got 2.5 \(float\)"):
        AlexNetSmall(num_classes=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="in_channels must be an int, got True"):
        LeNet5(in_channels=True)


def test_constructors_accept_numpy_integers() -> None:
    net = LeNet5("modern", num_classes=np.int64(4), in_channels=np.int32(1))
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 4)
    assert count_params(resnet_cifar(np.int64(8), width=np.int64(4))) > 0


@pytest.mark.parametrize(
    "cls", [LeNet5, AlexNetSmall, VGGSmall, GoogLeNetSmall, CifarResNet, TinyVGG, TextCNN,
            Conv1dNet, Conv3dNet, SmallViT]
)
def test_model_constructors_take_one_positional_argument(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:]), cls
    names = {p.name for p in params}
    assert "num_classes" in names and ({"in_channels", "vocab_size"} & names)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.complex64, torch.bool])
def test_models_refuse_images_that_are_not_floats(dtype: torch.dtype) -> None:
    image = torch.zeros(2, 1, 32, 32, dtype=dtype)
    with pytest.raises(TypeError, match=f"floating-point tensor, got dtype {dtype}"):
        LeNet5()(image)
