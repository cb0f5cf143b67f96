"""Tests of cnnlab.train: device and profile choice, seeding, fit, metrics, checkpoints."""

from __future__ import annotations

import math
import os
import random
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import cnnlab
from cnnlab import train as T
from cnnlab.data import Batches, LabeledData, load_dataset, shapes


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, one_torch_thread: None) -> None:
    """No forced profile, seed or smoke run, offline data, and one thread."""
    for name in ("CNNLAB_PROFILE", "CNNLAB_SEED", "CNNLAB_SMOKE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CNNLAB_OFFLINE", "1")


def tiny_data(n: int = 96, seed: int = 0) -> LabeledData:
    return shapes(n, size=12, difficulty=0.0, seed=seed)


def tiny_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 10)
    )


def no_gpu(monkeypatch: pytest.MonkeyPatch, cuda: bool = False, mps: bool = False) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


# ------------------------------------------------------------------------------------------
# device, profile, seeds, setup
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_device_prefers_cuda_then_mps(monkeypatch, cuda, mps, expected):
    no_gpu(monkeypatch, cuda=cuda, mps=mps)
    assert T.device().type == expected


@pytest.mark.parametrize(
    "cuda, mps, expected", [(True, False, "full"), (False, True, "quick"), (False, False, "quick")]
)
def test_profile_follows_the_device(monkeypatch, cuda, mps, expected):
    no_gpu(monkeypatch, cuda=cuda, mps=mps)
    assert T.profile().name == expected


def test_profile_can_be_forced(monkeypatch):
    no_gpu(monkeypatch, cuda=True)
    monkeypatch.setenv("CNNLAB_PROFILE", "quick")
    assert T.profile() == T.PROFILES["quick"]
    monkeypatch.setenv("CNNLAB_PROFILE", "FULL")
    full = T.profile()
    assert full.name == "full" and full.train_limit is None and full.pick(1, 2) == 2
    monkeypatch.setenv("CNNLAB_PROFILE", "medium")
    with pytest.raises(ValueError, match="CNNLAB_PROFILE must be 'quick' or 'full', got 'medium'"):
        T.profile()


def test_gpu_options_on_by_default_on_cuda_only():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert T._gpu_options(cuda, None, None) == (True, True)
    assert T._gpu_options(cuda, False, None) == (False, True)
    assert T._gpu_options(cpu, None, None) == (False, False)
    with pytest.raises(ValueError, match="need a CUDA device, got device 'cpu'"):
        T._gpu_options(cpu, True, None)
    with pytest.raises(ValueError, match="need a CUDA device"):
        T.fit(tiny_net(), tiny_data(), epochs=1, device="cpu", channels_last=True, progress=False)


def test_setup_prints_exactly_one_line(monkeypatch, capsys):
    no_gpu(monkeypatch)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")   # a thread count set by the reader is not printed
    ctx = T.setup(seed=0)
    assert (
        capsys.readouterr().out
        == f"cnnlab {cnnlab.__version__} | device: cpu | profile: quick | seed: 0\n"
    )
    assert ctx.device == torch.device("cpu") and ctx.profile.name == "quick" and ctx.seed == 0
    no_gpu(monkeypatch, cuda=True)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: None)
    assert str(T.setup(seed=7, verbose=False)).endswith("device: cuda | profile: full | seed: 7")


def test_seed_everything_repeats_every_generator():
    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    T.seed_everything(3)
    first = draw()
    T.seed_everything(3)
    assert draw() == first
    T.seed_everything(4)
    assert draw() != first
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match=r"seed must be in \[0, 4294967295\]"):
            T.seed_everything(bad)
    for bad in (1.5, True):
        with pytest.raises(TypeError, match="seed must be an int"):
            T.seed_everything(bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# fit
# ------------------------------------------------------------------------------------------


def run(seed: int = 0, epochs: int = 2, **kwargs) -> tuple[T.History, nn.Module]:
    T.seed_everything(seed)
    model = tiny_net()
    train, val = Batches(tiny_data(), 16, shuffle=True), Batches(tiny_data(32, seed=1), 16)
    kwargs.setdefault("progress", False)
    history = T.fit(model, train, val, epochs=epochs, lr=0.01, **kwargs)
    return history, model


def test_seed_everything_leaves_the_deterministic_switch_to_the_caller():
    torch.use_deterministic_algorithms(False)
    T.seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()
    try:
        T.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    with pytest.raises(TypeError, match="deterministic must be True or False, got int"):
        T.seed_everything(0, deterministic=1)  # type: ignore[arg-type]


def test_fit_is_deterministic_on_cpu():
    (h1, m1), (h2, m2) = run(seed=0), run(seed=0)
    del h1["time"], h2["time"]
    assert h1 == h2
    assert all(
        torch.equal(a, b)
        for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True)
    )
    h3, _ = run(seed=1)
    assert h3["train_loss"] != h1["train_loss"]


