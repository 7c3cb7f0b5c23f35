"""The zero-shot series (data/unseen/) as data/unseen/README.md states them, and bench/general_unseen.py's protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.general_unseen import load_cases, main, protocol
from paxcast.training.data import read_series
from tests.conftest import ROOT

UNSEEN = ROOT / "data" / "unseen"

# id, file, freq, values, first ds, last ds: the table of data/unseen/README.md
STATED = [
    ("elec_equip", "monthly.csv.gz", "MS", 257, "1995-01-01", "2016-05-01"),
    ("wineind", "monthly.csv.gz", "MS", 176, "1980-01-01", "1994-08-01"),
    ("seoul_subway_total", "monthly.csv.gz", "MS", 49, "2016-01-01", "2020-01-01"),
    ("melbourne_pedestrian_total", "monthly.csv.gz", "MS", 37, "2012-01-01", "2015-01-01"),
    ("austres", "quarterly.csv.gz", "QS", 89, "1971-04-01", "1993-04-01"),
    ("woolyrnq", "quarterly.csv.gz", "QS", 119, "1965-01-01", "1994-07-01"),
    ("ausbeer", "quarterly.csv.gz", "QS", 211, "1956-01-01", "2008-07-01"),
]


@pytest.mark.parametrize("file", ["monthly.csv.gz", "quarterly.csv.gz"])
def test_unseen_files_hold_the_series_the_readme_states(file):
    stated = {row[0]: row[2:] for row in STATED if row[1] == file}
    series = {s.id: s for s in read_series(UNSEEN / file)}
    assert sorted(series) == sorted(stated)
    cases = {c.series.id: c for c in load_cases(list(stated))}
    for sid, (freq, n, first, last) in stated.items():
        s = series[sid]
        assert (s.freq, len(s.y), s.start, s.missing) == (freq, n, first, 0), sid
        assert cases[sid].date(n - 1) == last
        assert (s.y > 0).all(), sid


def test_protocol_cuts_air_passengers_at_the_1958_1960_hold_out():
    (case,) = load_cases(["air_passengers"])
    y = case.series.y
    assert case.origins == [108, 120, 132] and case.horizon == 12
    assert case.labels == ["1957-12-01", "1958-12-01", "1959-12-01"]
    assert [len(h) for h in case.histories] == case.origins
    np.testing.assert_array_equal(case.actuals, y[-36:].reshape(3, 12))
    assert case.date(case.origins[0]) == "1958-01-01"


@pytest.mark.parametrize(
    ("n", "season", "origins"),
    [(144, 12, [108, 120, 132]), (49, 12, [25, 37]), (37, 12, [25]), (89, 4, [77, 81, 85]), (35, 12, [])],
    ids=["air", "seoul", "melbourne", "austres", "too-short"],
)
def test_protocol_keeps_origins_that_leave_two_seasons(n, season, origins):
    assert protocol(n, season) == origins


def test_bench_scores_a_monthly_series_through_the_predictor(general_registry, tmp_path, capsys):
    """End to end on wineind with the tiny fixture model: the service's answer, scored beside seasonal naive."""
    report = main(
        ["--registry", str(general_registry), "--series", "wineind", "--peers", "SeasonalNaive", "--out", str(tmp_path)]
    )
    assert "not the tourism training file" in (tmp_path / "general_unseen.md").read_text()
    assert "warning: general_monthly was trained on train.csv" in capsys.readouterr().out
    assert json.loads((tmp_path / "general_unseen.json").read_text())["results"][0]["series"] == "wineind"
    (result,) = report["results"]
    assert result["origins"] == ["1991-08-01", "1992-08-01", "1993-08-01"]
    ours, naive = result["scores"]["ours"], result["scores"]["SeasonalNaive"]
    assert ours["points"] == naive["points"] == 36 and np.isfinite(ours["mase"]) and 0 <= ours["coverage95"] <= 100
    # Seasonal naive's MASE by hand: the last season repeated, over each history's in-sample seasonal-naive MAE.
    (case,) = load_cases(["wineind"])
    by_hand = [
        np.mean(np.abs(h[-12:] - a)) / np.mean(np.abs(h[12:] - h[:-12]))
        for h, a in zip(case.histories, case.actuals, strict=True)
    ]
    assert naive["mase"] == pytest.approx(np.mean(by_hand))


