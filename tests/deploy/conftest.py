"""Build kustomizations with the real ``kubectl kustomize`` (what ``kubectl apply -k`` runs).

A hand-written YAML reader would agree with our own mistakes; kustomize is the thing that
decides what a cluster receives, so the tests read its output. Where kubectl (with a
kustomize new enough for Components) is missing, these tests skip and say so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

Build = Callable[[Path], list[dict[str, Any]]]


def _kustomize_version(kubectl: str) -> tuple[int, ...] | None:
    out = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True,
                         timeout=30, check=False).stdout
    found = re.search(r"Kustomize Version: v(\d+)\.(\d+)", out)
    return tuple(int(part) for part in found.groups()) if found else None


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed: these tests build deploy/ with "
                    "`kubectl kustomize` (install kubectl >= 1.24 to run them)")
    version = _kustomize_version(path)
    if version is None or version < (4, 5):
        pytest.skip(f"kubectl at {path} embeds kustomize {version or 'unknown'}; deploy/ "
                    "uses kustomize Components, which need kustomize >= 4.5 (kubectl >= 1.24)")
    return path


@pytest.fixture(scope="session")
def build(kubectl: str) -> Build:
    """``kubectl kustomize DIR`` parsed into objects, memoised per directory."""
    cache: dict[Path, list[dict[str, Any]]] = {}

    def run(folder: Path) -> list[dict[str, Any]]:
        if folder not in cache:
            done = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True,
                                  text=True, timeout=60, check=False)
            assert done.returncode == 0, f"kubectl kustomize {folder} failed:\n{done.stderr}"
            cache[folder] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
        return cache[folder]

    return run
