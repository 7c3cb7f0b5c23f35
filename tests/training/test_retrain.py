"""`paxcast retrain`: the guard, the history, bad data, the lock; `paxcast models list|show|rollback`."""

import json
import os
import subprocess
import sys

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.contract import read_card
from paxcast.service.core.history import read_history
from paxcast.service.core.publish import locked
from paxcast.service.core.registry import current_version, list_versions
from paxcast.service.inference.predictor import check_servable
from paxcast.training.data import read_series
from paxcast.training.evaluate import onnx_forecast
from paxcast.training.metrics import mape
from paxcast.training.pipeline import train_and_register
from paxcast.training.retrain.scores import judge

NAME = "air_passengers"
CRIPPLED = [
    "--lr",
    "10",
    "--epochs",
    "1",
]  # one huge step: worse than the champion on the hold-out (deterministic seeds)


def retrain(registry, data, *flags):
    return main(["retrain", "--data", str(data), "--registry", str(registry), "--name", NAME, *flags])


def snapshot(root):
    """Every file under `root` with its bytes: to prove a run left the registry untouched."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_challenger_that_beats_the_champion_is_promoted(registry, air_csv, capsys):
    weak, _ = train_and_register(
        air_csv, registry, NAME, show_progress=False, window=24, horizon=12, hidden=8, ensemble=1, lr=10, epochs=1
    )
    assert retrain(registry, air_csv, "--lr", "0.003", "--epochs", "15") == 0

    new = current_version(registry, NAME)
    assert new != weak and new in list_versions(registry, NAME)
    (record,) = read_history(registry, NAME)
    assert record["decision"] == "promoted" and record["current"] == new and record["forced"] is False
    assert record["challenger"]["version"] == new and record["champion"]["version"] == weak
    assert record["challenger"]["mape"] < record["champion"]["mape"]
    assert record["champion"]["basis"] == "champion's settings refitted before the hold-out"
    assert record["data"] == {
        "file": str(air_csv),
        "sha256": read_card(registry / NAME / new).data_sha256,
        "rows": 144,
        "series": 1,
        "through": {"air_passengers": "1960-12-01T00:00:00"},
    }
    assert record["holdout"] == {"points": 12, "horizon": 12, "metric": "mape"}
    assert record["duration_s"] > 0
    out = capsys.readouterr().out
    assert out.startswith(f"promoted {NAME}/{new}: challenger hold-out mape ") and out.count("\n") == 1


@pytest.mark.slow
def test_a_crippled_challenger_is_not_promoted(registry, air_csv, capsys):
    champion = current_version(registry, NAME)
    versions = list_versions(registry, NAME)
    assert retrain(registry, air_csv, *CRIPPLED) == 0

    assert current_version(registry, NAME) == champion and list_versions(registry, NAME) == versions
    (record,) = read_history(registry, NAME)
    assert record["decision"] == "kept" and record["current"] == champion
    assert record["challenger"]["version"] is None and record["challenger"]["settings"]["lr"] == 10
    assert record["challenger"]["mape"] > record["champion"]["mape"]
    assert record["reason"].endswith("worse than the allowed regression of 0%")
    assert capsys.readouterr().out.startswith(f"kept {NAME}/{champion}: challenger hold-out mape ")


@pytest.mark.slow
def test_the_served_champion_is_judged_when_it_never_saw_the_holdout(registry, air_csv, tmp_path):
    older = tmp_path / "air_until_1959.csv"
    older.write_text("".join(air_csv.read_text().splitlines(keepends=True)[:-12]))
    assert retrain(registry, older) == 0  # trained through 1959-12
    champion = current_version(registry, NAME)
    assert retrain(registry, air_csv, "--max-regression", "100") == 0  # the hold-out is 1960

    record = read_history(registry, NAME)[-1]
    assert record["champion"]["version"] == champion
    assert record["champion"]["basis"] == "served model (trained on data that ends before the hold-out)"
    (series,) = read_series(air_csv)
    y = series.y
    served = onnx_forecast(registry / NAME / champion / "model.onnx", y[None, :-12])
    assert record["champion"]["mape"] == pytest.approx(mape(y[None, -12:], served))


@pytest.mark.parametrize(
    "challenger, champion, tolerance, force, promote, reason",
    [
        (
            5.0,
            5.0,
            0.0,
            False,
            True,
            "challenger hold-out mape 5.000% vs champion 5.000% (+0.00%), within the allowed regression of 0%",
        ),
        (
            5.2,
            5.0,
            5.0,
            False,
            True,
            "challenger hold-out mape 5.200% vs champion 5.000% (+4.00%), within the allowed regression of 5%",
        ),
        (
            5.3,
            5.0,
            5.0,
            False,
            False,
            "challenger hold-out mape 5.300% vs champion 5.000% (+6.00%), worse than the allowed regression of 5%",
        ),
        (9.0, 5.0, 0.0, True, True, "forced: challenger hold-out mape 9.000% vs champion 5.000% (+80.00%)"),
        (
            None,
            5.0,
            0.0,
            True,
            False,
            "the challenger's hold-out forecasts are not finite; not promoted even with --force",
        ),
        (5.0, None, 0.0, False, True, "the champion's hold-out forecasts are not finite; challenger mape 5.000%"),
    ],
    ids=["tie", "within-tolerance", "beyond-tolerance", "forced", "non-finite-challenger", "non-finite-champion"],
)
def test_promotion_rule(challenger, champion, tolerance, force, promote, reason):
    assert judge(challenger, champion, "mape", tolerance, force) == (promote, reason)


@pytest.mark.parametrize(
    "content, message",
    [
        ("ds,y\n2020-01-01,1\n2020-02-01,x\n", "{data}: line 3: y 'x' is not a number"),
        (
            "ds,y\n" + "".join(f"{2000 + m // 12}-{m % 12 + 1:02d}-01,{100 + m}\n" for m in range(48)),
            "{data}: series 'series' has 48 rows; "
            "window 24 + horizon 12 + 1 validation window + a hold-out of 12 needs at least 49",
        ),
        (
            "ds,y\n" + "".join(f"2020-01-{d:02d},{100 + d}\n" for d in range(1, 29)),
            "{data}: the data is daily; champion {champion} forecasts monthly series",
        ),
        (None, "{data}: cannot read the file (No such file or directory)"),
    ],
    ids=["bad-value", "too-short-for-the-holdout", "other-frequency", "missing-file"],
)
def test_bad_data_fails_before_training_and_leaves_the_registry_untouched(registry, tmp_path, capsys, content, message):
    data = tmp_path / "new.csv"
    if content is not None:
        data.write_text(content)
    before = snapshot(registry)
    assert retrain(registry, data) == 3
    captured = capsys.readouterr()
    expected = message.format(data=data, champion=current_version(registry, NAME))
    assert captured.err == f"paxcast retrain: {expected}\n" and captured.out == ""
    assert snapshot(registry) == before


@pytest.mark.parametrize("flag", ["--window", "--horizon", "--season"])
def test_the_served_shape_cannot_change_in_a_retrain(registry, air_csv, capsys, flag):
    before = snapshot(registry)
    with pytest.raises(SystemExit) as stopped:
        retrain(registry, air_csv, flag, "24")
    assert stopped.value.code == 2 and f"unrecognized arguments: {flag} 24" in capsys.readouterr().err
    assert snapshot(registry) == before


def test_the_library_refuses_a_shape_change_naming_the_kept_value(registry):
    from paxcast.service.core.exceptions import UsageError
    from paxcast.training.retrain.run import champion_config, read_champion

    with pytest.raises(
        UsageError,
        match=r"^retrain keeps the champion's horizon \(12\); to change it, train a new model with `paxcast train`$",
    ):
        champion_config(read_champion(registry, NAME), horizon=24)


def retrain_flags() -> dict[str, str]:
    """Every training flag `paxcast retrain --help` offers, with a valid value different from the tiny champion's."""
    import argparse

    from paxcast.service.cli.main import build_parser

    parser = build_parser()
    retrain_parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["retrain"]
    offered = {a.dest for a in retrain_parser._actions if a.option_strings} - {
        "help",
        "data",
        "store",  # where the data comes from, like --data (tests/training/test_retrain_store.py)
        "registry",
        "name",
        "max_regression",
        "force",
        "keep",
        # whether to train at all, from live accuracy (tests/training/test_retrain_degraded.py)
        "if_degraded",
        "live_days",
        "degraded_margin",
        # where the run happens, not what it trains (tests/training/test_ray.py)
        "engine",
        "address",
        "workers",
        "cpus_per_worker",
        "threads",
    }
    values = {
        "cell": "gru",
        "hidden": "6",
        "layers": "2",
        "dropout": "0.1",
        "transform": "none",
        "epochs": "2",
        "patience": "2",
        "lr": "0.01",
        "augment": "0.1",
        "ensemble": "1",
        "seed": "7",
    }
    assert offered == set(values) | set(GLOBAL_ONLY_FLAGS), "a new retrain flag needs a value here"
    return values


