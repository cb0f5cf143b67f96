"""Tests of cnnlab.viz: every plot on small inputs, with the Agg backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from cnnlab import inside, viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    plt.close("all")


def n_images(fig: Figure) -> int:
    return sum(len(ax.images) for ax in fig.axes)


def history(n: int = 3, val: bool = True) -> dict[str, list[float]]:
    h: dict[str, list[float]] = {"epoch": list(range(1, n + 1)),
                                 "train_loss": [1.0 / e for e in range(1, n + 1)],
                                 "train_acc": [0.5 + 0.1 * e for e in range(n)],
                                 "val_loss": [], "val_acc": [], "time": [0.1] * n}
    if val:
        h["val_loss"] = [1.2 / e for e in range(1, n + 1)]
        h["val_acc"] = [0.4 + 0.1 * e for e in range(n)]
    return h


def test_use_style_sets_dpi_and_plots_keep_the_style_without_it() -> None:
    with plt.rc_context({"figure.dpi": 72}):
        fig = viz.show_images(torch.rand(2, 1, 4, 4))
        assert fig.dpi == 100
        viz.use_style()
        assert plt.rcParams["figure.dpi"] == 100
        assert plt.rcParams["image.interpolation"] == "nearest"


@pytest.mark.parametrize("images, count, shape", [
    (torch.rand(5, 1, 6, 6), 5, (6, 6)),             # tensor NCHW grayscale
    (torch.rand(3, 3, 6, 7), 3, (6, 7, 3)),          # tensor NCHW RGB
    (torch.rand(4, 6, 6), 4, (6, 6)),                # tensor NHW
    (torch.rand(6, 6), 1, (6, 6)),                   # tensor HW
    (np.random.rand(2, 6, 6, 3), 2, (6, 6, 3)),      # numpy NHWC
    (np.random.rand(2, 1, 6, 6), 2, (6, 6)),         # numpy NCHW
    (np.random.rand(6, 6, 3), 1, (6, 6, 3)),         # numpy HWC photo
    ([np.random.rand(5, 5), torch.rand(3, 8, 8)], 2, None),  # list of mixed images
])
def test_show_images_layouts(images: object, count: int, shape: tuple[int, ...] | None) -> None:
    fig = viz.show_images(images, ncols=3, title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == count and n_images(fig) == count
    if shape is not None:
        assert fig.axes[0].images[0].get_array().shape == shape


def test_show_images_labels_scales_and_ax() -> None:
    fig = viz.show_images(torch.randn(4, 1, 5, 5), labels=[3, 1, 4, 1], ncols=2,
                          scale="signed")
    assert [ax.get_title() for ax in fig.axes] == ["3", "1", "4", "1"]
    data = fig.axes[0].images[0].get_array()
    assert 0.0 <= data.min() and data.max() <= 1.0
    zero = viz.show_images(torch.zeros(1, 4, 4), scale="signed").axes[0].images[0].get_array()
    assert np.allclose(zero, 0.5)  # zero is mid-gray
    fig2, ax = plt.subplots()
    assert viz.show_images(torch.rand(1, 4, 4), ax=ax, title="one") is fig2
    assert len(ax.images) == 1 and ax.get_title() == "one"


def test_show_images_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="got 2 labels for 3 images"):
        viz.show_images(torch.rand(3, 4, 4), labels=["a", "b"])
    with pytest.raises(ValueError, match="expected 1 or 3 channels"):
        viz.show_images(torch.rand(2, 5, 4, 4))
    with pytest.raises(ValueError, match="got shape"):
        viz.show_images(torch.rand(1, 1, 1, 4, 4))
    with pytest.raises(ValueError, match="ax= draws one image"):
        viz.show_images(torch.rand(2, 4, 4), ax=plt.subplots()[1])
    with pytest.raises(ValueError, match="ncols must be positive, got 0"):
        viz.show_images(torch.rand(2, 4, 4), ncols=0)
    with pytest.raises(ValueError, match="scale must be"):
        viz.show_images(torch.rand(2, 4, 4), scale="log")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a tensor or an array"):
        viz.show_images({"a": 1})
    with pytest.raises(ValueError, match="the list is empty"):
        viz.show_images([])


def test_show_filters_gray_is_symmetric_and_rgb_centred() -> None:
    weight = torch.randn(6, 1, 5, 5)
    fig = viz.show_filters(weight, ncols=4)
    assert len(fig.axes) == 6 and n_images(fig) == 6
    image = fig.axes[2].images[0]
    lo, hi = image.get_clim()
    assert lo == pytest.approx(-hi) and hi == pytest.approx(float(weight[2].abs().max()))
    assert image.get_cmap().name == "RdBu_r"
    rgb = torch.randn(4, 3, 3, 3)
    fig = viz.show_filters(nn.Conv2d(3, 4, 3).requires_grad_(True))
    assert len(fig.axes) == 4
    fig = viz.show_filters(rgb)
    data = fig.axes[1].images[0].get_array()
    assert data.shape == (3, 3, 3) and data.min() >= 0 and data.max() <= 1
    assert np.isclose(np.abs(data - 0.5).max(), 0.5)  # largest |weight| hits the edge
    with pytest.raises(ValueError, match=r"1 or 3 input channels, got weight shape \(2, 6, 3, 3\)"):
        viz.show_filters(torch.randn(2, 6, 3, 3))
    with pytest.raises(ValueError, match="out_channels, in_channels, kh, kw"):
        viz.show_filters(torch.randn(6, 5, 5))


def test_show_feature_maps() -> None:
    fig = viz.show_feature_maps(torch.rand(1, 10, 4, 4), ncols=4, max_maps=6, title="maps")
    assert len(fig.axes) == 6 and n_images(fig) == 6
    with pytest.raises(ValueError, match=r"\(C, h, w\) or \(1, C, h, w\)"):
        viz.show_feature_maps(torch.rand(2, 3, 4, 4))


def test_show_heatmap_alone_and_over_an_image() -> None:
    fig = viz.show_heatmap(torch.rand(3, 3))
    assert n_images(fig) == 1 and len(fig.axes) == 2  # map + colour bar
    fig = viz.show_heatmap(np.random.randn(4, 4), image=torch.rand(3, 16, 16), symmetric=True,
                           colorbar=False, title="h")
    ax = fig.axes[0]
    assert len(ax.images) == 2 and len(fig.axes) == 1
    assert ax.images[1].get_extent() == [-0.5, 15.5, 15.5, -0.5]  # stretched over the image
    lo, hi = ax.images[1].get_clim()
    assert lo == -hi
    with pytest.raises(ValueError, match=r"heat map of shape \(h, w\)"):
        viz.show_heatmap(torch.rand(2, 3, 3))


def test_show_attributions() -> None:
    fig = viz.show_attributions(torch.rand(1, 8, 8), {"gradient": torch.randn(1, 8, 8),
                                                      "guided": torch.randn(8, 8)})
    assert len(fig.axes) == 3 and [ax.get_title() for ax in fig.axes] == [
        "image", "gradient", "guided"]
    with pytest.raises(TypeError, match="non-empty dict"):
        viz.show_attributions(torch.rand(8, 8), {})


def test_plot_history_one_run_and_several() -> None:
    fig = viz.plot_history(history())
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]  # train + val in each
    fig = viz.plot_history(history(val=False))
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]
    fig = viz.plot_history({"sgd": history(), "adam": history(5), "plain": history(val=False)})
    assert [len(ax.lines) for ax in fig.axes] == [5, 5]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "adam val" in labels and "plain train" in labels


def test_plot_history_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="missing \\['train_loss'\\]"):
        viz.plot_history({"epoch": [1], "val_loss": [1.0]})
    bad = history()
    bad["train_acc"] = [0.1]
    with pytest.raises(ValueError, match="'train_acc' has 1 values but 'epoch' has 3"):
        viz.plot_history(bad)
    with pytest.raises(ValueError, match="run 'b'"):
        viz.plot_history({"a": history(), "b": {"epoch": [1]}})
    with pytest.raises(TypeError, match="mixes lists and dicts"):
        viz.plot_history({"a": history(), "epoch": [1]})
    with pytest.raises(TypeError, match="History dict"):
        viz.plot_history([1, 2])  # type: ignore[arg-type]


def test_plot_confusion_matrix() -> None:
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = viz.plot_confusion_matrix(cm, ["a", "b", "c"])
    ax = fig.axes[0]
    assert len(fig.axes) == 2 and len(ax.images) == 1
    assert [t.get_text() for t in ax.texts][:3] == ["5", "1", "0"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    fig = viz.plot_confusion_matrix(torch.tensor(cm), normalize=True)
    assert fig.axes[0].texts[0].get_text() == "0.83"
    with pytest.raises(ValueError, match=r"square confusion matrix \(K, K\), got shape \(2, 3\)"):
        viz.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="got 2 class names for a 3x3"):
        viz.plot_confusion_matrix(cm, ["a", "b"])


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 5 * 5, 3))


def test_plot_top_activations_is_figure_2_layout() -> None:
    tops = inside.top_activations(_net(), 4, 1, torch.rand(12, 1, 10, 10), k=9)
    fig = viz.plot_top_activations(tops, title="layer 2, map 1")
    assert len(fig.axes) == 18 and n_images(fig) == 18
    assert [sub.get_suptitle() for sub in fig.subfigs] == ["deconvnet projections",
                                                            "image patches"]
    # each cell shows the whole receptive field (8x8 here), even where it leaves the image
    for ax in fig.axes:
        left, right = ax.get_xlim()
        assert right - left == 8
    fig = viz.plot_top_activations(tops[:5])
    assert len(fig.axes) == 10
    with pytest.raises(ValueError, match="tops is empty"):
        viz.plot_top_activations([])


def test_plot_occlusion_is_figure_7_layout() -> None:
    image = torch.rand(1, 10, 10)
    maps = inside.occlusion(_net(), image, target=1, window=4, stride=2)
    fig = viz.plot_occlusion(maps, image, classes=["zero", "one", "two"], title="occlusion")
    assert n_images(fig) == 4
    assert len(fig.axes) == 6  # four panels and two colour bars
    assert len(fig.axes[0].patches) == 1  # the occluder drawn on the image
    assert fig.axes[2].get_title() == "(c) p(one)"
    legend = fig.axes[3].get_legend()
    assert legend is not None
    assert {t.get_text() for t in legend.get_texts()} <= {"zero", "one", "two"}


def test_plot_feature_evolution_grid() -> None:
    net = _net()
    states = [{k: v + 0.1 * i for k, v in net.state_dict().items()} for i in range(3)]
    evo = inside.feature_evolution(net, states, torch.rand(1, 10, 10), 4, [0, 1, 3],
                                   labels=["epoch 1", "epoch 2", "epoch 3"])
    fig = viz.plot_feature_evolution(evo)
    assert len(fig.axes) == 9 and n_images(fig) == 9
    assert fig.axes[0].get_title() == "map 0" and fig.axes[3].get_ylabel() == "epoch 2"


def test_figures_are_closed_in_pyplot_so_jupyter_shows_them_once() -> None:
    plt.close("all")
    figs = [viz.show_images(torch.rand(2, 4, 4)), viz.plot_history(history()),
            viz.show_heatmap(torch.rand(3, 3)), viz.plot_confusion_matrix(np.eye(2))]
    assert plt.get_fignums() == []  # nothing left for the inline backend to show again
    for fig in figs:
        assert fig.canvas is not None and fig.dpi == 100
        fig.canvas.draw()  # still drawable and savable


def test_as_jpeg_is_a_lighter_jpeg_of_the_same_figure_and_closes_it() -> None:
    import io

    from PIL import Image

    plt.close("all")
    noise = np.random.default_rng(0).random((200, 200))  # as hard to compress as a photograph
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.imshow(noise, cmap="gray", interpolation="bilinear")
    png = io.BytesIO()
    fig.savefig(png, format="png")
    picture = viz.as_jpeg(fig, quality=85)
    assert plt.get_fignums() == []
    assert picture.format == "jpeg" and picture.data[:2] == b"\xff\xd8"
    with Image.open(io.BytesIO(picture.data)) as jpeg, Image.open(png) as reference:
        assert jpeg.format == "JPEG" and jpeg.size == reference.size
    assert len(picture.data) < len(png.getvalue()) / 2
    assert len(viz.as_jpeg(plt.figure(), quality=10).data) < len(picture.data)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(fig=np.zeros((3, 3))), TypeError, "fig must be a matplotlib Figure, got ndarray"),
    (dict(fig=None, quality=85.0), TypeError, r"quality must be an int, got 85.0 \(float\)"),
    (dict(fig=None, quality=0), ValueError, r"quality must be in \[1, 95\], got 0"),
    (dict(fig=None, quality=100), ValueError, r"quality must be in \[1, 95\], got 100"),
])
def test_as_jpeg_rejects_bad_input(kwargs: dict[str, object], error: type, match: str) -> None:
    if kwargs["fig"] is None:
        kwargs["fig"] = plt.figure()
    with pytest.raises(error, match=match):
        viz.as_jpeg(**kwargs)  # type: ignore[arg-type]