def test_fit_history_and_learning():
    history, _ = run(epochs=6)
    assert set(history) == set(T.HISTORY_KEYS) and history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert all(len(v) == 6 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.2  # chance is 0.1 (easy shapes, 96 training images)
    assert all(0 <= a <= 1 for a in history["train_acc"] + history["val_acc"])
    assert all(t > 0 for t in history["time"])


def test_fit_without_validation_records_nan():
    T.seed_everything(0)
    history = T.fit(tiny_net(), tiny_data(), epochs=1, progress=False)  # LabeledData is accepted
    assert math.isnan(history["val_loss"][0]) and math.isnan(history["val_acc"][0])
    assert history["train_loss"][0] > 0


def test_fit_stops_with_a_clear_message_when_the_loss_explodes():
    model = tiny_net()
    sgd = torch.optim.SGD(model.parameters(), lr=1e6)
    with pytest.raises(
        T.TrainingDiverged, match=r"epoch 1, batch \d+ \(learning rate 1e\+06\)"
    ) as err:
        T.fit(model, Batches(tiny_data(), 8), epochs=3, optimizer=sgd, progress=False)
    assert "Lower the learning rate" in str(err.value)


def test_callbacks_and_stop_event(capsys):
    seen: list[int] = []

    def stop_after_two(epoch: int, history: T.History, model: nn.Module) -> bool:
        seen.append(epoch)
        return epoch == 2

    history, _ = run(epochs=5, callbacks=[stop_after_two])
    assert seen == [1, 2] and history["epoch"] == [1, 2]
    assert "stopped by a callback after epoch 2" in capsys.readouterr().out

    stop = threading.Event()
    batches_done = []

    def press_stop_in_epoch_two(x: torch.Tensor) -> torch.Tensor:
        batches_done.append(1)
        if len(batches_done) == 8:  # 6 batches per epoch: this is epoch 2, batch 2
            stop.set()
        return x

    T.seed_everything(0)
    loader = Batches(tiny_data(), 16, transform=press_stop_in_epoch_two)
    history = T.fit(tiny_net(), loader, epochs=5, stop=stop, progress=False)
    assert history["epoch"] == [1.0] and len(batches_done) == 8
    assert "stopped on request during epoch 2" in capsys.readouterr().out


def test_interrupt_in_a_notebook_returns_the_finished_epochs(capsys, monkeypatch):
    def interrupt(epoch: int, history: T.History, model: nn.Module) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(T, "_in_notebook", lambda: True)  # the kernel's Stop button
    history, _ = run(epochs=4, callbacks=[interrupt])
    assert history["epoch"] == [1, 2]
    assert "interrupted during epoch 2" in capsys.readouterr().out


def test_schedulers_step_per_batch_or_per_epoch():
    model = tiny_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = Batches(tiny_data(), 16)  # 6 batches
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=12)
    T.fit(model, loader, epochs=2, optimizer=opt, scheduler=one_cycle, progress=False)
    assert one_cycle.last_epoch == 12  # stepped after each of the 12 batches
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    T.fit(model, loader, epochs=2, optimizer=opt, scheduler=step, progress=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_progress_bar_is_one_bar_with_metrics(capsys):
    run(epochs=2, progress=True)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "loss" in err and "val loss" in err and "12/12" in err


def test_fit_rejects_bad_arguments():
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        T.fit("net", tiny_data(), epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs must be positive, got 0"):
        T.fit(tiny_net(), tiny_data(), epochs=0)
    with pytest.raises(TypeError, match="train_loader must yield"):
        T.fit(tiny_net(), torch.zeros(3, 3), epochs=1)
    with pytest.raises(ValueError, match="lr must be greater than 0.0, got -1"):
        T.fit(tiny_net(), tiny_data(), epochs=1, lr=-1)
    with pytest.raises(ValueError, match="scheduler_step must be"):
        T.fit(tiny_net(), tiny_data(), epochs=1, scheduler_step="step")
    with pytest.raises(TypeError, match="callbacks must be callables"):
        T.fit(tiny_net(), tiny_data(), epochs=1, callbacks=[3])  # type: ignore[list-item]


# ------------------------------------------------------------------------------------------
# evaluate, predict, confusion matrix
# ------------------------------------------------------------------------------------------


def test_evaluate_matches_a_direct_computation_and_restores_the_mode():
    torch.manual_seed(0)
    model, data = tiny_net(), tiny_data()
    model.train()
    result = T.evaluate(model, Batches(data, 7))
    with torch.no_grad():
        scores = model(data.images)
    assert result["loss"] == pytest.approx(
        float(nn.functional.cross_entropy(scores, data.labels)), rel=1e-5
    )
    assert result["acc"] == pytest.approx(float((scores.argmax(1) == data.labels).float().mean()))
    assert model.training


def test_predict():
    torch.manual_seed(0)
    model, data = tiny_net(), tiny_data(20)
    pred, prob = T.predict(model, data.images, batch_size=6)
    assert pred.shape == (20,) and prob.shape == (20, 10)
    assert torch.allclose(prob.sum(1), torch.ones(20)) and torch.equal(pred, prob.argmax(1))
    one, _ = T.predict(model, data.images[4])
    assert one.shape == (1,) and int(one) == int(pred[4])
    again, _ = T.predict(model, data)
    assert torch.equal(again, pred)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\), got shape \(12, 12\)"):
        T.predict(model, torch.zeros(12, 12))


def test_confusion_matrix_counts_pairs():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    cm = T.confusion_matrix(torch.from_numpy(t), p, 4)
    expected = np.zeros((4, 4), dtype=np.int64)
    for i, j in zip(t, p, strict=True):
        expected[i, j] += 1
    assert np.array_equal(cm, expected) and cm.sum() == 200
    with pytest.raises(ValueError, match="same length"):
        T.confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"y_pred must hold class indices in \[0, 2\)"):
        T.confusion_matrix([0, 1], [0, 2], 2)
    with pytest.raises(ValueError, match="num_classes must be positive, got 0"):
        T.confusion_matrix([0], [0], 0)


