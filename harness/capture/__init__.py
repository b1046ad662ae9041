"""Recording a device: the capture rig, sources and bundle on disk (`rig`), the OpenCV and
sounddevice backends (`backends`), the PulseAudio helper (`pulse`). Imports only `harness.config`;
never analysis, the suite or the report."""
