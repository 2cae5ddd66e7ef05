"The Trainer from the exported package: schedules, clipping, validation, early stopping, checkpoints, resume, output."
import io

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.dataloader import (Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip, TensorDataset,
                                       ToFloat)
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.losses import cross_entropy, mse_loss
from tinytorch.core.optimizers import SGD, Adam, AdamW, CosineWarmupLR, StepLR
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import (Trainer, accuracy, deterministic, load_checkpoint, save_checkpoint,
                                     split_loader)


def circles(n, seed=0):
    "Two concentric rings: not linearly separable, easy for an MLP."
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(labels == 1, 2.0, 0.7) + 0.15 * rng.standard_normal(n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1).astype(np.float32), labels


def loader(x, y, bs=32, **kw):
    return DataLoader(TensorDataset(x, y), batch_size=bs, **kw)


def test_mlp_learns_circles_with_early_stopping():
    x, y = circles(800)
    model = Sequential(Linear(2, 32, seed=0), Tanh(), Linear(32, 2, seed=1))
    t = Trainer(model, Adam(model.parameters(), lr=0.02), cross_entropy, progress=False)
    h = t.fit(loader(x, y, shuffle=True, seed=0), epochs=40, val_fraction=0.2, patience=5)
    assert h["train_loss"][-1] < 0.3 * h["train_loss"][0]
    xt, yt = circles(400, seed=1)
    assert accuracy(model(Tensor(xt)), yt) > 0.95
    best = int(np.argmin(h["val_loss"]))
    assert t.epoch <= 40 and (t.epoch == 40 or t.epoch - 1 - best == 5), "stops `patience` epochs after the best"


def linear_setup(lr=0.1, **kw):
    model = Linear(2, 2, seed=0)
    opt = SGD(model.parameters(), lr=lr)
    return model, opt, Trainer(model, opt, cross_entropy, progress=False, **kw)


def test_schedule_per_step_and_per_epoch():
    x, y = circles(100)
    _, opt, t = linear_setup()
    t.scheduler = StepLR(opt, step_size=1, gamma=0.5)
    t.fit(loader(x, y, bs=25), epochs=1)
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 4), "per step: 4 batches, 4 halvings"
    _, opt, t = linear_setup(scheduler_every="epoch")
    t.scheduler = StepLR(opt, step_size=1, gamma=0.5)
    h = t.fit(loader(x, y, bs=25), epochs=3)
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 3) and h["lr"] == pytest.approx([0.05, 0.025, 0.0125])
    with pytest.raises(ValueError):
        Trainer(None, opt, cross_entropy, scheduler_every="batch")


def test_gradient_clipping_bounds_the_step():
    x, y = circles(64)
    model, _, t = linear_setup(lr=1.0, clip_grad=0.01)
    before = [p.data.copy() for p in model.parameters()]
    t.train_step(Tensor(x * 100), Tensor(y))
    change = np.sqrt(sum(np.sum((p.data - b) ** 2) for p, b in zip(model.parameters(), before)))
    assert 0 < change <= 0.01 + 1e-6


def test_validation_options_and_regression_without_metrics():
    x, y = circles(120)
    _, _, t = linear_setup()
    with pytest.raises(ValueError):
        t.fit(loader(x, y), epochs=1, val=loader(x, y), val_fraction=0.1)
    h = t.fit(loader(x, y), epochs=2, val=loader(x[:40], y[:40]))
    assert len(h["val_accuracy"]) == 2
    target = x @ np.array([[1.0], [-2.0]], np.float32)
    reg = Linear(2, 1, seed=0)
    t = Trainer(reg, SGD(reg.parameters(), lr=0.1), mse_loss, metrics={}, progress=False)
    h = t.fit(loader(x, target), epochs=30)
    assert "train_accuracy" not in h and h["train_loss"][-1] < 1e-3
    np.testing.assert_allclose(reg.weight.data, [[1.0], [-2.0]], atol=0.02)


def test_fit_continues_and_monitors_accuracy(tmp_path):
    x, y = circles(200)
    model, _, t = linear_setup(checkpoint_dir=tmp_path)
    t.fit(loader(x, y), epochs=2, val_fraction=0.25, monitor="val_accuracy")
    h = t.fit(loader(x, y), epochs=3, val_fraction=0.25, monitor="val_accuracy", restore_best=True)
    assert t.epoch == 3 and len(h["train_loss"]) == 3, "epochs counts the total"
    best = load_checkpoint(tmp_path / "best.ckpt")
    assert best["early_stopping"]["best"] == pytest.approx(max(h["val_accuracy"][2:]))
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, t.best_model[name])


