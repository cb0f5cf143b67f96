"""Tests of cnnlab.inside: the deconvnet, the three backward rules, top-k, occlusion, evolution."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import inside
from cnnlab.inside import (
    DeconvNet,
    attribution,
    backward_with_rule,
    experiments,
    relu_backward,
    relu_rule,
)

DOUBLE = torch.float64


def _randomize_bn(model: nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen, dtype=DOUBLE))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen, dtype=DOUBLE) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen, dtype=DOUBLE))
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen, dtype=DOUBLE))


def random_net(seed: int) -> nn.Sequential:
    """A random conv net: overlapping 3x3/stride-2 pooling, BatchNorm, strides, padding,
    dilation, groups."""
    gen = torch.Generator().manual_seed(seed)

    def pick(options: list[int]) -> int:
        return options[int(torch.randint(len(options), (1,), generator=gen))]

    torch.manual_seed(seed)
    c1, c2, c3 = pick([3, 4, 6]), pick([5, 8]), pick([4, 7])
    net = nn.Sequential(
        nn.Conv2d(3, c1, pick([3, 5]), padding=pick([0, 1, 2])),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=pick([0, 1])),  # overlapping windows
        nn.Sequential(  # nested container
            nn.Conv2d(c1, c2, 3, stride=pick([1, 2]), padding=1, dilation=pick([1, 2])),
            nn.ReLU(),
        ),
        nn.MaxPool2d(pick([2, 3]), stride=2),
        nn.Conv2d(c2, c3, 3, padding=1, bias=False),
        nn.BatchNorm2d(c3),
        nn.ReLU(),
        nn.Conv2d(c3, 2 * c3, (3, 2), stride=2, groups=c3),  # grouped, odd sizes, non-square
        nn.ReLU(),
    ).to(DOUBLE)
    _randomize_bn(net, gen)
    return net


def reference_deconvnet(model: nn.Sequential, image: torch.Tensor, top: int, channel: int,
                        position: tuple[int, int]) -> torch.Tensor:
    """Independent reference: autograd with a backward hook rectifying each ReLU's signal."""
    layers = [m for _, m in inside.feature_layers(model)]
    hooks = [m.register_full_backward_hook(lambda mod, g_in, g_out: (g_out[0].clamp(min=0),))
             for m in layers[: top + 1] if isinstance(m, nn.ReLU)]
    try:
        model.eval()
        x = image.unsqueeze(0).clone().requires_grad_(True)
        out = x
        for layer in layers[: top + 1]:
            out = layer(out)
        (grad,) = torch.autograd.grad(out[0, channel, position[0], position[1]], x)
    finally:
        for h in hooks:
            h.remove()
    return grad[0]


def hooks_left(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(m._backward_pre_hooks) for m in model.modules())


def small_classifier(seed: int = 0, inplace: bool = False) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=inplace),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 3 * 3, 16), nn.ReLU(inplace=inplace),
        nn.Linear(16, 5),
    )


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------


