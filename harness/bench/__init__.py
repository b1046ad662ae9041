"""Benchmarks: the labelled impairment dataset (`dataset`, `sources`), the detector benchmark
(`detect`) and its metrics (`metrics`), the frame-code measurement benchmark (`measure`), speed
(`speed`). May import analysis, detectors, measure, reference, impairments; never suite, report or cli."""
