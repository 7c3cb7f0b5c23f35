"""Issue 30: cards that loaded but broke later are refused by the load check (`read_card`, `Predictor.load`):
a `data_file` that is not a plain, UTF-8-encodable file name, and a calibration far beyond any shipped one.
The card builder never writes such a `data_file`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from paxcast.service.core.contract import CARD_FILE, read_card
from paxcast.service.core.exceptions import ModelError
from paxcast.service.inference.predictor import Predictor
from paxcast.training.card import make_card

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "air_passengers" / "20261122T083655Z"


@pytest.fixture
def version_dir(tmp_path) -> Path:
    """A private copy of the shipped air_passengers version (its card has intervals)."""
    target = tmp_path / "air_passengers" / SHIPPED.name
    shutil.copytree(SHIPPED, target)
    return target


def rewrite(version_dir: Path, change) -> None:
    card = json.loads((version_dir / CARD_FILE).read_text())
    change(card)
    (version_dir / CARD_FILE).write_text(json.dumps(card))  # ensure_ascii: a lone surrogate is written as \udcff


def refused(version_dir: Path, rule: str) -> None:
    """Both load paths refuse the card with `rule` after the file's name."""
    expected = f"^{version_dir / CARD_FILE}: {rule}$"
    with pytest.raises(ModelError, match=expected):
        read_card(version_dir)
    with pytest.raises(ModelError, match=expected):
        Predictor.load(version_dir)


PLAIN = r"data_file: must be a plain file name \(no folder, no control characters, UTF-8 text\); got "


@pytest.mark.parametrize(
    "data_file, shown",
    [
        ("../air.csv", r"'\.\./air\.csv'"),
        ("/srv/data/air.csv", r"'/srv/data/air\.csv'"),
        ("data\\air.csv", r"'data\\\\air\.csv'"),
        ("..", r"'\.\.'"),
        ("", "''"),
        ("air\n.csv", r"'air\\n\.csv'"),
    ],
    ids=["parent", "absolute", "backslash", "dot-dot", "empty", "newline"],
)
def test_a_data_file_that_is_not_a_plain_file_name_is_refused(version_dir, data_file, shown):
    rewrite(version_dir, lambda card: card.update(data_file=data_file))
    refused(version_dir, PLAIN + shown)


@pytest.mark.parametrize(
    "change, where",
    [
        # what `retrain --data` wrote for a data file whose name is not UTF-8
        (lambda card: card.update(data_file="\udcff.csv"), "data_file"),
        (lambda card: card["validation"].update(baseline="naive \udcff"), r"validation\.baseline"),
    ],
    ids=["data_file", "validation.baseline"],
)
def test_a_lone_surrogate_anywhere_in_a_card_is_refused(version_dir, change, where):
    rewrite(version_dir, change)
    refused(version_dir, where + r" holds a lone surrogate \(\\udcff\); a card must be UTF-8 text")


@pytest.mark.parametrize("score", [1e300, 1000.5], ids=["1e300", "just-above"])
def test_a_calibration_beyond_the_bound_is_refused(version_dir, score):
    rewrite(version_dir, lambda card: card["intervals"]["relative_errors"][0].__setitem__(0, score))
    refused(version_dir, r"intervals\.relative_errors\.0\.0: Input should be less than or equal to 1000")


def test_a_calibration_at_the_bound_loads(version_dir):
    rewrite(version_dir, lambda card: card["intervals"]["relative_errors"][0].__setitem__(0, 1000.0))
    assert Predictor.load(version_dir).card.intervals.relative_errors[0][0] == 1000.0


def test_the_card_builder_stores_a_file_name_that_is_not_utf8_as_valid_text():
    """`retrain --data` on a file named b'\\xff.csv' passed '\\udcff.csv' (Python's surrogateescape) to the card."""
    card = read_card(SHIPPED)
    fit = SimpleNamespace(
        freq=card.freq,
        config=card.hyperparameters,
        covariates=card.covariates,
        training=card.training,
        validation=card.validation,
        selection=card.selection,
        onnx=card.onnx,
        intervals=card.intervals,
    )
    made = make_card(fit, card.name, card.version, card.onnx_sha256, "caf\udce9\n\\x.csv", card.data_sha256)
    assert made.data_file == "caf\ufffd\ufffd\ufffdx.csv"  # a name the card may hold; data_sha256 names the file
    assert json.loads(made.to_json())["data_file"] == made.data_file
