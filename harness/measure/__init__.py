"""Frame-accurate measurement of reference titles: frame codes (`framecode`), flash + chirp sync
marks (`sync`), and the tracker that turns a capture into dropped / repeated frames, cadence,
start-up, seek and A/V offset (`tracker`). Imports only `harness.media` and third-party code."""
