"""The block-corruption network, its training and its export to ONNX (torch only here).

Topology (the seed's: a ResNet-style fully convolutional net whose last layer is a 1x1 convolution
giving a map of corruption probabilities), sized for 2 CPU cores: luma at 360 rows in, a 4x4
patchify stem (stride 4), a stride-2 stage with a residual block at 1/8, a stride-2 stage with two
residual blocks at 1/16, a 1x1 convolution to one logit per 16x16 cell of the input. 640x360 gives a
22x40 map; the seed's 224x224 -> 7x7 is 1/32. About 0.2 M parameters, ~140 M multiply-adds a 360p
frame; onnxruntime runs it in ~1.5 ms a frame on 2 cores (batch 8).

Two decisions ship in one graph: `map` (per-cell probability, v1 thresholds the corrupted-area
ratio) and `frame` (v2: a logistic head learned on statistics of the map: its maximum, mean, the
share of cells above 0.5 and above 0.25, and the mean of squared probabilities).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.train.blockdata import CELL, Samples


class _Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.an = nn.BatchNorm2d(c)
        self.b = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn(self.b(torch.relu(self.an(self.a(x))))))


def _down(ci: int, co: int, k: int, s: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(ci, co, k, s, 1 if k == 3 else 0, bias=False), nn.BatchNorm2d(co), nn.ReLU())


WIDTHS = (16, 32, 64)
POS_WEIGHT = 2.0  # damaged cells are ~8 % of the labelled ones: weigh them up so 0.5 is a usable threshold


class BlockNet(nn.Module):
    """Luma (N, 1, H, W), 0-255 -> logits (N, 1, H/16, W/16)."""

    def __init__(self, widths: tuple[int, int, int] = WIDTHS) -> None:
        super().__init__()
        c1, c2, c3 = widths
        self.body = nn.Sequential(
            _down(1, c1, 4, 4),
            _down(c1, c2, 3, 2),
            _Block(c2),
            _down(c2, c3, 3, 2),
            _Block(c3),
            _Block(c3),
        )
        self.head = nn.Conv2d(c3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x / 127.5 - 1.0))


def map_features(p: torch.Tensor) -> torch.Tensor:
    """Frame statistics of a probability map (N, 1, h, w) -> (N, 5)."""
    f = p.flatten(1)
    return torch.stack(
        [f.amax(1), f.mean(1), (f > 0.5).float().mean(1), (f > 0.25).float().mean(1), (f * f).mean(1)], 1
    )


class Exported(nn.Module):
    """What the ONNX holds: probabilities per cell and per frame."""

    def __init__(self, net: BlockNet, w: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.w: torch.Tensor
        self.b: torch.Tensor
        self.register_buffer("w", w)
        self.register_buffer("b", b)

    def forward(self, luma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = torch.sigmoid(self.net(luma))
        frame = torch.sigmoid(map_features(p) @ self.w + self.b)
        return p, frame


@dataclass
class TrainConfig:
    steps: int
    batch: int = 16
    crop: tuple[int, int] = (192, 320)  # rows, cols; multiples of the cell
    lr: float = 3e-3
    seed: int = 0
    threads: int = 2
    device: str = "cpu"
    widths: tuple[int, int, int] = WIDTHS
    pos_weight: float = POS_WEIGHT


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast, brightness and gamma a capture chain or a TV's picture mode may change, plus
    sensor-like noise now and then: the model must not key on a source's exact levels."""
    x = img.astype(np.float32) / 255.0
    if rng.random() < 0.5:
        x = x ** float(rng.uniform(0.7, 1.4))
    x = x * float(rng.uniform(0.7, 1.2)) + float(rng.uniform(-0.08, 0.08))
    if rng.random() < 0.25:
        x = x + rng.normal(0, float(rng.uniform(0.003, 0.015)), x.shape).astype(np.float32)
    return np.clip(x * 255.0, 0, 255)


def _batch(data: Samples, idx: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    ch, cw = cfg.crop
    n, h, w = data.images.shape
    xs = np.empty((len(idx), 1, ch, cw), np.float32)
    ys = np.empty((len(idx), 1, ch // CELL, cw // CELL), np.float32)
    ms = np.empty_like(ys)
    for k, i in enumerate(idx):
        r = int(rng.integers(0, (h - ch) // CELL + 1)) * CELL
        c = int(rng.integers(0, (w - cw) // CELL + 1)) * CELL
        img = data.images[i, r : r + ch, c : c + cw]
        lab = data.labels[i, r // CELL : (r + ch) // CELL, c // CELL : (c + cw) // CELL]
        if rng.random() < 0.5:
            img, lab = img[:, ::-1], lab[:, ::-1]
        xs[k, 0] = _photometric(img, rng)
        ys[k, 0] = lab == 1
        ms[k, 0] = lab != 255
    return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(ms)


def train_net(data: Samples, cfg: TrainConfig, log: Any = print) -> tuple[BlockNet, dict[str, float]]:
    """Train the map on random crops; positives drawn to a third of each batch."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    dev = torch.device(cfg.device)
    net = BlockNet(cfg.widths).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    pos = np.flatnonzero((data.labels == 1).any(axis=(1, 2)))
    neg = np.flatnonzero(~(data.labels == 1).any(axis=(1, 2)))
    t0 = time.perf_counter()
    ema = None
    for step in range(cfg.steps):
        k = cfg.batch // 3 if len(pos) else 0
        idx = (
            np.concatenate([rng.choice(pos, k), rng.choice(neg, cfg.batch - k)])
            if len(neg)
            else rng.choice(pos, cfg.batch)
        )
        x, y, m = (t.to(dev) for t in _batch(data, idx, cfg, rng))
        logits = net(x)
        pw = torch.tensor(cfg.pos_weight, device=dev)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none", pos_weight=pw)
        loss = (bce * m).sum() / m.sum().clamp(min=1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        lv = float(loss.detach())
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        if log and (step % 100 == 0 or step == cfg.steps - 1):
            log(f"step {step + 1}/{cfg.steps} loss {ema:.4f} ({time.perf_counter() - t0:.0f} s)")
    return net.eval(), {"train_time_s": time.perf_counter() - t0, "final_loss": float(ema or 0.0)}


@torch.no_grad()
def predict_maps(net: BlockNet, images: np.ndarray, batch: int = 16, device: str = "cpu") -> np.ndarray:
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch, None].astype(np.float32)).to(device)
        out.append(torch.sigmoid(net(x)).cpu().numpy()[:, 0])
    return np.concatenate(out)


def fit_frame_head(maps: np.ndarray, frame: np.ndarray, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic regression of the frame label on the map statistics (frames labelled 0 or 1)."""
    torch.manual_seed(seed)
    keep = frame != 255
    x = map_features(torch.from_numpy(maps[keep][:, None]).float())
    y = torch.from_numpy(frame[keep].astype(np.float32))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def export_onnx(net: BlockNet, w: torch.Tensor, b: torch.Tensor, path: Path) -> None:
    model = Exported(net.cpu().eval(), w, b).eval()
    x = torch.zeros(1, 1, 360, 640)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (x,),
        str(path),
        input_names=["luma"],
        output_names=["map", "frame"],
        dynamic_axes={"luma": {0: "N", 2: "H", 3: "W"}, "map": {0: "N", 2: "h", 3: "w"}, "frame": {0: "N"}},
        opset_version=17,
        dynamo=False,
    )