def test_a_routed_call_replaces_the_graph_and_leaves_the_module_alone(general_registry, tmp_path):
    """`main(call=...)` (bench.general_mix, bench.general_selection): every graph call of the loaded predictors goes
    through the call, which sees the real session, and nothing is left patched for the next run."""
    import paxcast.service.inference.predictor as predictor

    args = ["--registry", str(general_registry), "--series", "wineind", "--peers", "SeasonalNaive"]
    args += ["--out", str(tmp_path)]
    plain = main(args)["results"][0]["scores"]["ours"]["mean"]
    calls = []

    def doubled(session, history, calendar):
        calls.append(history.shape)
        return 2 * predictor.run_session(session, history, calendar)

    report = main(args, call=doubled)
    routed = report["results"][0]["scores"]["ours"]["mean"]
    assert report["routed"].endswith("doubled") and "went through `" in (tmp_path / "general_unseen.md").read_text()
    assert len(calls) == 3  # one request per origin
    np.testing.assert_allclose(routed, 2 * np.asarray(plain), rtol=1e-4)
    assert main(args)["results"][0]["scores"]["ours"]["mean"] == plain


def test_bench_scores_another_file_by_the_same_protocol(general_registry, tmp_path):
    """`--data`: the series bench.general_corpus writes from the repo's other sources, scored as the unseen are."""
    from bench.general_corpus import main as build

    monthly, _ = build(["--out", str(tmp_path)])
    report = main(
        ["--registry", str(general_registry), "--data", str(monthly), "--series", "air_passengers_to_1957"]
        + ["--peers", "SeasonalNaive", "--out", str(tmp_path)]
    )
    (result,) = report["results"]
    assert result["origins"] == ["1954-12-01", "1955-12-01", "1956-12-01"]  # nothing after 1957: the hold-out


def test_bias_probe_prints_each_series_history_length_and_trend(general_registry, capsys):
    from bench.general_bias import YEARLY
    from bench.general_bias import main as probe

    probe(["--registry", str(general_registry)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["flat", "rising", "falling"]
    assert lines[3].startswith("flat, by history length: 36: ") and "24: " in lines[3]  # the tiny model's window
    assert len(lines) == 4 + len(YEARLY)


def test_drift_of_a_series_growing_ten_percent_a_year():
    from bench.general_drift import ratios

    ratio, trend = ratios(100 * 1.1 ** (np.arange(120) / 12), window=72, horizon=24, season=12)
    assert len(ratio) == 120 - 96 + 1
    np.testing.assert_allclose(ratio, (1.1 + 1.21) / 2)  # a year ahead x1.1, two years x1.21: the median of 24
    np.testing.assert_allclose(trend, 1.1**5)


def test_groups_average_each_group_alike_and_measure_our_bias():
    from bench.general_unseen_report import groups

    def result(series: str, ours: float, naive: float, ratio: float) -> dict:
        scores = {"ours": {"mase": ours, "mean": [[ratio * 100.0] * 2]}, "SeasonalNaive": {"mase": naive}}
        return {
            "series": series,
            "actuals": [[100.0, 100.0]],
            "scores": scores,
            "wins": {"mase": {"beats_sn": ours < naive}},
        }

    out = groups(
        [result("seoul/a", 1.0, 2.0, 1.1), result("seoul/b", 3.0, 2.0, 1.3), result("air", 0.5, 1.0, 0.9)],
        ["SeasonalNaive"],
    )
    seoul, air = out
    assert (seoul["group"], seoul["series"], seoul["beats_sn"]) == ("seoul", 2, 1)
    assert seoul["mase"] == {"ours": 2.0, "SeasonalNaive": 2.0} and seoul["bias_pct"] == pytest.approx(20.0)
    assert (air["group"], air["series"], air["bias_pct"]) == ("air", 1, pytest.approx(-10.0))