# Flags retrain offers for global champions only, with a valid value for the tiny global model of conftest.
GLOBAL_ONLY_FLAGS = {
    "steps": "11",
    "patch": "7",
    "seasonal_lags": "2",
    "metric": "mase",
    "scaling": "mase",
    "trend": "drift",
    "patience_steps": "500",
    "weight_decay": "0.01",
    "base_lag": "7",
    "base_seasons": "2",
}


@pytest.mark.parametrize(
    "flag, value",
    sorted({**GLOBAL_ONLY_FLAGS, "hidden": "6", "lr": "0.01", "augment": "0.1", "ensemble": "2", "seed": "7"}.items()),
)
def test_global_champions_take_their_own_flags(global_registry, flag, value):
    from paxcast.service.cli.main import build_parser
    from paxcast.service.cli.options import overrides_from
    from paxcast.training.retrain.run import champion_config, read_champion

    args = build_parser().parse_args(["retrain", f"--{flag}"] + ([] if value == "True" else [value]))
    overrides = {k: v for k, v in overrides_from(args, retrainable=True).items() if v is not None}
    config = champion_config(read_champion(global_registry, "stations"), **overrides)
    assert str(getattr(config, flag)) == value


def test_a_flag_the_champions_shape_cannot_take_is_refused_in_one_line(global_registry):
    from paxcast.service.core.exceptions import UsageError
    from paxcast.training.retrain.run import champion_config, read_champion

    rule = r"^seasonal_lags \(3\) x season \(7\) exceeds the window \(14\)"
    with pytest.raises(UsageError, match=rule):  # retrain keeps the window: no flag can make it fit
        champion_config(read_champion(global_registry, "stations"), seasonal_lags=3)