# ------------------------------------------------------------------------------------------
# curves
# ------------------------------------------------------------------------------------------


def test_live_plot_draws_the_history():
    history, _ = run(epochs=3)
    plot = T.LivePlot()
    assert plot(3, history, nn.Linear(1, 1)) is False
    loss_ax, acc_ax = plot.figure.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train", "val"]
    assert list(loss_ax.lines[1].get_ydata()) == history["val_loss"]
    assert list(acc_ax.lines[0].get_ydata()) == history["train_acc"]
    assert acc_ax.get_xlabel() == "epoch"


def test_live_plot_as_a_callback_into_a_widget():
    import ipywidgets

    plot = T.LivePlot(ipywidgets.Output(), every=2)
    history, _ = run(epochs=3, callbacks=[plot])
    assert plot.figure is not None and len(plot.figure.axes[0].lines[0].get_xdata()) == 2
    with pytest.raises(ValueError, match="history lacks"):
        plot.draw({"epoch": [1.0]})


# ------------------------------------------------------------------------------------------
# checkpoints
# ------------------------------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path: Path):
    history, model = run(epochs=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(tiny_data(4).images).sum().backward()
    opt.step()
    path = T.save_checkpoint(
        tmp_path / "sub" / "net.pt",
        model,
        opt,
        epoch=np.int64(1),
        history=history,
        note=np.float32(0.5),
    )
    fresh = tiny_net()
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.9)
    state = T.load_checkpoint(path, fresh, fresh_opt)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True)
    )
    assert fresh_opt.param_groups[0]["lr"] == 0.1 and state["epoch"] == 1
    momentum = fresh_opt.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(momentum, opt.state_dict()["state"][0]["momentum_buffer"])
    assert state["history"] == history and state["extra"] == {"note": 0.5}
    assert not list(tmp_path.glob("**/*.tmp"))


