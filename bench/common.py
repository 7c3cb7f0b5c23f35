"""What every benchmark shares: the same trained model in both engines, the machine, tables.

`same_model()` trains with the real pipeline, using the hyper-parameters of the model
the registry currently serves, and registers the result in a scratch registry: the
PyTorch module in memory and its exported ONNX graph are then one and the same model.
"""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paxcast.service.core.contract import ModelCard, read_card

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SameModel:
    registry: Path
    name: str
    version: str
    card: ModelCard
    module: object  # training.series.model.Ensemble, eval mode

    @property
    def onnx_path(self) -> Path:
        return self.registry / self.name / self.version / "model.onnx"


def served_card(model_dir: Path, name: str) -> ModelCard:
    from paxcast.service.core.registry import current_version

    return read_card(Path(model_dir) / name / current_version(model_dir, name), verify_hash=False)


def same_model(
    registry: Path, data: Path, model_dir: Path = ROOT / "models", name: str = "air_passengers"
) -> SameModel:
    """Retrain the served model's design with the pipeline into `registry`; return both engines' views."""
    from paxcast.training.pipeline import train_and_register

    hyper = served_card(model_dir, name).hyperparameters.model_dump()
    version, fitted = train_and_register(data, registry, name, show_progress=False, **hyper)
    card = read_card(registry / name / version)
    return SameModel(registry=registry, name=name, version=version, card=card, module=fitted.result.model.eval())


def save_module(model: SameModel, path: Path) -> Path:
    """Weights and member configs, so another process can rebuild the identical module."""
    import torch

    configs = [member.config.model_dump() for member in model.module.members]
    torch.save({"configs": configs, "state": model.module.state_dict()}, path)
    return path


def load_module(path: Path):
    import torch

    from paxcast.service.core.hyperparameters import TrainConfig
    from paxcast.training.series.model import Ensemble, Forecaster

    saved = torch.load(path, weights_only=True)
    module = Ensemble([Forecaster(TrainConfig(**config)) for config in saved["configs"]])
    module.load_state_dict(saved["state"])
    return module.eval()


def histories(card: ModelCard, n: int, seed: int = 0, data: Path = ROOT / "data" / "air_passengers.csv") -> np.ndarray:
    """`n` valid, varied histories (n, window) cut from the training data."""
    from paxcast.training.data import read_series
    from paxcast.training.export import sample_histories

    return sample_histories(read_series(data)[0].y, card.window, n, seed=seed)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured Markdown table (pastes into docs/performance.md as is)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.rjust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in cells)])


def package_versions(*names: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            out.append(f"{name} {version(name)}")
    return ", ".join(out)


def write_report(out: Path, stem: str, text: str, report: dict) -> None:
    """Print a bench's markdown and write it beside its JSON: `out/<stem>.md`, `out/<stem>.json`."""
    import json

    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
