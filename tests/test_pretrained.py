"""Tests of cnnlab.pretrained: the photo-trained nets load offline and are what they claim."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import inside
from cnnlab.pretrained import (
    PRETRAINED,
    PhotoCrops,
    filter_measures,
    load_photos,
    pretrained,
    random_filter_measures,
    train_photonet,
)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", PRETRAINED)
def test_loads_offline_with_provenance(name: str, no_network: None) -> None:
    p = pretrained(name)
    assert p.name == name and not p.model.training
    for key in ("can_show", "cannot_show"):
        assert isinstance(p.provenance[key], str) and len(p.provenance[key]) > 20
    size = {"photonet": 64, "mtcnn-pnet": 12, "mtcnn-rnet": 24, "mtcnn-onet": 48}[name]
    out = p.model(p.preprocess(torch.rand(2, 3, size, size)))
    first = out[0] if isinstance(out, tuple) else out
    classes = len(p.provenance["classes"]) if name == "photonet" else 2
    assert first.shape[:2] == (2, classes)


def test_photonet_provenance_records_the_run() -> None:
    prov = pretrained("photonet").provenance
    for key in ("data", "seed", "steps", "batch", "seconds", "train_accuracy", "val_accuracy",
                "augmentation", "split", "first_layer", "tolerance", "script"):
        assert key in prov, key
    assert set(prov["data"]) == set(prov["classes"])
    assert prov["val_accuracy"] > 3 * prov["chance"]      # far above chance on unseen regions


def test_photonet_is_fully_convolutional_and_projectable() -> None:
    p = pretrained("photonet")
    out = p.model(p.preprocess(torch.rand(1, 3, 96, 128)))
    assert out.shape == (1, len(p.provenance["classes"]))
    layers = [n for n, _ in inside.feature_layers(p.model)]
    proj = inside.DeconvNet(p.model).project(p.preprocess(torch.rand(3, 64, 64)),
                                             layers.index("features.relu3"), channel=0)
    assert proj.pixels.shape == (3, 64, 64)


def test_preprocessing() -> None:
    photo = pretrained("photonet")
    mean = torch.tensor(photo.provenance["mean"]).view(3, 1, 1)
    assert torch.allclose(photo.preprocess(mean.expand(3, 4, 4)), torch.zeros(3, 4, 4), atol=1e-6)
    mtcnn = pretrained("mtcnn-onet")
    x = torch.tensor([0.0, 0.5, 1.0]).view(1, 3, 1, 1)
    expected = (x * 255 - 127.5) / 128
    assert torch.allclose(mtcnn.preprocess(x), expected)


def test_bad_names_and_shapes() -> None:
    with pytest.raises(ValueError, match="expected one of"):
        pretrained("resnet50")
    with pytest.raises(TypeError, match="str"):
        pretrained(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\(N, 3, 48, 48\)"):
        pretrained("mtcnn-onet").model(torch.rand(1, 3, 40, 40))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        pretrained("photonet").model(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match=r"\(F, 3, k, k\)"):
        filter_measures(torch.rand(4, 1, 5, 5))
    with pytest.raises(ValueError, match="unknown photographs"):
        load_photos(names=["lena"])


def test_mtcnn_tells_faces_from_other_photos() -> None:
    """The weights are loaded right: LFW faces look like faces to O-Net, other photos do not."""
    import skimage.data

    faces = torch.from_numpy(skimage.data.lfw_subset()[:50]).float()[:, None].expand(-1, 3, -1, -1)
    faces = F.interpolate(faces, size=48, mode="bilinear", align_corners=False)
    photos = load_photos(names=["coffee", "brick", "rocket", "china", "grass"])
    others = torch.cat([F.interpolate(p[None, :, :96, i * 48:i * 48 + 96], size=48,
                                      mode="bilinear", antialias=True)
                        for p in photos.values() for i in range(3)])
    onet = pretrained("mtcnn-onet")
    with torch.no_grad():
        p_face = onet.model(onet.preprocess(faces))[0].softmax(1)[:, 1]
        p_other = onet.model(onet.preprocess(others))[0].softmax(1)[:, 1]
    assert p_face.mean() > 0.8 and p_other.mean() < 0.2


def test_filter_measures_on_known_filters() -> None:
    yy, xx = torch.meshgrid(torch.arange(7.0) - 3, torch.arange(7.0) - 3, indexing="ij")
    gabor = torch.cos(2 * torch.pi * xx / 6) * torch.exp(-(xx**2 + yy**2) / 8)
    grating = gabor.expand(3, 7, 7)[None]                     # a grey vertical-stripe Gabor
    m = filter_measures(grating, initial=grating)
    assert m["orientation"][0] > 0.6 and m["chroma"][0] < 1e-9 and m["low_freq"][0] > 0.75
    assert m["cosine"][0] == pytest.approx(1.0)
    noise = random_filter_measures((64, 3, 7, 7), seeds=3)
    assert abs(noise["chroma"].mean() - 2 / 3) < 0.05                      # iid channels
    assert noise["orientation"].mean() < 0.2 and noise["low_freq"].mean() < 0.3


def test_photonet_filters_differ_from_random_start() -> None:
    """Photo-trained first-layer filters are smoother, more oriented and greyer than the start."""
    p = pretrained("photonet")
    w = p.model.features.conv1.weight
    assert p.initial is not None
    start = p.initial["features.conv1.weight"]
    trained, initial = filter_measures(w, start), filter_measures(start)
    fresh = random_filter_measures(tuple(w.shape), seeds=10)
    # the recorded start is an ordinary random initialisation
    for key in ("low_freq", "orientation", "chroma"):
        assert abs(initial[key].mean() - fresh[key].mean()) < 5 * fresh[key].std() + 1e-3
    assert trained["low_freq"].mean() > fresh["low_freq"].mean() + 10 * fresh["low_freq"].std()
    orient = fresh["orientation"]
    assert trained["orientation"].mean() > orient.mean() + 10 * orient.std()
    assert trained["chroma"].mean() < fresh["chroma"].mean() - 10 * fresh["chroma"].std()
    assert trained["cosine"].mean() < 0.9
    # the untrained copy is the start
    assert torch.equal(p.untrained().features.conv1.weight, start)


def test_mtcnn_first_layer_is_not_random() -> None:
    w = pretrained("mtcnn-onet").model.features.conv1.weight
    trained = filter_measures(w)
    fresh = random_filter_measures(tuple(w.shape), seeds=10)
    assert trained["chroma"].mean() < fresh["chroma"].mean() - 10 * fresh["chroma"].std()


def test_crops_are_labelled_and_split() -> None:
    photos = load_photos(64, names=["grass", "page"])
    crops = PhotoCrops(photos, size=16)
    gen = torch.Generator().manual_seed(0)
    x, y = crops.batch(8, gen, split="val")
    assert x.shape == (8, 3, 16, 16) and y.shape == (8,) and 0 <= x.min() and x.max() <= 1
    with pytest.raises(ValueError, match="split"):
        crops.batch(2, gen, split="test")


@pytest.mark.slow
def test_quick_training_run_learns_and_reproduces() -> None:
    """A quick version of tools/train_backbone.py: four photographs, 60 steps."""
    names = ["grass", "astronaut", "page", "coffee"]
    model, initial, prov = train_photonet(steps=60, batch=32, names=names, val_crops=200)
    assert prov["val_accuracy"] > 0.5 and prov["chance"] == 0.25
    again, _, prov2 = train_photonet(steps=60, batch=32, names=names, val_crops=200)
    assert prov2["val_accuracy"] == prov["val_accuracy"]
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(initial["features.conv1.weight"], model.features.conv1.weight)
    assert np.isfinite(prov["seconds"])


def test_docstring_examples_run() -> None:
    import doctest

    import cnnlab.pretrained

    result = doctest.testmod(cnnlab.pretrained)
    assert result.attempted >= 2 and result.failed == 0


# --- imagenet_model: torchvision's download with bounded waits --------------------------------

def test_imagenet_model_fails_fast_when_the_server_cannot_be_reached(monkeypatch, tmp_path):
    import cnnlab.data.sources as sources
    from cnnlab.pretrained import imagenet_model

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))          # nothing cached
    monkeypatch.setattr(sources, "_can_reach", lambda host, port, timeout: False)
    with pytest.raises(ConnectionError, match="download.pytorch.org"):
        imagenet_model("resnet18", connect_timeout=0.5)


def test_imagenet_model_stops_a_download_that_stalls(monkeypatch, tmp_path):
    """A server that accepts the connection and never answers: the read timeout ends the wait
    and the process's default socket timeout is put back."""
    import threading
    import urllib.request

    import torchvision

    import cnnlab.data.sources as sources
    from cnnlab.pretrained import imagenet_model

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()

    def stalled_download(arch, weights=None):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/weights.pth")   # as torch.hub does

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(sources, "_can_reach", lambda host, port, timeout: True)
    monkeypatch.setattr(torchvision.models, "get_model", stalled_download)
    before = socket.getdefaulttimeout()
    raised: list[BaseException] = []

    def attempt():
        try:
            imagenet_model("resnet18", read_timeout=0.5)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            raised.append(err)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(120)        # liveness, not speed: without the read timeout this never returns
    server.close()
    assert not worker.is_alive(), "the stalled download was never stopped"
    assert len(raised) == 1 and isinstance(raised[0], ConnectionError), raised
    assert "stalled for more than 0.5 s" in str(raised[0])
    assert socket.getdefaulttimeout() == before


@pytest.mark.parametrize("kwargs, error", [
    ({"arch": 18}, TypeError),
    ({"arch": "no_such_net"}, ValueError),
    ({"connect_timeout": -1}, ValueError),
    ({"read_timeout": True}, ValueError),
], ids=["arch-int", "arch-unknown", "connect-negative", "read-bool"])
def test_imagenet_model_rejects_bad_arguments(kwargs, error):
    from cnnlab.pretrained import imagenet_model

    with pytest.raises(error):
        imagenet_model(**kwargs)
