"""Issue 30's registry cases through HTTP: a default whose served card names another model, a CURRENT that
is not a regular file, and broken versions whose problems must not show the server's absolute paths."""

from __future__ import annotations

import shutil

from prometheus_client import REGISTRY, generate_latest

from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor
from tests.service.conftest import GRU
from tests.service.test_models import add_version, client_for


def test_readyz_is_a_503_naming_a_default_whose_card_names_another_model(models_root):
    """Issue 30: a default model serving a card of another model made /readyz a 500 (StopIteration)."""
    with client_for(models_root) as client:
        holder = client.app.state.models.get("air_passengers")
        other = models_root / GRU / current_version(models_root, GRU)
        holder.predictor = Predictor.load(other, name=GRU)  # what an older build served: the load check refuses it now
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "detail": f"model 'air_passengers' serves a version of model '{GRU}' ({other.name}); "
            "the default model 'air_passengers' is not ready"
        }


def info_lines(name: str) -> list[str]:
    """The `paxcast_model_info` lines of model `name` in the process's own Prometheus registry."""
    text = generate_latest(REGISTRY).decode()
    return [line for line in text.splitlines() if line.startswith(f'paxcast_model_info{{name="{name}"')]


def test_model_info_keeps_one_line_per_model_across_switches(models_root):
    """Issue 30: switching back from a version left the old label set behind (at 0, or at 1 under another name)."""
    with client_for(models_root) as client:
        holder = client.app.state.models.get(GRU)
        first = holder.predictor.version
        add_version(models_root, GRU, "29990101T000000Z")
        assert holder.reload() == (True, "now serving version 29990101T000000Z")
        assert info_lines(GRU) == [f'paxcast_model_info{{name="{GRU}",version="29990101T000000Z"}} 1.0']
        (models_root / GRU / "CURRENT").write_text(first + "\n")
        assert holder.reload() == (True, f"now serving version {first}")
        assert info_lines(GRU) == [f'paxcast_model_info{{name="{GRU}",version="{first}"}} 1.0']
        shutil.rmtree(models_root / GRU / "29990101T000000Z")
