import subprocess
import sys

import pytest

from paxcast.service.cli.main import main
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "paxcast.service.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def test_train_registers_a_version_the_service_loads(tmp_path, air_csv, capsys):
    out = tmp_path / "m"
    code = main(
        [
            "train",
            "--data",
            str(air_csv),
            "--horizon",
            "12",
            "--out",
            str(out),
            "--window",
            "24",
            "--hidden",
            "8",
            "--epochs",
            "5",
            "--ensemble",
            "1",
        ]
    )
    assert code == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("registered air_passengers/") and "inner MAPE" in line and "intervals calibrated" in line
    assert "\n" not in line  # one summary line when stdout is not a terminal
    predictor = Predictor.load(out / "air_passengers" / current_version(out, "air_passengers"))
    assert predictor.horizon == 12 and predictor.window == 24


@pytest.mark.slow  # a real `paxcast` process: imports torch (seconds)
@pytest.mark.parametrize(
    "content, expected",
    [
        ("ds,y\n2020-01-01,1\n2020-02-01,x\n", "line 3: y 'x' is not a number"),
        ("ds,y\n2020-01-01,1\n2020-02-01,2\n", "series 'series' has 2 rows"),
    ],
    ids=["bad-value", "too-short"],
)
def test_bad_data_is_one_line_on_stderr_and_no_traceback(tmp_path, content, expected):
    data = tmp_path / "in.csv"
    data.write_text(content)
    result = run_cli("train", "--data", str(data), "--out", str(tmp_path / "m"))
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(data) in lines[0]
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_impossible_settings_are_one_line(tmp_path, air_csv):
    result = run_cli("train", "--data", str(air_csv), "--window", "6", "--out", str(tmp_path / "m"))
    assert result.returncode == 2
    assert result.stderr.strip() == "paxcast train: window (6) must exceed the season (12)"


def test_a_gap_is_refused_by_the_per_series_model(tmp_path, capsys):
    from paxcast.service.cli.main import main

    data = tmp_path / "gap.csv"
    data.write_text("ds,y\n2020-01-01,1\n2020-02-01,2\n2020-04-01,3\n")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m")]) == 3
    assert capsys.readouterr().err == (
        f"paxcast train: {data}: series 'series' has 1 missing timestamps (first 2020-03-01); "
        "the per-series model needs a complete series\n"
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("name", ["../evil", "a b/ c", ".hidden", ""])
def test_a_name_that_is_not_one_registry_directory_is_refused_before_any_training(tmp_path, air_csv, capsys, name):
    from paxcast.service.cli.main import main

    assert main(["train", "--data", str(air_csv), "--out", str(tmp_path / "m"), "--name", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"paxcast train: --name {name!r}: a model name is") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing created inside or outside --out


def test_the_default_model_name_is_the_data_files_name(tmp_path, capsys):
    from paxcast.service.cli.options import model_name_from

    # it used to be air_passengers whatever the file: a weekly file became the serving default's next version
    assert model_name_from("data/seoul_subway_daily/seoul_subway_daily.csv.gz") == "seoul_subway_daily"
    assert model_name_from("/tmp/weekly300.csv") == "weekly300"
    bad = tmp_path / "my counts.csv"
    bad.write_text("ds,y\n2020-01-01,1\n")
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"paxcast train: --data {bad}: the file's name 'my counts' is not a model name; give --name"
    )
