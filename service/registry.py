"""Read-only view of the model registry: `<root>/<name>/<version>/{model.onnx,model.json}` + `<root>/<name>/CURRENT`.

Training writes the registry (training/registry.py); the service only reads it,
through these functions, and checks a version before it serves it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CONTRACT_KEYS = ("name", "version", "window", "horizon", "season", "freq", "cell", "onnx_sha256")


class ModelError(RuntimeError):
    """A registry entry is missing, incomplete or does not match its hashes."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def current_version(root: str | Path, name: str) -> str:
    """The version named by `<root>/<name>/CURRENT`."""
    pointer = Path(root) / name / "CURRENT"
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ModelError(f"{pointer}: cannot read the current-version pointer ({exc.strerror})") from None
    if not version or "/" in version or version.startswith("."):
        raise ModelError(f"{pointer}: does not name a version ({version!r})")
    return version


def read_contract(version_dir: str | Path, verify_hash: bool = True) -> dict:
    """model.json of a version, checked for completeness and (optionally) against model.onnx's sha256."""
    version_dir = Path(version_dir)
    meta_path, onnx_path = version_dir / "model.json", version_dir / "model.onnx"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"{meta_path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{meta_path}: expected a JSON object")
    missing = [key for key in CONTRACT_KEYS if key not in meta]
    if missing:
        raise ModelError(f"{meta_path}: the contract lacks {', '.join(missing)}")
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path}: missing")
    if verify_hash:
        actual = sha256_of(onnx_path)
        if actual != meta["onnx_sha256"]:
            raise ModelError(f"{onnx_path}: sha256 {actual[:12]}… does not match model.json's {str(meta['onnx_sha256'])[:12]}…")
    return meta


def list_versions(root: str | Path, name: str) -> list[str]:
    """Complete versions of a model, oldest first (staging directories are hidden by their dot)."""
    base = Path(root) / name
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "model.json").is_file())
