"""`paxcast serve` refuses bad settings with one line that names the environment variable or the host."""

from __future__ import annotations

import subprocess

import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.exceptions import StoreUnavailable
from paxcast.service.core.settings import Settings
from tests.serving import serve_until_it_exits


def serve(registry, **env) -> subprocess.CompletedProcess:
    return serve_until_it_exits(registry, timeout=60, PAXCAST_RELOAD_INTERVAL="0", **env)


@pytest.mark.parametrize(
    "env, line",
    [
        (
            {"PAXCAST_PORT": "abc"},
            "paxcast serve: PAXCAST_PORT='abc': Input should be a valid integer, "
            "unable to parse string as an integer\n",
        ),
        (
            {"PAXCAST_PORT": "70000"},
            "paxcast serve: PAXCAST_PORT='70000': Input should be less than or equal to 65535\n",
        ),
        ({"PAXCAST_WORKERS": "0"}, "paxcast serve: PAXCAST_WORKERS='0': Input should be greater than or equal to 1\n"),
    ],
    ids=["port-not-a-number", "port-too-big", "no-workers"],
)
def test_a_bad_setting_is_one_line_naming_the_variable(registry, env, line):
    result = serve(registry, **env)
    assert result.returncode == 2
    assert result.stderr == line


def test_an_unresolvable_host_is_one_line_naming_it(registry):
    result = serve(registry, PAXCAST_HOST="no.such.host.invalid", PAXCAST_PORT="1")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("paxcast serve: PAXCAST_HOST='no.such.host.invalid' cannot be resolved (")


def test_a_store_that_cannot_be_opened_is_one_line_naming_paxcast_store(registry):
    result = serve(registry, PAXCAST_STORE="sqlite:////proc/no/such/store.sqlite", PAXCAST_PORT="1")
    assert result.returncode == 1
    last = result.stderr.splitlines()[-1]  # after the models' own log lines
    assert last.startswith("paxcast serve: PAXCAST_STORE=sqlite:////proc/no/such/store.sqlite: cannot open the store (")


def test_the_app_does_not_start_on_a_store_it_cannot_open(registry):
    app = create_app(Settings(model_dir=registry, reload_interval=0, store="sqlite:////proc/no/such/store.sqlite"))
    with pytest.raises(StoreUnavailable, match=r"^PAXCAST_STORE=sqlite:////proc/no/such/store\.sqlite: cannot open"):
        TestClient(app).__enter__()
