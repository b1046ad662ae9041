#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: system packages, a virtual environment in
# .venv, and the harness installed in it (editable). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)          # FFmpeg baseline in `vqa bench speed`
command -v chromium >/dev/null 2>&1 || need+=(chromium)      # opens the HTML report in tests
command -v node >/dev/null 2>&1 || need+=(nodejs)            # Allure 3 report generator
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v pulseaudio >/dev/null 2>&1 || need+=(pulseaudio)  # the streamed simulated device's sound card
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)    # speech in the detector benchmark's sources
[ -e /usr/share/doc/opencv-doc/examples/data/vtest.avi ] || need+=(opencv-doc)  # bench footage: vtest.avi crowd, Megamind.avi
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)  # sounddevice's PortAudio
command -v fluidsynth >/dev/null 2>&1 || need+=(fluidsynth)  # bench music with rests (General MIDI)
[ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)  # its soundfont (MIT)
[ -e /usr/share/sounds/alsa/Front_Left.wav ] || need+=(alsa-utils)  # recorded voice prompts for the bench
[ -e /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)  # a second GM soundfont (GPL-2): the audio model's test music
[ -e /usr/share/sounds/freedesktop/stereo/bell.oga ] || need+=(sound-theme-freedesktop)  # recorded voice and effects (CC-BY-SA / GPL)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)  # the simulated TV's caption font
if ((${#need[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing system packages: ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,train]'  # train: torch (CPU build, from local disk) for `vqa train` and its test
# The caption OCR model (PP-OCRv4 recogniser, Apache-2.0) ships in this wheel; only the .onnx file is
# read (harness/ml/ocr.py). Without --no-deps it pulls opencv-python 5.x over our headless 4.x.
.venv/bin/python -m pip install -q --no-deps rapidocr_onnxruntime==1.4.4
.venv/bin/vqa reference build --suite