def test_resume_is_exact_with_augmentation_schedule_and_dropout(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (120, 1, 6, 6)).astype(np.uint8)
    labels = (images[:, 0, 1:5, 1:5].mean(axis=(1, 2)) > 127).astype(np.int64)

    class Net(Module):
        def __init__(self):
            self.body = Sequential(Linear(36, 16, seed=0), ReLU(), Dropout(0.3, seed=1), Linear(16, 2, seed=2))
        def forward(self, x):
            return self.body(x.reshape(x.shape[0], -1))

    def run(epochs, ckpt, resume=False):
        net = Net()
        opt = AdamW(net.parameters(), lr=0.01)
        t = Trainer(net, opt, cross_entropy, scheduler=CosineWarmupLR(opt, 3, 40), checkpoint_dir=ckpt, progress=False)
        aug = Compose([RandomCrop(6, padding=1, seed=5), RandomHorizontalFlip(seed=6), ToFloat(), Normalize(0.5, 0.25)])
        t.fit(DataLoader(TensorDataset(images, labels), 16, shuffle=True, seed=7, transform=aug), epochs=epochs,
              val_fraction=0.2, resume=resume, restore_best=False)
        return t

    straight = run(5, tmp_path / "a")
    run(3, tmp_path / "b")
    resumed = run(5, tmp_path / "b", resume=True)
    for (name, p), (_, q) in zip(straight.model.named_parameters(), resumed.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert resumed.optimizer.lr == straight.optimizer.lr
    assert resumed.history["train_loss"] == straight.history["train_loss"]


def test_resume_without_a_checkpoint_starts_fresh(tmp_path):
    x, y = circles(60)
    _, _, t = linear_setup(checkpoint_dir=tmp_path / "new")
    t.fit(loader(x, y), epochs=1, resume=True)
    assert t.epoch == 1 and (tmp_path / "new" / "last.ckpt").is_file()


def test_checkpoint_errors(tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"definitely not a pickle")
    with pytest.raises(ValueError, match="junk.ckpt"):
        load_checkpoint(tmp_path / "junk.ckpt")
    save_checkpoint(tmp_path / "ok.ckpt", {"a": 1})
    save_checkpoint(tmp_path / "ok.ckpt", {"a": 2})  # overwriting is fine
    assert load_checkpoint(tmp_path / "ok.ckpt") == {"a": 2}


def test_progress_output_and_plot(tmp_path):
    x, y = circles(90)
    model = Linear(2, 2, seed=0)
    out = io.StringIO()
    t = Trainer(model, SGD(model.parameters(), lr=0.1), cross_entropy, file=out)
    t.fit(loader(x, y, bs=30), epochs=2, val_fraction=1 / 3, plot=tmp_path / "curves.png")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue(), "a non-terminal gets one line per epoch"
    assert lines[0].startswith("epoch 1/2 [") and "2/2" in lines[0] and "ex/s" in lines[0] and "val loss" in lines[1]
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_split_loader_and_deterministic_transform():
    aug = Compose([RandomCrop(4, padding=1, seed=0), ToFloat(), RandomHorizontalFlip(seed=0), Normalize(0.5, 0.5)])
    kept = deterministic(aug)
    assert [type(s).__name__ for s in kept.transforms] == ["ToFloat", "Normalize"]
    assert deterministic(RandomHorizontalFlip()) is None and deterministic(None) is None
    base = DataLoader(TensorDataset(np.arange(50), np.arange(50)), 8, shuffle=True, seed=1, transform=aug)
    train, val = split_loader(base, 0.2, seed=0)
    assert (len(train.dataset), len(val.dataset)) == (40, 10)
    assert not val.shuffle and train.shuffle and train.seed == 1 and train.transform is aug
    assert not set(train.dataset.indices.tolist()) & set(val.dataset.indices.tolist())
    with pytest.raises(ValueError):
        split_loader(base, 1.0)


def test_predict():
    x, y = circles(50)
    model, _, t = linear_setup()
    preds, labels = t.predict(loader(x, y, bs=16))
    assert preds.shape == labels.shape == (50,)
    np.testing.assert_array_equal(preds, np.asarray(model(Tensor(x)).data).argmax(1))


def test_time_budget_starts_no_epoch_that_would_overrun_it():
    x, y = circles(200)
    _, _, t = linear_setup()
    h = t.fit(loader(x, y), epochs=1000, time_budget=0.0)
    assert t.epoch == 1 and len(h["train_loss"]) == 1, "the first epoch runs; none after it fits a zero budget"
    _, _, t = linear_setup()
    t.fit(loader(x, y), epochs=3, time_budget=60.0)
    assert t.epoch == 3, "a generous budget changes nothing"
    _, _, t = linear_setup()
    t.fit(loader(x, y), epochs=2)
    t.fit(loader(x, y), epochs=1000, time_budget=0.0)
    assert t.epoch == 2, "a later fit measures the last epoch too"