class NotAllowed:
    pass


def test_checkpoint_errors(tmp_path: Path):
    model = tiny_net()
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        T.load_checkpoint(tmp_path / "missing.pt", model)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(RuntimeError, match="could not read the checkpoint"):
        T.load_checkpoint(bad, model)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"model": NotAllowed()}, unsafe)  # loading it would need to run pickled code
    with pytest.raises(RuntimeError, match="could not read the checkpoint"):
        T.load_checkpoint(unsafe, model)
    path = T.save_checkpoint(tmp_path / "net.pt", model)
    with pytest.raises(RuntimeError, match="does not fit this model"):
        T.load_checkpoint(path, nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="holds no optimizer state"):
        T.load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=1))
    with pytest.raises(TypeError, match="extra may hold only"):
        T.save_checkpoint(tmp_path / "x.pt", model, thing=NotAllowed())


# ------------------------------------------------------------------------------------------
# the LeNet-5 recipe (a smoke test: the benchmark measures it)
# ------------------------------------------------------------------------------------------


def test_train_lenet_smoke():
    train = load_dataset("mnist", "train", size=32, limit=200, verbose=False)
    val = load_dataset("mnist", "test", size=32, limit=100, verbose=False)
    model, history = T.train_lenet(train, val, seed=0, epochs=2, progress=False)
    assert type(model).__name__ == "LeNet5" and getattr(model, "variant", None) == "modern"
    assert history["epoch"] == [1, 2] and history["train_loss"][1] < history["train_loss"][0]
    with pytest.raises(ValueError, match="32x32 images"):
        T.train_lenet(load_dataset("mnist", "test", limit=10, verbose=False), epochs=1)


# ------------------------------------------------------------------------------------------
# One set of argument checks
# ------------------------------------------------------------------------------------------


def test_fit_explains_a_pair_of_tensors_and_refuses_strings():
    x, y = torch.zeros(8, 3, 12, 12), torch.zeros(8, dtype=torch.long)
    with pytest.raises(TypeError, match=r"a pair \(images, labels\) of tensors.*Batches"):
        T.fit(tiny_net(), (x, y), epochs=1)
    with pytest.raises(TypeError, match="train_loader must yield"):
        T.fit(tiny_net(), "abc", epochs=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callbacks must be a list of callables"):
        T.fit(tiny_net(), tiny_data(), epochs=1, callbacks=None)  # type: ignore[arg-type]


def test_numpy_numbers_are_accepted_like_python_ones():
    history = T.fit(tiny_net(), tiny_data(), epochs=np.int64(2), lr=np.float32(0.01),
                    progress=False)
    assert history["epoch"] == [1.0, 2.0]
    T.seed_everything(np.int64(3))
    net = tiny_net()
    pred, _ = T.predict(net, torch.zeros(10, 3, 12, 12), batch_size=np.int64(4))
    assert pred.shape == (10,)
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        T.predict(net, torch.zeros(10, 3, 12, 12), batch_size=0)


def test_liveplot_every_must_be_an_int_not_a_bool():
    with pytest.raises(TypeError, match="every must be an int, got True"):
        T.LivePlot(every=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Training leaves the model's modes and the process's state as it found them
# ------------------------------------------------------------------------------------------


def frozen_bn_net() -> nn.Module:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 10 * 10, 10))
    net.train()
    net[1].eval()  # frozen, as in transfer learning
    return net


def test_a_frozen_batchnorm_stays_frozen_through_fit_evaluate_and_predict():
    net, data = frozen_bn_net(), tiny_data()
    stats = net[1].running_mean.clone()
    T.fit(net, Batches(data, 32), data, epochs=2, progress=False)
    assert net.training and not net[1].training
    assert torch.equal(net[1].running_mean, stats)  # its statistics were not trained
    T.evaluate(net, data)
    T.predict(net, data.images)
    assert net.training and not net[1].training