def test_a_flag_of_the_other_kind_of_model_is_refused_in_one_line(registry, global_registry):
    from paxcast.service.core.exceptions import UsageError
    from paxcast.training.retrain.run import champion_config, read_champion

    with pytest.raises(UsageError, match=r"^--steps applies to global models; air_passengers is not one$"):
        champion_config(read_champion(registry, NAME), steps=5)
    with pytest.raises(UsageError, match=r"^--epochs applies to per-series models; stations is not one$"):
        champion_config(read_champion(global_registry, "stations"), epochs=3)


@pytest.mark.parametrize("flag, value", sorted(retrain_flags().items()))
def test_every_flag_retrain_offers_changes_the_challenger(registry, flag, value):
    """What `retrain --help` offers, retrain accepts: the flag reaches the challenger's settings (no training)."""
    from paxcast.service.cli.main import build_parser
    from paxcast.service.cli.options import overrides_from
    from paxcast.training.retrain.run import champion_config, read_champion

    args = build_parser().parse_args(["retrain", f"--{flag}"] + ([] if value == "True" else [value]))
    overrides = {k: v for k, v in overrides_from(args, retrainable=True).items() if v is not None}
    config = champion_config(read_champion(registry, NAME), **overrides)
    assert str(getattr(config, flag)) == value


