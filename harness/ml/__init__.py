"""Trained models: the model registry and cards (`registry.py`), onnxruntime sessions and batching
(`runtime.py`); training code (torch, the optional `train` extra) goes in `ml/train/`. May import
the top-level modules of `harness` only; runtime never imports torch."""
