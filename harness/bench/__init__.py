"""Benchmarks: the labelled impairment dataset (`dataset`, `sources`), the detector benchmark
(`detect`) and its metrics (`metrics`), the frame-code measurement benchmark (`measure`), speed
(`speed`), the soak (`soak`). May import devices, capture, analysis, detectors, measure, reference,
impairments; never suite, report or cli."""