def test_fit_leaves_a_model_in_eval_mode_in_eval_mode():
    net = tiny_net().eval()
    T.fit(net, tiny_data(), epochs=1, progress=False)
    assert not any(m.training for m in net.modules())


def test_fit_lets_keyboard_interrupt_through_in_a_script():
    def interrupt(epoch, history, model):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.fit(tiny_net(), tiny_data(), epochs=2, progress=False, callbacks=[interrupt])


def global_state() -> tuple:
    return (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(),
            torch.get_default_dtype())


def test_fit_and_train_lenet_leave_global_state_and_generators_as_found():
    torch.use_deterministic_algorithms(False)
    before = global_state()
    T.fit(tiny_net(), tiny_data(), epochs=1, progress=False)
    assert global_state() == before
    digits = load_dataset("digits", size=32, limit=64, verbose=False)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    T.train_lenet(digits, epochs=1, progress=False)
    assert global_state() == before
    assert torch.equal(torch.rand(3), expected)  # the caller's generator did not move


def test_fit_with_a_seed_repeats_its_run_and_puts_the_generators_back():
    data = tiny_data()
    runs = []
    for caller_seed in (11, 12):  # the caller's generators differ; the runs must not
        torch.manual_seed(0)
        net = nn.Sequential(tiny_net(), nn.Dropout(0.5))  # dropout draws from the generator too
        random.seed(caller_seed)
        np.random.seed(caller_seed)
        torch.manual_seed(caller_seed)
        expected = (random.random(), float(np.random.rand()), torch.rand(3))
        random.seed(caller_seed)
        np.random.seed(caller_seed)
        torch.manual_seed(caller_seed)
        T.fit(net, data, epochs=2, progress=False, seed=np.int64(4))
        after = (random.random(), float(np.random.rand()), torch.rand(3))
        assert after[:2] == expected[:2] and torch.equal(after[2], expected[2])
        runs.append([p.detach().clone() for p in net.parameters()])
    assert all(torch.equal(p, q) for p, q in zip(*runs, strict=True))
    with pytest.raises(ValueError, match="seed must be"):
        T.fit(tiny_net(), data, epochs=1, progress=False, seed=-1)


def test_fit_without_a_seed_moves_the_generators_on_so_the_next_call_shuffles_anew():
    torch.manual_seed(3)
    before = torch.get_rng_state()
    T.fit(tiny_net(), tiny_data(), epochs=1, progress=False)
    assert not torch.equal(torch.get_rng_state(), before)


def test_train_lenet_is_the_same_run_for_the_same_seed():
    digits = load_dataset("digits", size=32, limit=64, verbose=False)
    a, _ = T.train_lenet(digits, epochs=1, progress=False, seed=5)
    b, _ = T.train_lenet(digits, epochs=np.int64(1), progress=False, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_predict_checks_that_the_model_gives_class_scores():
    with pytest.raises(ValueError, match=r"\(N, classes\) scores, got \(5, 3, 16, 16\)"):
        T.predict(nn.Identity(), torch.rand(5, 3, 16, 16))


# ------------------------------------------------------------------------------------------
# CNNLAB_SEED, CNNLAB_SMOKE and the thread count (setup)
# ------------------------------------------------------------------------------------------


def test_cnnlab_seed_overrides_the_argument_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("CNNLAB_SEED", "7")
    ctx = T.setup(seed=0)
    assert ctx.seed == 7 and ctx.seed_source == "CNNLAB_SEED"
    assert "seed: 7 (from CNNLAB_SEED)" in capsys.readouterr().out
    a = torch.rand(1)
    T.seed_everything(7)
    assert torch.equal(a, torch.rand(1))
    monkeypatch.setenv("CNNLAB_SEED", "x")
    with pytest.raises(ValueError, match="CNNLAB_SEED must be an int, got 'x'"):
        T.setup()


def test_setup_keeps_omp_num_threads_and_otherwise_picks_at_most_four(monkeypatch, capsys):
    threads = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        ctx = T.setup()
        assert ctx.threads_source == "OMP_NUM_THREADS" and "threads" not in capsys.readouterr().out
        monkeypatch.delenv("OMP_NUM_THREADS")
        ctx = T.setup()
        cores = len(os.sched_getaffinity(0))
        assert ctx.threads == min(cores, 4) == torch.get_num_threads()
        assert f"threads: {ctx.threads}" in capsys.readouterr().out
    finally:
        torch.set_num_threads(threads)


def test_smoke_runs_cap_every_epoch_to_a_few_batches(monkeypatch):
    seen = []

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny_net()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu")
                            else None)
            return self.net(x)

    monkeypatch.setenv("CNNLAB_SMOKE", "1")
    assert T.smoke() and T.setup(verbose=False).smoke
    history = T.fit(Counting(), Batches(tiny_data(), 8), epochs=3, progress=False)
    assert history["epoch"] == [1.0, 2.0, 3.0] and len(seen) == 3 * 2
    if torch.amp.is_autocast_available("cpu"):
        assert set(seen) == {torch.bfloat16}  # the autocast branch a GPU run takes
    monkeypatch.setenv("CNNLAB_SMOKE", "0")
    seen.clear()
    T.fit(Counting(), Batches(tiny_data(), 8), epochs=1, progress=False)
    assert len(seen) == 12 and set(seen) == {None}
    monkeypatch.setenv("CNNLAB_SMOKE", "yes")
    with pytest.raises(ValueError, match="CNNLAB_SMOKE must be 0 or 1"):
        T.smoke()


