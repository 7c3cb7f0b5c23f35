"""Make-up workdays (issue 32): the `offday` column from the holidays package or a holiday file's `type` column,
present only when the source knows a swapped weekend day, and rebuilt from the card as the model trained on it."""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from paxcast.service.core.contract import CalendarSpec
from paxcast.service.core.covariates import Calendar, CalendarError, timestamps
from paxcast.service.core.registry import current_version

ROOT = Path(__file__).parents[2]


def offday(calendar: Calendar, start: str, days: int) -> list[int]:
    x = calendar.features(timestamps(start, calendar.freq, days * (24 if calendar.freq == "h" else 1)))
    return x[:: 24 if calendar.freq == "h" else 1, calendar.names.index("offday")].astype(int).tolist()


def test_the_package_s_chinese_swaps_are_the_ones_the_tests_assert():
    import holidays

    cn = holidays.country_holidays("CN", years=range(2018, 2020))
    assert {dt.date(2018, 12, 29), dt.date(2019, 2, 2), dt.date(2019, 2, 3)} <= cn.weekend_workdays
    assert dt.date(2018, 12, 31) in cn and dt.date(2019, 2, 4) in cn  # the bridge days they pay for


@pytest.mark.parametrize("freq", ["D", "h"])
def test_a_worked_saturday_is_a_workday_and_a_bridge_day_is_off(freq):
    calendar = Calendar(freq, country="CN")
    assert calendar.names[-2:] == ("after_holiday", "offday")
    # Fri 2018-12-28 .. Sun 2019-01-06: Saturday worked, Sunday off, Monday bridged to New Year's Day
    assert offday(calendar, "2018-12-28", 10) == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
    # Sat 2019-02-02 and Sun 2019-02-03 worked before the Spring Festival week from Monday 2019-02-04
    assert offday(calendar, "2019-02-01", 5) == [0, 0, 0, 1, 1]


@pytest.mark.parametrize(
    "freq, country, subdiv, columns",
    [("D", "KR", None, 12), ("h", "AU", "VIC", 16), ("h", "IN", None, 16), ("h", "IN", "KA", 16)],
    ids=["seoul", "melbourne", "india", "bengaluru"],
)
def test_calendars_without_swaps_keep_their_columns(freq, country, subdiv, columns):
    calendar = Calendar(freq, country=country, subdiv=subdiv)
    assert len(calendar.names) == columns and "offday" not in calendar.names


@pytest.mark.parametrize("name", ["seoul_subway_daily", "melbourne_pedestrian_hourly"])
def test_the_shipped_cards_hold_no_workdays_and_rebuild_their_calendar(name):
    version_dir = ROOT / "models" / name / current_version(ROOT / "models", name)
    written = json.loads((version_dir / "model.json").read_text(encoding="utf-8"))["covariates"]
    spec = CalendarSpec.model_validate(written)
    assert "workdays" not in written and spec.model_dump(mode="json") == written
    assert list(Calendar.of("h" if "hourly" in name else "D", spec).names) == written["names"]


def test_a_card_trained_without_offday_keeps_its_columns_where_the_package_knows_swaps():
    """A holidays package that learns a country's swaps after a model was trained must not change its inputs."""
    names = list(Calendar("D", country="KR").names)
    assert list(Calendar.of("D", CalendarSpec(names=names, country="CN")).names) == names


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_holiday_file_s_type_column_gives_workdays_and_the_card_rebuilds_them(tmp_path):
    days = write(
        tmp_path / "days.csv",
        "ds,type,name\n2018-12-29,Workday,swap\n2018-12-31,holiday,bridge\n2019-01-01,HOLIDAY,new year\n",
    )
    calendar = Calendar("D", holiday_csv=days)
    assert offday(calendar, "2018-12-28", 10) == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
    spec = calendar.spec("days.csv")
    assert spec.workdays == [dt.date(2018, 12, 29)] and spec.holidays == [dt.date(2018, 12, 31), dt.date(2019, 1, 1)]
    rebuilt = Calendar.of("D", CalendarSpec.model_validate_json(spec.model_dump_json()))
    ds = timestamps("2018-12-01", "D", 60)
    assert np.array_equal(rebuilt.features(ds), calendar.features(ds))


def test_a_holiday_file_without_workdays_has_no_offday_and_writes_none(tmp_path):
    calendar = Calendar("D", holiday_csv=write(tmp_path / "h.csv", "ds,type\n2019-01-01,holiday\n"))
    assert "offday" not in calendar.names
    assert "workdays" not in json.loads(calendar.spec("h.csv").model_dump_json())


@pytest.mark.parametrize(
    "text, message",
    [
        ("ds,type\n2019-01-01,holiday\n2019-01-05,day off\n", "line 3: type 'day off' is neither 'holiday' nor"),
        ("ds,type\n2019-01-01,\n", "line 2: type '' is neither 'holiday' nor 'workday' (any case)"),
        (
            "ds,type\n2018-12-29,workday\n2018-12-31,holiday\n2018-12-29,Holiday\n",
            "line 4: 2018-12-29 is given as a holiday here and as a workday on line 2; a date is one or the other",
        ),
    ],
    ids=["unknown-type", "empty-type", "both"],
)
def test_a_bad_type_in_a_holiday_file_stops_with_one_line(tmp_path, text, message):
    path = write(tmp_path / "days.csv", text)
    with pytest.raises(CalendarError) as info:
        Calendar("D", holiday_csv=path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)


def test_a_card_with_workdays_but_no_holiday_list_is_refused():
    with pytest.raises(ValueError, match="workdays are a holiday file's dates"):
        CalendarSpec(names=["holiday"], country="CN", workdays=[dt.date(2018, 12, 29)])
