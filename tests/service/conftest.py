import shutil

import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.settings import Settings

GRU = "air_gru"  # the second model of `two_model_registry`


@pytest.fixture
def make_client(registry):
    clients = []

    def make(**overrides) -> TestClient:
        settings = Settings(model_dir=registry, reload_interval=0, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture(scope="session")
def air_history(air_csv):
    from paxcast.training.data import read_series

    return read_series(air_csv)[0].y.tolist()


@pytest.fixture(scope="session")
def two_model_registry(tiny_registry, tmp_path_factory, air_csv):
    """The tiny air_passengers model plus a GRU variant trained on the same data."""
    from paxcast.training.pipeline import train_and_register
    from tests.conftest import TINY

    root = tmp_path_factory.mktemp("two-models")
    shutil.copytree(tiny_registry, root, dirs_exist_ok=True)
    train_and_register(air_csv, root, GRU, show_progress=False, **{**TINY, "cell": "gru", "ensemble": 1, "epochs": 5})
    return root


@pytest.fixture
def models_root(two_model_registry, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(two_model_registry, root)
    return root
