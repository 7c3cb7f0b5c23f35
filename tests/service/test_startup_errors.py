"""`paxcast serve` refuses bad settings with one line that names the environment variable or the host."""

from __future__ import annotations

import subprocess

import pytest

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
