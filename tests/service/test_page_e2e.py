"""The web page in a real headless Chromium against a real `paxcast serve`: pick, forecast, chart, upload, history.

Playwright for Python drives Debian's chromium (`executable_path`; nothing is downloaded).
The server serves the committed air_passengers model and the same model again as 'metro',
whose card names a small gzipped station data set; no model is trained here.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
from web_data import ROOT, add_model_copy, write_history, write_stations

from tests.serving import serve, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CHROMIUM = os.environ.get("PAXCAST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "docs" / "img" / "page.png"


def require_browser() -> None:
    """Skip, saying what is missing, unless CI=true: there the browser tests must run."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (dev extra)")
    if not Path(CHROMIUM).is_file():
        missing.append(f"chromium at {CHROMIUM} (apt-get install chromium)")
    if missing:
        reason = (
            f"browser tests need {' and '.join(missing)}; `make test` installs them (chromium only when run as root)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: they must run)")
        pytest.skip(reason)


@contextlib.contextmanager
def serving(registry: Path, data_dir: Path, log: Path):
    """`paxcast serve` (tests.serving, the one starter) with the page's data directory; yields its base URL."""
    with serve(registry, log, cwd=log.parent, data_dir=data_dir) as server:
        yield server.base


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("page")
    registry, data_dir = tmp / "models", tmp / "data"
    shutil.copytree(ROOT / "models" / "air_passengers", registry / "air_passengers")
    add_model_copy(registry, "air_passengers", "metro", "metro_monthly.csv.gz")
    write_history(registry, "metro")
    add_model_copy(registry, "air_passengers", "elsewhere", "not_installed.csv")  # its data set is not here
    data_dir.mkdir()
    shutil.copy(ROOT / "data" / "air_passengers.csv", data_dir)
    write_stations(data_dir, skip=("ST02", 50))  # Jamsil misses 2019-03
    # The shipped global station model and its data set: a calendar-aware model the page must post `start` to.
    shutil.copytree(ROOT / "models" / "seoul_subway_daily", registry / "seoul_subway_daily")
    shutil.copytree(ROOT / "data" / "seoul_subway_daily", data_dir / "seoul_subway_daily")
    # The shipped general monthly model: its corpus (tourism) is not a data set the page lists.
    shutil.copytree(ROOT / "models" / "general_monthly", registry / "general_monthly")
    with serving(registry, data_dir, tmp / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(base):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def opened(browser, url: str, base: str):
    """A fresh page at `url`; afterwards: no script error, and no request left 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors, elsewhere = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda request: None if request.url.startswith((base, "data:", "blob:")) else elsewhere.append(request.url),
    )
    page.goto(url)
    page.wait_for_selector('body[data-ready="true"]', state="attached")
    yield page
    context.close()
    assert errors == [] and elsewhere == []


@pytest.fixture
def page(browser, base):
    with opened(browser, base + "/", base) as page:
        yield page


def choose_model(page, name: str) -> None:
    page.select_option("#model", name)
    page.wait_for_selector('body[data-ready="true"]', state="attached")
    assert page.text_content("#card-facts li").startswith(name + ",")


def drawn(page) -> dict:
    """What the uPlot instance holds; the band's semi-transparent red pixels left and right of the first forecast x."""
    return page.evaluate("""() => {
        const u = window.paxcastChart, count = (a) => a.filter((v) => v != null).length;
        const n = count(u.data[1]), x0 = Math.round(u.valToPos(u.data[0][n], 'x', true));
        const canvas = document.querySelector('#chart canvas'), ctx = canvas.getContext('2d');
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let before = 0, after = 0;
        for (let i = 0; i < pixels.length; i += 4) {
            const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
            if (r > 120 && g < 90 && b < 90 && a > 10 && a < 160) {
                if ((i / 4) % canvas.width < x0 - 2) before++; else after++;
            }
        }
        return {series: u.data.map(count), labels: u.series.map((s) => s.label), before, after,
                // 95% lower <= 80% lower <= mean <= 80% upper <= 95% upper at every forecast step
                sorted: u.data[2].every((m, i) => m == null || [3, 5, 2, 6, 4].every(
                    (k, j, order) => j === 0 || u.data[order[j - 1]][i] <= u.data[k][i]))};
    }""")


def test_a_station_forecast_draws_history_forecast_and_both_bands(page, tmp_path):
    choose_model(page, "metro")
    page.fill("#series-search", "jams")
    page.wait_for_function("() => document.querySelectorAll('#series-list option').length === 1")
    assert page.input_value("#series-list") == "ST02"
    assert page.text_content("#series-list option") == "Jamsil (Line 2) · ST02"
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-table tbody tr")
    chart = drawn(page)
    # x, history (twice the 36-step horizon, less the missing month: a gap in the line), forecast,
    # then 95 % and 80 % lower/upper: the model's 36 steps each
    assert chart["series"] == [96, 59, 36, 36, 36, 36, 36]
    assert page.text_content("#notice") == "1 missing value was filled by linear interpolation before forecasting."
    assert chart["labels"][1:] == ["history", "forecast", "95% lower", "95% upper", "80% lower", "80% upper"]
    assert chart["sorted"], "95% lower <= 80% lower <= mean <= 80% upper <= 95% upper"
    # the bands are painted, over the forecast only (a few anti-aliased pixels at the edge aside)
    assert chart["after"] > 2000 and chart["before"] < chart["after"] / 1000, chart
    assert page.get_attribute("#chart", "data-forecast-points") == "36"
    rows = page.locator("#forecast-table tbody tr")
    assert rows.count() == 36
    assert (
        rows.first.locator("th").text_content() == "2020-01-01"
        and rows.last.locator("th").text_content() == "2022-12-01"
    )
    assert "Jamsil (Line 2): 60 values from 2015-01-01" in page.text_content("#chart-caption")
    with page.expect_download() as download:
        page.click("#download")
    lines = Path(download.value.path()).read_text().splitlines()
    assert download.value.suggested_filename == "paxcast-metro-ST02.csv"
    assert lines[0] == "unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95" and len(lines) == 37
    assert lines[1].startswith("ST02,2020-01-01,")


def test_a_global_station_model_forecasts_a_shipped_station_with_its_calendar(page):
    """The page sends `start` (the model reads weekdays and holidays from it) and labels days."""
    choose_model(page, "seoul_subway_daily")
    # its card scores validation by WAPE (no MAPE at zero-passenger nights): shown, never a dash-percent
    facts = page.text_content("#card-facts")
    assert (
        "Inner validation: WAPE 8.16% against 16.61%, MASE 0.622 against 1.198 for its baseline, seasonal naive, lag 7"
        in facts
    )
    assert "–%" not in facts
    page.fill("#series-search", "강남 2호선")
    page.wait_for_function("() => document.querySelectorAll('#series-list option').length === 1")
    assert page.input_value("#series-list") == "SEL0011"
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-table tbody tr")
    assert page.is_hidden("#error")
    rows = page.locator("#forecast-table tbody tr")
    assert rows.count() == 28
    # the data end on 2020-09-30: the forecast runs through October 2020, one row per day
    assert rows.first.locator("th").text_content() == "2020-10-01"
    assert rows.last.locator("th").text_content() == "2020-10-28"
    chart = drawn(page)
    assert chart["series"][2] == 28 and chart["sorted"]
    # x, then 8 weeks of history (twice the horizon) before the 4-week forecast, not just the 28-day window
    assert chart["series"][:2] == [56 + 28, 56]


def test_the_general_model_forecasts_a_pasted_history_shorter_than_its_window(page):
    """30 months posted to a model that reads 72: the service pads them; the page labels the months."""
    choose_model(page, "general_monthly")
    assert page.is_checked("input[name=source][value=paste]")
    history = [310, 402, 455, 330, 322, 415, 470, 341, 335, 431, 489, 350] * 2 + [352, 440, 501, 366, 345, 452]
    page.fill("#paste-values", " ".join(map(str, history)))
    page.fill("#paste-start", "2018-01-01")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-table tbody tr")
    assert page.is_hidden("#error")
    rows = page.locator("#forecast-table tbody tr")
    assert rows.count() == 24  # the model's horizon, the page's default
    assert rows.first.locator("th").text_content() == "2020-07-01"
    assert rows.last.locator("th").text_content() == "2022-06-01"
    assert drawn(page)["sorted"]


def test_an_uploaded_csv_with_an_error_names_the_line_and_the_rule(page, tmp_path):
    page.check("input[name=source][value=upload]")
    page.set_input_files(
        "#upload-file",
        files=[
            {"name": "bad.csv", "mimeType": "text/csv", "buffer": b"unique_id,ds,y\nx,1960-01-01,1\nx,1960-02-01,abc\n"}
        ],
    )
    page.wait_for_function("() => document.querySelector('#upload-error').textContent !== ''")
    assert page.text_content("#upload-error") == "bad.csv: line 3: y 'abc' is not a number"
    assert page.get_attribute("#upload-file", "aria-invalid") == "true"
    # a well-formed but short file reaches the API, whose 422 detail is shown in words instead of a chart
    short = "unique_id,ds,y\n" + "".join(f"x,1960-{m:02d}-01,{400 + m}\n" for m in range(1, 13))
    page.set_input_files(
        "#upload-file", files=[{"name": "short.csv", "mimeType": "text/csv", "buffer": short.encode()}]
    )
    page.wait_for_function("() => !document.querySelector('#upload-series').disabled")
    assert (
        page.text_content("#upload-error") == ""
        and page.text_content("#upload-series option") == "x (12 monthly values)"
    )
    page.click("#forecast-button")
    page.wait_for_selector("#error:not([hidden])")
    assert page.text_content("#error") == "Series 'x': history has 12 values, the model needs at least 36."
    assert page.is_visible("#chart-placeholder") and "No forecast to show" in page.text_content("#chart-placeholder")
    assert "Traceback" not in page.content()


def test_pasted_values_are_checked_in_the_page_and_the_keyboard_reaches_everything(page):
    page.check("input[name=source][value=paste]")
    page.fill("#paste-values", "112, 118\n132 abc")
    page.focus("#horizon")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_function("() => document.querySelector('#paste-error').textContent !== ''")
    assert page.text_content("#paste-error") == "value 4: 'abc' is not a number"
    history = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118] * 3
    page.fill("#paste-values", " ".join(map(str, history)))
    page.fill("#paste-start", "1958-01-01")
    page.fill("#horizon", "6")
    page.focus("#levels")
    page.keyboard.press("Enter")
    page.wait_for_selector("#forecast-table tbody tr")
    assert page.locator("#forecast-table tbody tr").count() == 6
    assert page.locator("#forecast-table tbody th").first.text_content() == "1961-01-01"
    page.fill("#levels", "80, 150")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#levels-error').textContent !== ''")
    assert page.text_content("#levels-error") == "level 150 is outside (0, 100)"
    # the search box hands over to the list with the arrow key
    page.check("input[name=source][value=shipped]")
    page.focus("#series-search")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == "series-list"