def test_relu_backward_known_answers() -> None:
    g = torch.tensor([2.0, -1.0, 3.0, -4.0, 5.0])
    x = torch.tensor([1.0, 1.0, -1.0, -1.0, 0.0])
    assert relu_backward(g, x, "gradient").tolist() == [2.0, -1.0, 0.0, 0.0, 0.0]
    assert relu_backward(g, x, "deconvnet").tolist() == [2.0, 0.0, 3.0, 0.0, 5.0]
    assert relu_backward(g, x, "guided").tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="rule must be one of"):
        relu_backward(g, x, "lrp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        relu_backward(g, x[:3], "guided")


def test_gradient_rule_is_autograd() -> None:
    """The 'gradient' rule reproduces plain autograd, so the swap machinery changes nothing."""
    model = small_classifier(1).to(DOUBLE).eval()
    image = torch.randn(1, 12, 12, dtype=DOUBLE)
    x = image.unsqueeze(0).requires_grad_(True)
    (expected,) = torch.autograd.grad(model(x)[0, 3], x)
    torch.testing.assert_close(inside.saliency(model, image, 3), expected[0])
    torch.testing.assert_close(backward_with_rule(model, image, "gradient", target=3),
                               expected[0])


@pytest.mark.parametrize("seed", range(4))
def test_deconvnet_projection_is_backward_with_deconvnet_rule(seed: int) -> None:
    model = random_net(seed)
    image = torch.randn(3, 29 + seed, 27, dtype=DOUBLE)
    deconv = DeconvNet(model)
    checked = 0
    for top in range(len(deconv.layers)):
        for channel in range(2):
            p = deconv.project(image, top, channel)
            if p.value <= 0:  # rectifying commutes with positive scales only
                continue
            autograd = backward_with_rule(model, image, "deconvnet", layer=top, channel=channel)
            reference = reference_deconvnet(model, image, top, channel, p.position)
            assert p.pixels.abs().max() > 0
            torch.testing.assert_close(p.pixels / p.value, autograd)
            torch.testing.assert_close(autograd, reference)
            checked += 1
    assert checked >= 5


def test_deconvnet_differs_from_gradient_and_guided() -> None:
    """The three rules give different pictures on a deep enough random net."""
    model = random_net(0)
    image = torch.randn(3, 32, 32, dtype=DOUBLE)
    top = len(inside.feature_layers(model)) - 1
    strongest = inside.feature_maps(model, image, top).amax(dim=(1, 2))
    assert strongest.max() > 0
    channel = int(strongest.argmax())
    maps = {rule: backward_with_rule(model, image, rule, layer=top, channel=channel)
            for rule in inside.RULES}
    assert not torch.allclose(maps["deconvnet"], maps["gradient"])
    assert not torch.allclose(maps["deconvnet"], maps["guided"])
    assert not torch.allclose(maps["gradient"], maps["guided"])


def test_guided_backprop_is_zero_where_the_input_relu_was_off() -> None:
    """A ReLU applied to the input: guided (and plain) gradient vanish where x <= 0."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 4)).to(DOUBLE)
    image = torch.randn(2, 6, 6, dtype=DOUBLE)
    image[0, 0, 0] = 0.0  # the boundary case counts as "off"
    off = image <= 0
    for target in range(4):
        guided = inside.guided_backprop(model, image, target)
        gradient = inside.saliency(model, image, target)
        deconv = backward_with_rule(model, image, "deconvnet", target=target)
        assert (guided[off] == 0).all() and (gradient[off] == 0).all()
        w = model[2].weight[target].view(2, 6, 6)
        torch.testing.assert_close(guided, torch.where(off, 0.0, w.clamp(min=0)))
        torch.testing.assert_close(deconv, w.clamp(min=0))  # ignores x
        assert (deconv[off] != 0).any()


@pytest.mark.parametrize("rule", ["gradient", "deconvnet", "guided"])
def test_layerwise_signals_follow_the_rule(rule: inside.Rule) -> None:
    """At every ReLU of a deep net, what goes down is relu_backward(what came, x, rule)."""
    model = small_classifier(2).to(DOUBLE).eval()
    image = torch.randn(1, 1, 12, 12, dtype=DOUBLE)
    records: list[dict[str, torch.Tensor]] = []
    with relu_rule(model, rule):
        swapped = [m for m in model.modules() if isinstance(m, attribution._RuleReLU)]
        assert len(swapped) == 3
        hooks = []
        for m in swapped:
            record: dict[str, torch.Tensor] = {}
            records.append(record)
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out, r=record: r.update(x=inp[0].detach())))
            hooks.append(m.register_full_backward_hook(
                lambda mod, g_in, g_out, r=record: r.update(g_in=g_in[0], g_out=g_out[0])))
        x = image.clone().requires_grad_(True)
        model(x)[0, 1].backward()
        for h in hooks:
            h.remove()
    for r in records:
        torch.testing.assert_close(r["g_in"], relu_backward(r["g_out"], r["x"], rule))
        if rule != "deconvnet":
            assert (r["g_in"][r["x"] <= 0] == 0).all()
        if rule != "gradient":
            assert (r["g_in"] >= 0).all()
    assert hooks_left(model) == 0


# --------------------------------------------------------------------------------------------
# DeconvNet details
# --------------------------------------------------------------------------------------------


def test_projection_metadata_and_default_position() -> None:
    model = random_net(3)
    image = torch.randn(3, 20, 20, dtype=DOUBLE)
    top = 3
    maps = inside.feature_maps(model, image, top)
    p = DeconvNet(model).project(image, top, channel=1)
    assert p.value == pytest.approx(float(maps[1].max()))
    assert maps[1][p.position] == maps[1].max()
    assert p.layer == top and p.layer_name == "3" and p.channel == 1
    assert p.pixels.shape == image.shape
    q = DeconvNet(model).project(image, "3", channel=1, position=(0, 0))
    assert q.value == pytest.approx(float(maps[1, 0, 0]))


def test_overlapping_pooling_adds_where_windows_share_the_maximum() -> None:
    """One input pixel that is the maximum of 4 overlapping windows receives all 4 values."""
    pool = nn.Sequential(nn.MaxPool2d(3, stride=2))
    image = torch.zeros(1, 5, 5)
    image[0, 2, 2] = 1.0  # inside all four 3x3 windows of a 5x5 image
    deconv = DeconvNet(pool)
    output, _, switches = deconv.forward(image.unsqueeze(0), 0)
    assert output.shape == (1, 1, 2, 2) and (switches[0] == 12).all()
    total = sum(deconv.project(image, 0, 0, (r, c)).pixels for r in range(2) for c in range(2))
    assert isinstance(total, torch.Tensor)
    assert total[0, 2, 2] == 4.0
    # all four at once, the way autograd's max-pool backward adds them
    x = image.unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(pool(x).sum(), x)
    assert grad[0, 0, 2, 2] == 4.0


def test_batchnorm_is_folded_into_the_convolution() -> None:
    gen = torch.Generator().manual_seed(5)
    conv = nn.Conv2d(2, 3, 3, bias=False).to(DOUBLE)
    bn = nn.BatchNorm2d(3).to(DOUBLE)
    model = nn.Sequential(conv, bn, nn.ReLU())
    _randomize_bn(model, gen)
    deconv = DeconvNet(model)
    image = torch.randn(2, 7, 7, dtype=DOUBLE)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = nn.Sequential(nn.Conv2d(2, 3, 3).to(DOUBLE), nn.ReLU())
    folded[0].weight.data = conv.weight.data * scale.view(-1, 1, 1, 1)
    folded[0].bias.data = bn.bias.data - bn.running_mean * scale
    for top in (1, 2):  # BatchNorm's output, then the ReLU's
        for channel in range(3):
            p = deconv.project(image, top, channel, position=(2, 3))
            q = DeconvNet(folded).project(image, top - 1, channel, position=(2, 3))
            assert p.value == pytest.approx(q.value)
            torch.testing.assert_close(p.pixels, q.pixels)
    p = deconv.project(image, 1, 0, position=(2, 3))
    expected = torch.zeros(2, 7, 7, dtype=DOUBLE)
    expected[:, 2:5, 3:6] = p.value * folded[0].weight[0]
    torch.testing.assert_close(p.pixels, expected)


def test_projection_stays_inside_the_receptive_field() -> None:
    model = random_net(1)
    image = torch.randn(3, 30, 30, dtype=DOUBLE)
    deconv = DeconvNet(model)
    nonzero = 0
    for top in (3, 6, len(deconv.layers) - 1):
        for channel in range(3):
            p = deconv.project(image, top, channel)
            t, left, b, r = experiments._receptive_window(deconv.layers, top, p.position)
            inside_box = p.pixels[:, max(t, 0):b, max(left, 0):r]
            assert inside_box.abs().sum() == pytest.approx(float(p.pixels.abs().sum()))
            nonzero += bool(p.pixels.abs().sum() > 0)
    assert nonzero >= 6


def _window_by_hand(layers: list[nn.Module], position: tuple[int, int]) -> tuple[int, ...]:
    """Going down, units [a, b] of a layer (kernel k, stride s, padding p, dilation d) read
    input units [a*s - p, b*s - p + d*(k-1)]; per axis, pairs everywhere."""
    lo, hi = list(position), list(position)
    for layer in reversed(layers):
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d):
            k, s, p, d = (torch.nn.modules.utils._pair(v) for v in
                          (layer.kernel_size, layer.stride, layer.padding, layer.dilation))
            for a in range(2):
                lo[a] = lo[a] * s[a] - p[a]
                hi[a] = hi[a] * s[a] - p[a] + d[a] * (k[a] - 1)
    return (lo[0], lo[1], hi[0] + 1, hi[1] + 1)


def test_receptive_window_known_answers_and_agreement() -> None:
    from cnnlab.receptive import input_window, receptive_field

    # conv3 -> pool2 -> conv3: receptive field 8, jump 2
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    layers = inside.feature_layers(net)
    assert experiments._receptive_window(layers, 2, (0, 0)) == (0, 0, 8, 8)
    assert experiments._receptive_window(layers, 2, (1, 2)) == (2, 4, 10, 12)
    # padding makes the window start outside the image
    padded = inside.feature_layers(nn.Sequential(nn.Conv2d(1, 1, 5, padding=2)))
    assert experiments._receptive_window(padded, 0, (0, 0)) == (-2, -2, 3, 3)
    # non-square kernels, strides and dilations, one axis at a time
    odd = nn.Sequential(nn.Conv2d(1, 1, (3, 1), stride=(1, 2), padding=(1, 0)), nn.ReLU(),
                        nn.MaxPool2d((2, 3), stride=(2, 1), padding=(1, 1)),
                        nn.Conv2d(1, 1, (1, 3), dilation=(1, 2)))
    odd_layers = inside.feature_layers(odd)
    for position in [(0, 0), (3, 1), (2, 5)]:
        assert experiments._receptive_window(odd_layers, 3, position) == _window_by_hand(
            list(odd), position)
    # square layers: the same box as cnnlab.receptive.input_window, once clipped
    for seed in range(4):
        model = random_net(seed)[:-2]  # without the non-square convolution
        layers = inside.feature_layers(model)
        table = receptive_field(model, input_size=32)
        for top in range(len(layers)):
            t, left, b, r = experiments._receptive_window(layers, top, (1, 2))
            assert (t, left, b, r) == _window_by_hand([m for _, m in layers[: top + 1]], (1, 2))
            clipped = (max(t, 0), max(left, 0), min(b, 32), min(r, 32))
            if table[top].out_size > 2:
                assert clipped == input_window(table[top], (1, 2), 32)


# --------------------------------------------------------------------------------------------
# Top activations
# --------------------------------------------------------------------------------------------


def test_top_activations_brute_force() -> None:
    model = random_net(2)
    images = torch.randn(40, 3, 20, 20, dtype=DOUBLE)
    top, channel, k = 5, 1, 9
    tops = inside.top_activations(model, top, channel, images, k=k, batch_size=16)
    per_image = torch.stack([inside.feature_maps(model, im, top)[channel].max() for im in images])
    expected = torch.sort(per_image, descending=True, stable=True)
    assert [t.index for t in tops] == expected.indices[:k].tolist()
    assert [t.value for t in tops] == pytest.approx(expected.values[:k].tolist())
    assert len({t.index for t in tops}) == k  # at most one per image
    for t in tops:
        full = DeconvNet(model).project(images[t.index], top, channel)
        assert t.position == full.position
        b0, b1, b2, b3 = t.box
        assert t.patch.shape == (3, b2 - b0, b3 - b1) == t.projection.shape
        torch.testing.assert_close(t.patch, images[t.index][:, b0:b2, b1:b3])
        # the crop loses nothing of the projection
        assert t.projection.abs().sum() == pytest.approx(float(full.pixels.abs().sum()))


def test_top_activations_accepts_a_dataset_and_checks_k() -> None:
    class Data:
        images = torch.rand(5, 1, 12, 12)

    model = small_classifier(0)
    assert len(inside.top_activations(model, 2, 0, Data(), k=5)) == 5
    with pytest.raises(ValueError, match=r"k must be in \[1, 5\], got 6"):
        inside.top_activations(model, 2, 0, Data(), k=6)
    with pytest.raises(TypeError, match=r"tensor \(N, C, H, W\)"):
        inside.top_activations(model, 2, 0, [1, 2, 3], k=1)
    with pytest.raises(ValueError, match="channel must be in"):
        inside.top_activations(model, 2, 9, Data(), k=1)


# --------------------------------------------------------------------------------------------
# Occlusion
# --------------------------------------------------------------------------------------------


def test_occlusion_maps_are_the_occluded_outputs() -> None:
    """Non-overlapping windows: entry [i, j] is f(image with window (i, j) filled)."""
    model = small_classifier(3).eval()
    image = torch.randn(1, 12, 12)
    maps = inside.occlusion(model, image, target=2, window=4, stride=4, fill=0.5, layer=5,
                            channel=3, batch_size=5)
    assert maps.activation.shape == maps.probability.shape == maps.label.shape == (3, 3)
    assert maps.rows == maps.cols == [0, 4, 8]
    for i, r in enumerate(maps.rows):
        for j, c in enumerate(maps.cols):
            occluded = image.clone()
            occluded[:, r:r + 4, c:c + 4] = 0.5
            with torch.no_grad():
                act = model[:6](occluded.unsqueeze(0))[0, 3].sum()
                prob = model(occluded.unsqueeze(0)).softmax(1)[0]
            assert maps.activation[i, j] == pytest.approx(float(act), rel=1e-5, abs=1e-5)
            assert maps.probability[i, j] == pytest.approx(float(prob[2]), rel=1e-5, abs=1e-6)
            assert maps.label[i, j] == int(prob.argmax())
    with torch.no_grad():
        base = model(image.unsqueeze(0)).softmax(1)[0]
    assert maps.baseline_probability == pytest.approx(float(base[2]), rel=1e-5)
    assert maps.baseline_label == int(base.argmax())


def test_occlusion_defaults_overlap_and_fill() -> None:
    model = small_classifier(4).eval()
    image = torch.rand(1, 12, 12)
    maps = inside.occlusion(model, image, target=0, window=5, stride=2)
    assert maps.rows == maps.cols == [0, 2, 4, 6]
    # default layer: the last one that still gives feature maps (the second pooling)
    assert maps.layer == 6 and maps.layer_name == "6"
    totals = inside.feature_maps(model, image, 6).sum(dim=(1, 2))
    assert maps.channel == int(totals.argmax())
    assert maps.baseline_activation == pytest.approx(float(totals.max()), rel=1e-5)
    assert isinstance(maps.fill, torch.Tensor)
    assert maps.fill.item() == pytest.approx(float(image.mean()))
    with pytest.raises(ValueError, match=r"window must be in \[1, 12\], got 13"):
        inside.occlusion(model, image, 0, window=13, stride=1)
    with pytest.raises(ValueError, match="stride must be positive, got 0"):
        inside.occlusion(model, image, 0, window=3, stride=0)
    with pytest.raises(ValueError, match="fill must be a number or 'mean'"):
        inside.occlusion(model, image, 0, window=3, stride=1, fill="gray")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"target must be a class index in \[0, 5\)"):
        inside.occlusion(model, image, 7, window=3, stride=3)


# --------------------------------------------------------------------------------------------
# Robustness
# --------------------------------------------------------------------------------------------


def test_repeated_calls_agree_and_leave_the_model_untouched() -> None:
    model = small_classifier(5)
    model.train()
    model[4].eval()  # a mixed mode must come back as it was
    modes = [m.training for m in model.modules()]
    modules = list(model.modules())
    state = copy.deepcopy(model.state_dict())
    image = torch.randn(1, 12, 12)
    images = torch.randn(12, 1, 12, 12)
    calls = [
        lambda: DeconvNet(model).project(image, 5, 2).pixels,
        lambda: inside.guided_backprop(model, image, 1),
        lambda: inside.saliency(model, image, 1),
        lambda: backward_with_rule(model, image, "deconvnet", layer=6, channel=1),
        lambda: inside.occlusion(model, image, 1, window=4, stride=2).probability,
        lambda: torch.stack([t.projection.sum() for t in
                             inside.top_activations(model, 6, 0, images, k=4)]),
        lambda: inside.feature_evolution(model, [state, state], image, 5, [0, 1]).projections,
    ]
    for call in calls:
        first, second = call(), call()
        assert torch.equal(first, second)
        assert hooks_left(model) == 0
        assert list(model.modules()) == modules  # swapped ReLUs are back
        assert [m.training for m in model.modules()] == modes
        for key, value in model.state_dict().items():  # BN running stats not updated
            assert torch.equal(value, state[key]), key
        assert all(p.grad is None for p in model.parameters())


def test_inplace_relu_gives_the_same_results() -> None:
    plain, inplace = small_classifier(6), small_classifier(6, inplace=True)
    image = torch.randn(1, 12, 12)
    before = image.clone()
    for rule in inside.RULES:
        torch.testing.assert_close(backward_with_rule(inplace, image, rule, target=0),
                                   backward_with_rule(plain, image, rule, target=0))
    torch.testing.assert_close(DeconvNet(inplace).project(image, 5, 1).pixels,
                               DeconvNet(plain).project(image, 5, 1).pixels)
    torch.testing.assert_close(inside.occlusion(inplace, image, 0, 4, 4).activation,
                               inside.occlusion(plain, image, 0, 4, 4).activation)
    first_inplace = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(1, 2, 3), nn.ReLU())
    inside.feature_maps(first_inplace, image, 2)
    assert torch.equal(image, before)  # the caller's image is never written into


def test_a_reused_relu_module_works() -> None:
    torch.manual_seed(7)
    relu = nn.ReLU()
    shared = nn.Sequential(nn.Conv2d(1, 3, 3), relu, nn.Conv2d(3, 4, 3), relu, nn.Flatten(),
                           nn.Linear(4 * 8 * 8, 3))
    separate = copy.deepcopy(shared)
    separate[3] = nn.ReLU()
    assert shared[1] is shared[3] and separate[1] is not separate[3]
    image = torch.randn(1, 12, 12)
    for rule in inside.RULES:
        torch.testing.assert_close(backward_with_rule(shared, image, rule, target=1),
                                   backward_with_rule(separate, image, rule, target=1))
    assert shared[1] is relu and shared[3] is relu
    with pytest.raises(ValueError, match="give the index instead"):
        DeconvNet(shared).project(image, relu, 0)
    torch.testing.assert_close(DeconvNet(shared).project(image, 3, 0).pixels,
                               DeconvNet(separate).project(image, 3, 0).pixels)


class FunctionalReLUNet(nn.Module):
    def __init__(self, relu: str) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU())
        self.fc = nn.Linear(3 * 6 * 6, 2)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if self.relu == "F.relu":
            x = F.relu(x)
        elif self.relu == "torch.relu":
            x = torch.relu(x)
        else:
            x = x.relu()
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("relu", ["F.relu", "torch.relu", "Tensor.relu"])
def test_functional_relu_is_detected(relu: str) -> None:
    model = FunctionalReLUNet(relu)
    relu_module = model.features[1]
    image = torch.randn(1, 8, 8)
    for rule in ("deconvnet", "guided"):
        with pytest.raises(ValueError, match=f"calls {relu} inside its forward.*nn.ReLU"):
            backward_with_rule(model, image, rule, target=0)  # type: ignore[arg-type]
        # the error left nothing behind: the nn.ReLU is back, training mode too
        assert model.features[1] is relu_module and model.training
    assert inside.saliency(model, image, 0).shape == (1, 8, 8)  # the true gradient is fine
    assert hooks_left(model) == 0 and model.training


def test_other_activations_are_refused_by_the_relu_rules() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.LeakyReLU(), nn.Flatten(), nn.Linear(72, 2))
    with pytest.raises(ValueError, match=r"ReLU only.*1 \(LeakyReLU\)"):
        inside.guided_backprop(model, torch.rand(1, 8, 8), 0)
    assert inside.saliency(model, torch.rand(1, 8, 8), 0).shape == (1, 8, 8)


def test_unsupported_layer_is_named() -> None:
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2),
                                               nn.Conv2d(2, 2, 3)))
    deconv = DeconvNet(model)
    image = torch.rand(1, 12, 12)
    assert deconv.project(image, 1, 0).pixels.shape == (1, 12, 12)  # below it: fine
    with pytest.raises(ValueError, match=r"but layer 2 \(features.2\) is AvgPool2d"):
        deconv.project(image, 3, 0)
    bn_first = nn.Sequential(nn.BatchNorm2d(1), nn.Conv2d(1, 2, 3))
    with pytest.raises(ValueError, match="must come right after a Conv2d"):
        DeconvNet(bn_first).project(image, 1, 0)
    reflect = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="'reflect'"):
        DeconvNet(reflect).project(image, 0, 0)


def test_bad_arguments_raise_clear_errors() -> None:
    model = small_classifier(0)
    deconv = DeconvNet(model)
    image = torch.rand(1, 12, 12)
    with pytest.raises(ValueError, match=r"layer 20 is out of range; the layers are: 0 0 \(Conv"):
        deconv.project(image, 20, 0)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        deconv.project(image, "conv9", 0)
    with pytest.raises(ValueError, match=r"channel must be in \[0, 4\)"):
        deconv.project(image, 1, 4)
    with pytest.raises(ValueError, match=r"position \(12, 0\) is outside the 12x12"):
        deconv.project(image, 1, 0, (12, 0))
    with pytest.raises(ValueError, match="image has 3 channels but the first convolution"):
        deconv.project(torch.rand(3, 12, 12), 1, 0)
    with pytest.raises(ValueError, match=r"one image of shape \(C, H, W\)"):
        deconv.project(torch.rand(2, 1, 12, 12), 1, 0)
    with pytest.raises(TypeError, match="as a torch.Tensor"):
        inside.saliency(model, image.numpy(), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"target must be a class index in \[0, 5\), got 5"):
        inside.saliency(model, image, 5)
    with pytest.raises(TypeError, match="target must be an int class index"):
        inside.guided_backprop(model, image, 1.5)  # type: ignore[arg-type]
    label = torch.tensor(3)  # a label tensor works as a class index
    torch.testing.assert_close(inside.saliency(model, image, label),  # type: ignore[arg-type]
                               inside.saliency(model, image, 3))
    with pytest.raises(ValueError, match="not both"):
        backward_with_rule(model, image, "guided", target=0, layer=1, channel=0)
    with pytest.raises(ValueError, match="needs a channel"):
        backward_with_rule(model, image, "guided", layer=1)
    with pytest.raises(ValueError, match="rule must be one of"):
        backward_with_rule(model, image, "lrp", target=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nn.Sequential or a model with a .features"):
        DeconvNet(FunctionalReLUNet("F.relu").fc)
    with pytest.raises(ValueError, match="not feature maps"):
        inside.feature_maps(model, image, 8)


# --------------------------------------------------------------------------------------------
# Layers, feature maps, evolution
# --------------------------------------------------------------------------------------------


def test_feature_layers_walks_features_and_nested_sequentials() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3),
                                          nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)))
            self.classifier = nn.Linear(2, 2)

    names = [name for name, _ in inside.feature_layers(Net())]
    assert names == ["features.0", "features.1.0", "features.1.1"]
    image = torch.rand(1, 8, 8)
    net = Net()
    torch.testing.assert_close(inside.feature_maps(net, image, "features.1.1"),
                               net.features(image.unsqueeze(0))[0])


def test_feature_evolution_follows_the_snapshots(tmp_path: object) -> None:
    import pathlib

    assert isinstance(tmp_path, pathlib.Path)
    model = small_classifier(8)
    original = copy.deepcopy(model.state_dict())
    snaps = inside.Snapshots(every=1)
    states = []
    for epoch in range(1, 4):
        torch.manual_seed(100 + epoch)
        model.load_state_dict(small_classifier(100 + epoch).state_dict())
        snaps(epoch, {}, model)
        states.append(copy.deepcopy(model.state_dict()))
    model.load_state_dict(original)
    path = tmp_path / "epoch3.pt"
    torch.save({"model_state_dict": states[2], "epoch": 3}, path)
    image = torch.randn(1, 12, 12)
    evo = inside.feature_evolution(model, [snaps.states[0], snaps.states[1], str(path)], image,
                                   layer=5, channels=[0, 2], labels=["e1", "e2", "e3"])
    assert evo.projections.shape == (3, 2, 1, 12, 12) and evo.values.shape == (3, 2)
    assert snaps.epochs == [1, 2, 3] and evo.labels == ["e1", "e2", "e3"]
    for s, state in enumerate(states):
        replica = small_classifier(0)
        replica.load_state_dict(state)
        for k, channel in enumerate([0, 2]):
            p = DeconvNet(replica).project(image, 5, channel)
            torch.testing.assert_close(evo.projections[s, k], p.pixels)
            assert evo.positions[s][k] == p.position
    for key, value in model.state_dict().items():
        assert torch.equal(value, original[key])
    assert not torch.equal(evo.projections[0], evo.projections[1])
    with pytest.raises(ValueError, match="snapshots is empty"):
        inside.feature_evolution(model, [], image, 5, [0])
    with pytest.raises(TypeError, match="a snapshot must be a state dict"):
        inside.feature_evolution(model, [42], image, 5, [0])


def test_snapshots_keeps_chosen_epochs_as_copies() -> None:
    net = nn.Linear(2, 2)
    snaps = inside.Snapshots(every=3, epochs=[1])
    for epoch in range(1, 7):
        assert snaps(epoch, {}, net) is False
    assert snaps.epochs == [1, 3, 6]
    with torch.no_grad():
        net.weight.add_(1.0)
    assert not torch.equal(snaps.states[0]["weight"], net.weight)
    with pytest.raises(ValueError, match="every must be positive, got 0"):
        inside.Snapshots(every=0)


# ---------------------------------------------------------------------------------------------
# Bad input: integer, complex or NaN pixels, a missing model, non-integer settings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.uint8, torch.complex64])
def test_tools_refuse_images_that_are_not_real_floats(dtype: torch.dtype) -> None:
    net = small_classifier()
    image = torch.zeros(1, 8, 8, dtype=dtype)
    for call in (lambda: inside.saliency(net, image, 0),
                 lambda: inside.occlusion(net, image, 0, 4, 2),
                 lambda: inside.top_activations(net, 0, 0, image[None], k=1)):
        with pytest.raises(TypeError, match=f"floating-point tensor, got dtype {dtype}"):
            call()


def test_tools_refuse_a_missing_model_and_a_nan_fill() -> None:
    image = torch.rand(1, 8, 8)
    with pytest.raises(TypeError, match="model must be an nn.Module, got NoneType"):
        inside.saliency(None, image, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fill must be a finite number, got nan"):
        inside.occlusion(small_classifier(), image, 0, 4, 2, fill=float("nan"))


def test_snapshots_every_must_be_an_int() -> None:
    with pytest.raises(TypeError, match=r"every must be an int, got 1.5 \(float\)"):
        inside.Snapshots(every=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="every must be an int, got nan"):
        inside.Snapshots(every=float("nan"))  # type: ignore[arg-type]
    assert inside.Snapshots(every=np.int64(2)).every == 2
