"""`vqa train audio-artifacts`: the one-second audio classifier (clean, hum, hiss, distortion, clicks),
its held-out metrics on the test sources, ONNX and card (torch only here).

Network: PANNs-style (Kong et al. 2020, CNN10 shape at a quarter of its width): four conv blocks
(3x3 convolutions, batch norm, ReLU, 2x2 average pooling; the first block one convolution, the
others two) at 16, 32, 64, 96 channels on the (1, 67, 50) front-end image of `harness.ml.features`,
then the mean over frequency, max plus mean over time, one hidden layer of 96 and five logits. The
export adds the softmax. About 0.23 M parameters and 29 M multiply-adds a window.

Trained with AdamW, cosine learning rate, label smoothing 0.05 and random gain (+-6 dB, as a
shift of the dB rows) and time shift; the shipped weights are the exponential moving average of the
last steps (decay 0.998), not a picked epoch.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.ml import features as fe
from harness.ml.registry import ModelCard, TensorSpec, Training, resolve_models_dir, write_card
from harness.train.audiodata import CLASSES, Plan, Samples, Size, build

NAME = "audio_artifacts"
VERSION = "1"
STEPS = {"quick": 300, "full": 3000}
BATCH = 64
WIDTHS = (16, 32, 64, 96)


def _conv(ci: int, co: int) -> list[nn.Module]:
    return [nn.Conv2d(ci, co, 3, 1, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU()]


class AudioNet(nn.Module):
    """(N, 1, ROWS, WINDOW_FRAMES) front-end windows -> (N, 5) logits."""

    def __init__(self, widths: tuple[int, int, int, int] = WIDTHS) -> None:
        super().__init__()
        c1, c2, c3, c4 = widths
        self.body = nn.Sequential(
            *_conv(1, c1),
            nn.AvgPool2d(2),
            *_conv(c1, c2),
            *_conv(c2, c2),
            nn.AvgPool2d(2),
            *_conv(c2, c3),
            *_conv(c3, c3),
            nn.AvgPool2d(2),
            *_conv(c3, c4),
            *_conv(c4, c4),
        )
        self.fc = nn.Sequential(nn.Linear(c4, c4), nn.ReLU(), nn.Dropout(0.2), nn.Linear(c4, len(CLASSES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x).mean(dim=2)  # (N, C, T)
        return self.fc(h.amax(dim=2) + h.mean(dim=2))


class Exported(nn.Module):
    def __init__(self, net: AudioNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    gain_db = (torch.rand(n, 1, 1, 1, generator=g) * 12 - 6) / 20  # dB rows are (dB + 40) / 20
    x = x.clone()
    x[:, :, : fe.N_MELS] += gain_db
    shift = int(torch.randint(-5, 6, (1,), generator=g))
    return torch.roll(x, shift, dims=3) if shift else x


def train_net(
    data: Samples, steps: int, seed: int, device: str, log: Callable[[str], None]
) -> tuple[AudioNet, dict[str, Any]]:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = AudioNet().to(device)
    ema = AudioNet().to(device)
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    counts = np.bincount(data.y, minlength=len(CLASSES)).astype(np.float64)
    weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(CLASSES), dtype=torch.float32, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.05)
    x_all = torch.from_numpy(data.x)
    y_all = torch.from_numpy(data.y.astype(np.int64))
    t0, losses = time.perf_counter(), []
    for step in range(steps):
        idx = torch.randint(0, len(y_all), (BATCH,), generator=g)
        xb = _augment(x_all[idx].float()[:, None], g).to(device)
        yb = y_all[idx].to(device)
        net.train()
        loss = loss_fn(net(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        decay = min(0.998, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters(), strict=True):
                pe.mul_(decay).add_(pn.detach(), alpha=1 - decay)
            for be, bn in zip(ema.buffers(), net.buffers(), strict=True):
                be.copy_(bn)
        if (step + 1) % 100 == 0 or step + 1 == steps:
            log(f"  step {step + 1}/{steps} loss {np.mean(losses[-100:]):.4f} ({time.perf_counter() - t0:.0f} s)")
    return ema.eval(), {"final_loss": float(np.mean(losses[-100:])), "train_s": time.perf_counter() - t0}


def predict(net: AudioNet, x: np.ndarray, batch: int = 256) -> np.ndarray:
    net = net.cpu().eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(torch.softmax(net(torch.from_numpy(x[i : i + batch].astype(np.float32))[:, None]), 1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)


def evaluate(probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Window-level balanced accuracy, per-class recall and precision, and the confusion matrix
    (rows: truth, columns: predicted, in CLASSES order)."""
    pred = probs.argmax(axis=1)
    k = len(CLASSES)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (y.astype(np.int64), pred), 1)
    recall = {c: round(float(cm[i, i] / cm[i].sum()), 4) if cm[i].sum() else None for i, c in enumerate(CLASSES)}
    precision = {
        c: round(float(cm[i, i] / cm[:, i].sum()), 4) if cm[:, i].sum() else None for i, c in enumerate(CLASSES)
    }
    present = [r for r in recall.values() if r is not None]
    return {
        "windows": int(len(y)),
        "balanced_accuracy": round(float(np.mean(present)), 4) if present else None,
        "recall": recall,
        "precision": precision,
        "confusion": cm.tolist(),
        "clean_false_alarm_rate": round(float(1 - cm[0, 0] / cm[0].sum()), 4) if cm[0].sum() else None,
    }