def test_the_history_timeline_lists_each_retrain_newest_first(page):
    choose_model(page, "metro")
    page.wait_for_function("() => document.querySelectorAll('#history-list li').length === 2")
    assert page.text_content("#history-summary") == "Registry history: 2 events, newest first"
    assert not page.is_visible("#history-list")
    page.click("#history summary")
    assert page.is_visible("#history-list")
    items = page.locator("#history-list li")
    newest, oldest = items.nth(0).text_content(), items.nth(1).text_content()
    assert newest.startswith("promoted2026-11-02 03:00 UTC · serving V2")
    assert "Challenger V2 scored MAPE 6.00%; champion V1 7.20% on a hold-out of 108 points." in newest
    assert (
        oldest.startswith("kept2026-10-02 03:00 UTC · serving V1")
        and "Challenger (not registered) scored MAPE 9.10%" in oldest
    )
    assert "Data: incoming/metro.csv, 180 rows, 3 series." in oldest


def test_a_model_without_its_data_set_offers_paste_and_upload(page):
    choose_model(page, "elsewhere")
    assert page.is_checked("input[name=source][value=paste]") and page.is_visible("#paste-values")
    assert page.text_content("#series-note") == (
        "The data set not_installed.csv is not installed with this service. Paste values or upload a CSV instead."
    )
    choose_model(page, "metro")  # back to a model with data: the list again
    assert page.is_checked("input[name=source][value=shipped]") and page.locator("#series-list option").count() == 3