@pytest.mark.slow
def test_retrain_with_augment_runs_end_to_end(registry, air_csv, capsys):
    assert retrain(registry, air_csv, "--augment", "0.1", "--epochs", "3", "--force") == 0
    new = current_version(registry, NAME)
    assert read_history(registry, NAME)[-1]["challenger"]["settings"]["augment"] == 0.1
    from paxcast.service.core.contract import read_card

    assert read_card(registry / NAME / new).hyperparameters.augment == 0.1


HOLD_THE_LOCK = """
import sys, time
from paxcast.service.core.publish import locked
with locked(sys.argv[1], "air_passengers"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_concurrent_run_is_refused_and_a_killed_holder_releases_the_lock(registry, air_csv, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(registry)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        before = snapshot(registry)
        assert retrain(registry, air_csv, *CRIPPLED) == 75
        lock = registry / NAME / ".lock"
        held = f"{lock} is held by another retrain or rollback (pid {holder.pid}); this run changed nothing"
        assert capsys.readouterr().err == f"paxcast retrain: {held}\n"
        assert snapshot(registry) == before
    finally:
        holder.kill()
        holder.wait(10)
    with locked(registry, NAME):  # the kernel dropped the dead holder's lock: no stale lock file to clean by hand
        pass


def add_version(registry):
    """A second complete version through the registry's own writer; returns its id."""
    from paxcast.service.core.publish import register

    base = registry / NAME
    old = current_version(registry, NAME)
    card = read_card(base / old)
    return register(
        registry,
        NAME,
        base / old / "model.onnx",
        lambda version, sha: card.model_copy(update={"version": version, "onnx_sha256": sha}),
        check=check_servable,
    )


def test_rollback_switches_current_and_is_logged(registry, capsys):
    first = current_version(registry, NAME)
    second = add_version(registry)
    assert current_version(registry, NAME) == second

    assert main(["models", "rollback", first, "--registry", str(registry)]) == 0
    assert capsys.readouterr().out == f"rolled back {NAME}: CURRENT {second} -> {first}\n"
    assert current_version(registry, NAME) == first
    (record,) = read_history(registry, NAME)
    assert {k: record[k] for k in ("event", "decision", "current", "previous")} == {
        "event": "rollback",
        "decision": "rolled back",
        "current": first,
        "previous": second,
    }

    assert main(["models", "rollback", first, "--registry", str(registry)]) == 0
    assert capsys.readouterr().out == f"{NAME}/{first} is already current; nothing changed\n"
    assert len(read_history(registry, NAME)) == 1


def test_rollback_refuses_unknown_and_damaged_versions(registry, capsys):
    first = current_version(registry, NAME)
    second = add_version(registry)
    assert main(["models", "rollback", "nope", "--registry", str(registry)]) == 1
    assert (
        capsys.readouterr().err
        == f"paxcast models: {registry / NAME / 'nope'}: no such version (versions: {first}, {second})\n"
    )
    with open(registry / NAME / first / "model.onnx", "ab") as handle:
        handle.write(b"tampered")
    assert main(["models", "rollback", first, "--registry", str(registry)]) == 1
    assert "does not match model.json" in capsys.readouterr().err
    assert current_version(registry, NAME) == second and read_history(registry, NAME) == []