def export_onnx(net: AudioNet, path: Path) -> None:
    model = Exported(net.cpu().eval()).eval()
    x = torch.zeros(2, 1, fe.ROWS, fe.WINDOW_FRAMES)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (x,),
        str(path),
        input_names=["features"],
        output_names=["probs"],
        dynamic_axes={"features": {0: "N"}, "probs": {0: "N"}},
        opset_version=17,
        dynamo=False,
    )


def train(
    size: Size = "full",
    device: str = "cpu",
    models_dir: Path | None = None,
    seed: int = 0,
    steps: int | None = None,
    log: Callable[[str], None] = print,
) -> ModelCard:
    t0 = time.perf_counter()
    plan = Plan(size, "train", seed)
    log(f"training data: {plan.recipe()} (digest {plan.digest()})")
    data, _ = build(plan, log=log)
    test_plan = Plan(size, "test", seed + 1)
    log(f"held-out test data: {test_plan.recipe()} (digest {test_plan.digest()})")
    test, _ = build(test_plan, log=log)
    n_steps = steps or STEPS[size]
    net, info = train_net(data, n_steps, seed, device, log)
    probs = predict(net, test.x)
    metrics = evaluate(probs, test.y)
    per_source: dict[str, float] = {}
    for si, name in enumerate(test.names):
        m = test.source == si
        if m.any():
            per_source[name] = round(float(np.mean(probs[m].argmax(1) == test.y[m])), 4)
    log(f"held-out: balanced accuracy {metrics['balanced_accuracy']}, recall {metrics['recall']}")
    out_dir = resolve_models_dir(models_dir)
    onnx_path = out_dir / f"{NAME}.onnx"
    export_onnx(net, onnx_path)
    command = f"vqa train audio-artifacts --size {size}" + (f" --device {device}" if device != "cpu" else "")
    card = ModelCard(
        name=NAME,
        version=VERSION,
        task="Class probabilities of a one-second audio window: clean, hum, hiss, distortion, clicks.",
        inputs=[
            TensorSpec(
                name="features",
                shape=["N", 1, fe.ROWS, fe.WINDOW_FRAMES],
                dtype="float32",
                description=f"harness.ml.features windows: {fe.N_MELS} log-mel rows and {fe.AUX_ROWS} sample-domain "
                f"rows, {fe.WINDOW_FRAMES} columns of {fe.HOP / fe.RATE * 1000:g} ms (1 s) at {fe.RATE} Hz",
            )
        ],
        outputs=[TensorSpec(name="probs", shape=["N", len(CLASSES)], dtype="float32", description=" / ".join(CLASSES))],
        preprocessing={
            "rate": fe.RATE,
            "n_fft": fe.N_FFT,
            "hop": fe.HOP,
            "n_mels": fe.N_MELS,
            "fmin_hz": fe.FMIN_HZ,
            "fmax_hz": fe.FMAX_HZ,
            "window_frames": fe.WINDOW_FRAMES,
            "hop_frames": fe.HOP_FRAMES,
            "classes": list(CLASSES),
        },
        decision={"threshold": 0.5, "min_windows": 2},
        training=Training(
            command=command,
            size=size,
            seed=seed,
            time_s=round(time.perf_counter() - t0, 1),
            device=device,
            torch_version=torch.__version__,
            data_recipe=plan.recipe(),
            data_digest=plan.digest(),
            samples={
                "windows": len(data),
                **{f"{c}_windows": int((data.y == i).sum()) for i, c in enumerate(CLASSES)},
                "steps": n_steps,
                "batch": BATCH,
            },
        ),
        metrics={
            "held_out_test_sources": metrics,
            "per_test_source_accuracy": per_source,
            "test_data": test_plan.recipe(),
            "test_digest": test_plan.digest(),
            "train_loss": round(info["final_loss"], 4),
            "averaged": "exponential moving average of the weights (decay 0.998), the last step's",
        },
        license="Apache-2.0; trained here on synthesized and packaged sound: espeak-ng (GPL-3) speech, alsa-utils "
        "and sound-theme-freedesktop recordings, FluidR3 GM (MIT) and TimGM6mb (GPL-2) soundfonts, Big Buck Bunny "
        "(CC-BY 3.0), opencv-doc's Megamind clip",
        notes="Mono mix of each window; the detector also runs each channel where they differ. The test sources "
        "(other voices, another speaker, another soundfont, another film) never appear in training.",
        created=datetime.date.today().isoformat(),
    )
    return write_card(card, onnx_path, out_dir)