def test_at_phone_width_nothing_scrolls_sideways(browser, base):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector('body[data-ready="true"]', state="attached")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-table tbody tr")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels.length).map(e => e.id)"
    )
    assert unlabelled == []
    assert page.evaluate("document.querySelector('#chart canvas').getBoundingClientRect().right") <= 360
    context.close()


def test_screenshot_of_a_real_forecast_for_the_readme(page):
    """The committed air_passengers model forecasting its own series: the picture in the README."""
    choose_model(page, "air_passengers")
    page.wait_for_selector("#series-list option", state="attached")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-table tbody tr")
    assert drawn(page)["series"][2] == 36
    # the committed registry holds a `paxcast backtest --holdout 36` document: the LSTM, its baseline and four others
    assert page.locator("#backtest tbody tr").count() == 6
    assert page.locator("#backtest tbody th").first.text_content() == "LSTM (paxcast)"
    page.click("#history summary")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000


# The rules the page checks before anything is sent, on files that break one each: the same line
# and the same words as the CLI's reader (paxcast.training.data), less its file-name prefix.
BROKEN_FILES = {
    "empty": "",
    "no-y-column": "unique_id,ds,value\na,2020-01-01,1\n",
    "header-only": "unique_id,ds,y\n",
    "short-row": "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01\n",
    "empty-id": "unique_id,ds,y\na,2020-01-01,1\n,2020-02-01,2\n",
    "bad-date": "unique_id,ds,y\na,2020-01-01,1\na,2020-13-01,2\n",
    "bad-number": "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,abc\n",
    "infinite": "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,inf\n",
    "single-row": "unique_id,ds,y\na,2020-01-01,1\n",  # with other series, it takes their frequency
    "beyond-1e30": "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,-2e31\n",
    "mixed-frequency": "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,2\nb,2020-01-01,1\nb,2020-01-02,2\n",
    "duplicate": "unique_id,ds,y\na,2020-01-01,1\na,2020-01-01,2\n",
    "unsorted": "unique_id,ds,y\na,2020-02-01,1\na,2020-01-01,2\n",
}