def test_save_checkpoint_does_not_follow_a_planted_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "net.pt"
    os.symlink(victim, tmp_path / "net.pt.tmp")  # where the old code wrote first
    T.save_checkpoint(target, nn.Linear(1, 1))
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and "model" in T.load_checkpoint(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt", "net.pt.tmp", "victim.txt"]


def test_glue_without_myst_nb_shows_only_when_asked(monkeypatch, capsys):
    import builtins

    from cnnlab.session import glue

    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError("no myst_nb here (as on Colab)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    glue("quiet", 1.5)
    assert capsys.readouterr().out == ""
    glue("shown", 2.5, display=True)
    assert "2.5" in capsys.readouterr().out
    with pytest.raises(TypeError, match="non-empty string"):
        glue("", 1)


def test_glue_with_myst_nb_stores_the_value(monkeypatch):
    import sys
    import types

    from cnnlab.session import glue

    seen = {}
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=False: seen.update({name: (value, display)})
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("acc", 0.987)
    assert seen == {"acc": (0.987, False)}


def test_glue_hands_numpy_scalars_over_as_python_numbers(monkeypatch):
    import sys
    import types

    import numpy as np

    from cnnlab.session import glue

    seen = {}
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=False: seen.update({name: value})
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    glue("ratio", np.float64(1.5))
    glue("count", np.int64(3))
    assert seen == {"ratio": 1.5, "count": 3}
    assert type(seen["ratio"]) is float and type(seen["count"]) is int


def test_show_code_prints_the_source_without_its_docstring(capsys):
    from cnnlab.session import show_code

    def double(x):
        """Twice x."""
        return 2 * x

    show_code(double)
    out = capsys.readouterr().out
    assert out.splitlines() == ["def double(x):", "    return 2 * x"]
    with pytest.raises(TypeError, match="class or a function"):
        show_code(42)


def test_channels_last_is_set_only_on_models_it_suits() -> None:
    """fit's channels-last step (on CUDA) once crashed on a Conv3d model: Module.to refuses the
    format for 5-D weights. A 2-D network is converted; a 3-D one and a linear one are left."""
    with pytest.raises(RuntimeError, match="rank 4"):
        nn.Conv3d(2, 4, 3).to(memory_format=torch.channels_last)      # the crash
    conv2d = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten())
    assert T._set_channels_last(conv2d)
    assert conv2d[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv2d[0].weight.is_contiguous()
    conv3d = nn.Sequential(nn.Conv3d(2, 4, 3), nn.Conv2d(4, 4, 1))
    assert not T._set_channels_last(conv3d) and conv3d[0].weight.is_contiguous()
    assert not T._set_channels_last(nn.Linear(3, 2))
