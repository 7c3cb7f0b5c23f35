"""Cards of earlier versions load (`service.core.migration`): every shipped card, and a card written by
`paxcast train` before card version 3 removed five training flags; a card with a removed flag on is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paxcast.service.core.contract import CARD_FILE, parse_card, read_card
from paxcast.service.core.exceptions import ModelError
from paxcast.service.inference.predictor import Predictor

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent for p in (ROOT / "models").glob(f"*/*/{CARD_FILE}"))
# Written verbatim by `train_and_register` at commit 41bb8e5 (card version 2) on the stations file of
# tests/conftest.py with TINY_GLOBAL: every removed flag is in it, at its off value.
BEFORE = Path(__file__).with_name("card_v2_flags_off.json")
REMOVED = {"refit": True, "local_forecasts": True, "synthetic": 0.1, "ema": 0.9, "lead_input": True}


@pytest.mark.parametrize("version_dir", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED])
def test_every_shipped_card_loads_and_serves(version_dir):
    card = read_card(version_dir)
    assert card.card_version == 3
    assert not set(REMOVED) & set(card.hyperparameters.model_dump())
    Predictor.load(version_dir)


def test_a_card_written_before_the_flags_were_removed_loads_without_them():
    written = json.loads(BEFORE.read_text())
    assert written["card_version"] == 2 and {k: written["hyperparameters"][k] for k in REMOVED} == {
        "refit": False,
        "local_forecasts": False,
        "synthetic": 0.0,
        "ema": 0.0,
        "lead_input": False,
    }
    card = parse_card(BEFORE.read_bytes(), str(BEFORE))
    assert card.card_version == 3
    today = json.loads(card.to_json())
    assert today["hyperparameters"] == {k: v for k, v in written["hyperparameters"].items() if k not in REMOVED}
    rest = lambda d: {k: v for k, v in d.items() if k not in ("card_version", "hyperparameters")}  # noqa: E731
    assert rest(today) == rest(written)  # nothing else moves


@pytest.mark.parametrize("key", sorted(REMOVED))
def test_a_card_with_a_removed_flag_on_is_refused_naming_it(key):
    written = json.loads(BEFORE.read_text())
    written["hyperparameters"][key] = REMOVED[key]
    with pytest.raises(ModelError) as caught:
        parse_card(json.dumps(written), "v/model.json")
    assert str(caught.value) == (
        f"v/model.json: hyperparameters.{key} is on; card version 3 removed that training option, "
        "so this paxcast cannot serve or retrain the model"
    )


def test_a_version_1_card_with_refit_on_is_refused_by_its_own_step():
    written = json.loads((ROOT / "models/air_passengers/20261122T083655Z" / CARD_FILE).read_text())
    assert "card_version" not in written and written["hyperparameters"]["refit"] is False
    written["hyperparameters"]["refit"] = True
    with pytest.raises(ModelError, match=r"hyperparameters\.refit is on; card version 2 removed"):
        parse_card(json.dumps(written), "v/model.json")


def test_a_card_from_a_newer_paxcast_is_refused_by_its_version():
    written = json.loads(parse_card(BEFORE.read_bytes(), str(BEFORE)).to_json()) | {"card_version": 4}
    with pytest.raises(ModelError, match="^v/model.json: card_version: Input should be 3$"):
        parse_card(json.dumps(written), "v/model.json")