def test_the_page_refuses_a_broken_csv_with_the_cli_s_line_and_words(page, tmp_path):
    from paxcast.training.data import DataError, read_series

    differ = {}
    for case, text in BROKEN_FILES.items():
        path = tmp_path / f"{case}.csv"
        path.write_text(text)
        with pytest.raises(DataError) as cli:
            read_series(path)
        in_page = page.evaluate(
            "t => { try { paxcastInput.parseLongCsv(t); return 'accepted'; } catch (e) { return e.message; } }", text
        )
        if in_page != str(cli.value).removeprefix(f"{path}: "):
            differ[case] = (in_page, str(cli.value))
    assert differ == {}
    new_station = "unique_id,ds,y\na,2020-01-01,1\na,2020-02-01,2\nb,2020-02-01,5\n"  # one row: a's grid
    (tmp_path / "new.csv").write_text(new_station)
    assert [s.freq for s in read_series(tmp_path / "new.csv")] == ["MS", "MS"]
    parsed = page.evaluate("t => paxcastInput.parseLongCsv(t).map((s) => [s.id, s.freq, s.values])", new_station)
    assert parsed == [["a", "MS", [1, 2]], ["b", "MS", [5]]]


# ---------- the live accuracy view, against a server with a store that has scored forecasts ----------
INGEST_TOKEN, ADMIN_TOKEN = "page-ingest-token", "page-admin-token"
AIR = "air_passengers"
SECOND_VERSION = "20261201T000000Z"
MONTHLY_DAYS = 1096  # the window the page reads a monthly model over (accuracy.js DAYS)


def call(base: str, path: str, body: object = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, headers=headers), timeout=30) as r:
        return json.loads(r.read())


def add_version(registry: Path, name: str, version: str) -> None:
    """The served version again under a new version name, made CURRENT: a version change without training."""
    models = registry / name
    served = (models / "CURRENT").read_text().strip()
    shutil.copytree(models / served, models / version)
    card = json.loads((models / version / "model.json").read_text())
    (models / version / "model.json").write_text(json.dumps({**card, "version": version}, indent=2) + "\n")
    (models / "CURRENT").write_text(version + "\n")