def test_models_list_and_show(registry, capsys):
    first = current_version(registry, NAME)
    second = add_version(registry)
    assert main(["models", "list", "--registry", str(registry)]) == 0
    header, newest, oldest = capsys.readouterr().out.splitlines()
    assert header.split() == ["version", "created_at", "validation", "data"] and " MAPE " in newest
    assert (
        newest.startswith(f"* {second}")
        and oldest.startswith(f"  {first}")
        and "air_passengers.csv (144 rows)" in oldest
    )
    assert main(["models", "show", "--registry", str(registry)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == second
    assert main(["models", "show", first, "--registry", str(registry)]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == first


@pytest.mark.slow
def test_retrain_prunes_to_keep_but_never_the_current_version(registry, air_csv, capsys):
    oldest = current_version(registry, NAME)
    middle = [add_version(registry) for _ in range(3)]
    assert main(["models", "rollback", oldest, "--registry", str(registry)]) == 0
    (registry / NAME / ".trash-leftover").mkdir()  # as a killed prune would leave it

    assert retrain(registry, air_csv, *CRIPPLED, "--keep", "2") == 0
    assert list_versions(registry, NAME) == sorted([oldest, *middle[-2:]])
    record = read_history(registry, NAME)[-1]
    assert record["decision"] == "kept" and record["pruned"] == [middle[0]]
    assert not (registry / NAME / ".trash-leftover").exists()
    assert f"; pruned {middle[0]} (" in capsys.readouterr().out


def test_history_survives_a_torn_last_line(registry):
    from paxcast.service.core.history import append_history

    path = registry / NAME / "history.jsonl"
    path.write_text('{"event":"retrain","decision":"kept"}\n{"event":"retr')  # a writer killed mid-line
    append_history(registry, NAME, {"event": "rollback"})
    assert path.read_text().splitlines()[-1] == '{"event":"rollback"}'
    assert read_history(registry, NAME) == [{"event": "retrain", "decision": "kept"}, {"event": "rollback"}]
    assert os.stat(path).st_mode & 0o777 == 0o644


@pytest.mark.slow
def test_a_promotion_whose_history_line_cannot_be_written_is_undone(registry, air_csv, monkeypatch, capsys):
    import paxcast.training.retrain.run as retrain_module

    champion = current_version(registry, NAME)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(retrain_module, "append_history", disk_full)
    assert retrain(registry, air_csv, "--force") == 1
    assert capsys.readouterr().err == "paxcast retrain: [Errno 28] No space left on device\n"
    assert current_version(registry, NAME) == champion


def test_a_promoting_line_whose_switch_never_happened_is_completed_as_abandoned(registry):
    from paxcast.service.core.history import append_history, reconcile_history

    champion = current_version(registry, NAME)
    append_history(
        registry,
        NAME,
        {"event": "retrain", "run": "r1", "decision": "promoting", "reason": "forced", "current": "29990101T000000Z"},
    )
    (fixed,) = reconcile_history(registry, NAME)
    (record,) = read_history(registry, NAME)
    assert record == fixed
    assert record["decision"] == "abandoned" and record["current"] == champion and record["run"] == "r1"
    assert record["reason"] == "forced; the run was stopped before it switched CURRENT"
    assert reconcile_history(registry, NAME) == []  # once


def test_a_promoting_line_followed_by_a_rollback_away_from_it_is_completed_as_promoted(registry):
    from paxcast.service.core.history import append_history, reconcile_history

    champion = current_version(registry, NAME)
    append_history(
        registry,
        NAME,
        {"event": "retrain", "run": "r2", "decision": "promoting", "reason": "forced", "current": "29990101T000000Z"},
    )
    append_history(
        registry,
        NAME,
        {"event": "rollback", "decision": "rolled back", "current": champion, "previous": "29990101T000000Z"},
    )
    (fixed,) = reconcile_history(registry, NAME)
    assert fixed["decision"] == "promoted" and fixed["current"] == "29990101T000000Z" and fixed["reason"] == "forced"
    assert [r["event"] for r in read_history(registry, NAME)] == ["retrain", "rollback"]
