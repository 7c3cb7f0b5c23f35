import pytest
from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.settings import Settings


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