@pytest.fixture(scope="module")
def live_base(tmp_path_factory):
    """A server whose store holds what an operator's loop leaves: AIR's forecasts of S and T (the air passengers
    history, start 1949-01) from 1958-12 by the committed version and from 1959-06 by a second one, 12 steps each
    with an 80 % interval, then the actuals: S the air passengers counts, T 1.5 times them (so T is served worst)."""
    require_browser()
    tmp = tmp_path_factory.mktemp("live")
    registry = tmp / "models"
    shutil.copytree(ROOT / "models" / AIR, registry / AIR)
    with (ROOT / "data" / "air_passengers.csv").open() as file:
        air = [float(row["y"]) for row in csv.DictReader(file)]
    settings = dict(store=f"sqlite:///{tmp / 'store.sqlite'}", ingest_token=INGEST_TOKEN, admin_token=ADMIN_TOKEN)
    with serve(registry, tmp / "serve.log", cwd=tmp, **settings) as server:

        def forecast(months: int) -> str:
            series = [{"id": s, "history": air[:months], "start": "1949-01-01"} for s in "ST"]
            body = {"series": series, "horizon": 12, "level": [80]}
            return call(server.base, f"/v1/models/{AIR}/forecast", body)["model"]["version"]

        first = forecast(120)
        add_version(registry, AIR, SECOND_VERSION)
        assert call(server.base, f"/v1/admin/reload?model={AIR}", {}, ADMIN_TOKEN)["model"]["version"] == SECOND_VERSION
        assert forecast(126) == SECOND_VERSION
        rows = [
            {"unique_id": s, "ds": f"{1949 + k // 12}-{k % 12 + 1:02d}-01", "y": air[k] * (1.5 if s == "T" else 1)}
            for s in "ST"
            for k in range(144)
        ]
        call(server.base, "/v1/actuals", {"rows": rows}, INGEST_TOKEN)
        # the forecast log writes in the background: the 2 series x 2 origins x 12 steps are scored once written
        wait_until(lambda: accuracy(server.base, "version")["overall"]["points"] == 48, 30, "48 logged steps scored")
        yield server.base, first


def accuracy(base: str, by: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"days": MONTHLY_DAYS, "by": by, **params}.items())
    return call(base, f"/v1/models/{AIR}/accuracy?{query}")


def live_drawn(page, chart: str) -> list[list]:
    """The data arrays of the accuracy view's chart `chart` (paxcastAccuracyChart or paxcastLiveChart)."""
    return page.evaluate(f"() => window.{chart}.data.map((column) => Array.from(column))")


def non_null(values: list) -> list:
    return [v for v in values if v is not None]


