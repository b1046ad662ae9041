"""Trained models: onnxruntime sessions, the model registry and model cards; training code (torch,
an optional extra) goes in `ml/train/`. Empty until the first model lands (issue #11). May import
`harness.media` and `harness.events` only; runtime never imports torch."""
