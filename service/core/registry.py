"""Read-only view of the model registry: `<root>/<name>/<version>/{model.onnx,model.json}` + `<root>/<name>/CURRENT`.

Training writes the registry (service/core/publish.py); the service only reads it,
through these functions and `contract.read_card`.
"""

from __future__ import annotations

import re
from pathlib import Path

from paxcast.service.core.contract import CARD_FILE
from paxcast.service.core.exceptions import ModelError
from paxcast.service.core.files import read_regular, shown

POINTER = "CURRENT"


def current_version(root: str | Path, name: str, relative: bool = False) -> str:
    """The version named by `<root>/<name>/CURRENT`; ModelError naming the file when it names none.

    `relative=True` names the file relative to `root` (what the service shows clients), else in full.
    A FIFO, socket, device or directory there is refused without blocking (core.files).
    """
    path = Path(root) / name / POINTER
    pointer = shown(path, root if relative else None)
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise ModelError(f"{pointer}: cannot read the current-version pointer ({exc.strerror})") from None
    try:
        version = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ModelError(f"{pointer}: is not UTF-8 text; it must hold one version id") from None
    if not version or "/" in version or version.startswith(".") or not version.isprintable():
        raise ModelError(f"{pointer}: does not name a version ({version[:100]!r})")
    return version


def version_order(version: str) -> tuple[str, int]:
    """Sort key of version ids: the UTC stamp, then the `-n` suffix numerically (…Z-10 after …Z-2)."""
    match = re.fullmatch(r"(.*?)(?:-(\d+))?", version)
    return match.group(1), int(match.group(2) or 1)


def list_versions(root: str | Path, name: str) -> list[str]:
    """Versions of a model that have a card, oldest first (staging and trash directories are hidden by their dot)."""
    base = Path(root) / name
    if not base.is_dir():
        return []
    found = [p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / CARD_FILE).is_file()]
    return sorted(found, key=version_order)


def list_models(root: str | Path) -> list[str]:
    """Names of the models in the registry that have a CURRENT pointer, sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / POINTER).exists()
    )