def test_the_accuracy_view_shows_live_wape_by_day_the_worst_series_and_their_served_forecasts(browser, live_base):
    base, first = live_base
    by_day, worst = accuracy(base, "day"), accuracy(base, "series", limit=10)
    with opened(browser, f"{base}/?model={AIR}", base) as page:
        page.wait_for_selector('#accuracy[data-state="shown"]', state="attached")
        page.wait_for_selector('#live[data-state="shown"]', state="attached")
        overall = by_day["overall"]
        assert page.text_content("#accuracy-note") == (
            f"Over the {MONTHLY_DAYS} days to 1960-12-01: WAPE {100 * overall['wape']:.1f}%: "
            f"{'better' if overall['wape'] < overall['naive']['wape'] else 'worse'} than seasonal naive's "
            f"{100 * overall['naive']['wape']:.1f}% on the same 48 forecast steps of 2 series."
        )
        # one point a month from 1959-01 to 1960-06, the route's WAPE and naive WAPE in percent
        xs, model, naive = live_drawn(page, "paxcastAccuracyChart")
        days = [g["day"] for g in by_day["groups"]]
        assert days[0] == "1959-01-01" and days[-1] == "1960-06-01" and len(days) == 18
        assert page.evaluate("(xs) => xs.map((x) => new Date(x * 1000).toISOString().slice(0, 10))", xs) == days
        assert model == pytest.approx([100 * g["wape"] for g in by_day["groups"]])
        assert naive == pytest.approx([100 * g["naive"]["wape"] for g in by_day["groups"]])
        # the second version's first day is marked, and the caption names both versions
        assert page.get_attribute("#accuracy-chart", "data-version-changes") == f"1959-07-01:{SECOND_VERSION}"
        assert f"version {first} serving at first, {SECOND_VERSION} from 1959-07-01" in page.text_content(
            "#accuracy-caption"
        )
        # the worst series first, with the route's MASE and WAPE
        rows = page.locator("#worst-table tbody tr")
        assert [g["unique_id"] for g in worst["groups"]] == ["T", "S"] and rows.count() == 2
        t = worst["groups"][0]
        cells = [rows.first.locator("th").text_content()] + rows.first.locator("td").all_text_contents()
        assert cells == [
            "T",
            f"{t['mase']:.3f}",
            f"{t['naive']['mase']:.3f}",
            f"{100 * t['wape']:.1f}%",
            f"{100 * t['naive']['wape']:.1f}%",
            "24",
        ]
        # T, the worst, is chosen: its actuals and the forecasts served for it, newest first
        live = call(base, f"/v1/models/{AIR}/live/T?days={MONTHLY_DAYS}&limit=8")
        drawn_t = live_drawn(page, "paxcastLiveChart")
        assert non_null(drawn_t[1]) == pytest.approx(live["actuals"]["y"]) and len(live["actuals"]["y"]) == 36
        assert [non_null(column) for column in drawn_t[2:]] == [pytest.approx(f["mean"]) for f in live["forecasts"]]
        assert [f["version"] for f in live["forecasts"]] == [SECOND_VERSION, first]
        assert page.text_content("#live-title") == "Served forecasts for T"
        # choosing S draws S's
        page.click("#worst-table button:text-is('S')")
        page.wait_for_function("() => document.querySelector('#live-title').textContent === 'Served forecasts for S'")
        page.wait_for_selector('#live[data-state="shown"]', state="attached")
        s_actuals = call(base, f"/v1/models/{AIR}/live/S?days={MONTHLY_DAYS}")["actuals"]["y"]
        page.wait_for_function(
            "(n) => window.paxcastLiveChart.data[1].filter((v) => v != null)[0] === n", arg=s_actuals[0]
        )
        assert non_null(live_drawn(page, "paxcastLiveChart")[1]) == pytest.approx(s_actuals)
        assert page.get_attribute("#worst-table tbody tr.selected", "data-series") == "S"


def test_at_phone_width_the_accuracy_view_does_not_scroll_sideways(browser, live_base):
    base, _ = live_base
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/?model={AIR}")
    page.wait_for_selector('#live[data-state="shown"]', state="attached")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for chart in ("#accuracy-chart", "#live-chart"):
        assert page.evaluate(f"document.querySelector('{chart} canvas').getBoundingClientRect().right") <= 360
    context.close()


def test_the_accuracy_view_says_in_one_line_why_it_has_nothing_to_show(page):
    """The module's server has a store but no actuals: nothing scored. A store that is off answers 503 (the
    route's own detail, tests/service/test_series_live_route.py): one line, no chart, no error."""
    page.wait_for_selector('#accuracy[data-state="empty"]', state="attached")
    assert page.text_content("#accuracy-note") == (
        "No forecast of air_passengers has been scored yet: forecasts of series with an id and a start are logged, "
        "and scored once their actuals are posted (POST /v1/actuals)."
    )
    assert page.is_hidden("#accuracy-body") and page.locator("#accuracy canvas").count() == 0
    detail = "no store is open: PAXCAST_LOG_FORECASTS is false and PAXCAST_INGEST_TOKEN unset"
    page.route(
        lambda url: "/accuracy?" in url,
        lambda route: route.fulfill(status=503, content_type="application/json", body=json.dumps({"detail": detail})),
    )
    choose_model(page, "metro")
    page.wait_for_selector('#accuracy[data-state="off"]', state="attached")
    assert page.text_content("#accuracy-note") == f"Live accuracy is not available: {detail}."
    assert page.is_hidden("#accuracy-body") and page.is_hidden("#error")
