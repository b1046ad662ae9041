"""Text-line recognition with PaddleOCR's PP-OCRv4 recogniser, on onnxruntime.

The model is the one the `rapidocr_onnxruntime` 1.4.4 wheel ships (`models/ch_PP-OCRv4_rec_infer.onnx`,
10.9 MB, Apache-2.0, from PaddleOCR; its character list of 6,623 Chinese, Latin and symbol
characters is in the file's metadata). Only the file is used: the wheel is installed without its
dependencies (`pip install --no-deps rapidocr_onnxruntime==1.4.4`), because they pull
`opencv-python` 5.x over our headless 4.x, and nothing of the package is imported. The sha256 is
pinned here, so another version of the wheel is one clear error, not different text.

No text detector runs: the caption reader finds the caption lines itself (bright thin strokes in
rows) and hands each line here as a crop; a line takes 10-25 ms on one core, where the wheel's
detector took 1.5-4 s on the caption band (README, "Captions").

Preprocessing and decoding follow PaddleOCR's (and rapidocr's) `TextRecognizer`: the line resized to
48 px high keeping its aspect, scaled to [-1, 1], padded right; greedy CTC decoding (blank 0,
repeats merged, a space as the last class); the confidence is the mean of the kept characters'
probabilities.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from harness.ml.runtime import threads_for_host

PACKAGE = "rapidocr_onnxruntime"
PACKAGE_VERSION = "1.4.4"
MODEL = "models/ch_PP-OCRv4_rec_infer.onnx"
MODEL_SHA256 = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
HEIGHT = 48
MIN_WIDTH = 320  # PaddleOCR's rec_img_shape width: shorter lines are padded to it


class OcrError(Exception):
    pass


def model_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # finds the files without running the package
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        p = Path(root) / MODEL
        if p.is_file():
            return p
    raise OcrError(
        f"the caption OCR model ships in {PACKAGE} {PACKAGE_VERSION}, which is not installed: "
        f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}  (without its dependencies: they replace "
        "opencv-python-headless 4.x with opencv-python 5.x)"
    )


class LineReader:
    """Reads single lines of text. One session per process (`LineReader.get()`); thread-safe."""

    _instance: LineReader | None = None
    _lock = threading.Lock()

    def __init__(self, path: Path | None = None):
        path = path or model_path()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise OcrError(
                f"{path}: sha256 {digest[:12]}... is not the pinned PP-OCRv4 recogniser of {PACKAGE} "
                f"{PACKAGE_VERSION} ({MODEL_SHA256[:12]}...): reinstall it with "
                f"pip install --no-deps --force-reinstall {PACKAGE}=={PACKAGE_VERSION}"
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads_for_host()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        chars = self.session.get_modelmeta().custom_metadata_map.get("character", "").splitlines()
        if not chars:
            raise OcrError(f"{path}: the model carries no character list in its metadata")
        self.characters = ["", *chars, " "]
        self._input = self.session.get_inputs()[0].name
        self._run_lock = threading.Lock()

    @classmethod
    def get(cls) -> LineReader:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def read(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence in 0..1) for each line image (gray or BGR uint8, text horizontal)."""
        if not lines:
            return []
        ratios = [max(1e-3, im.shape[1] / max(1, im.shape[0])) for im in lines]
        width = max(MIN_WIDTH, int(np.ceil(HEIGHT * max(ratios))))
        batch = np.zeros((len(lines), 3, HEIGHT, width), np.float32)
        for k, (im, r) in enumerate(zip(lines, ratios, strict=True)):
            if im.ndim == 2:
                im = cv2.cvtColor(im, cv2.COLOR_GRAY2BGR)
            w = min(width, int(np.ceil(HEIGHT * r)))
            x = cv2.resize(im, (w, HEIGHT)).astype(np.float32).transpose(2, 0, 1)
            batch[k, :, :, :w] = x / 127.5 - 1.0
        with self._run_lock:
            probs = self.session.run(None, {self._input: batch})[0]
        out = []
        for p in probs:
            idx = p.argmax(axis=1)
            conf = p.max(axis=1)
            keep = np.ones(len(idx), bool)
            keep[1:] = idx[1:] != idx[:-1]
            keep &= idx != 0
            text = "".join(self.characters[i] for i in idx[keep] if i < len(self.characters))
            out.append((text, float(conf[keep].mean()) if keep.any() else 0.0))
        return out
