"""Where things are in the repository (every path is absolute, so synth works from any cwd)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_PYTHON_DIR = REPO_ROOT / "layers" / "realtime" / "python"
FUNCTIONS_DIR = REPO_ROOT / "functions"
LOCK_FILE = REPO_ROOT / "requirements.lock"
BUILD_DIR = REPO_ROOT / "build"
# The layer asset: Lambda unpacks it under /opt, so the packages live in python/.
LAYER_BUILD_DIR = BUILD_DIR / "layer"
CDK_JSON = REPO_ROOT / "cdk.json"


def ensure_layer_importable() -> None:
    """Put the shared layer on sys.path, as Lambda does with /opt/python."""
    path = str(LAYER_PYTHON_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)
