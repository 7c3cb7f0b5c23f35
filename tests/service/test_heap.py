"""The served heap is frozen out of the cycle collector (holder.settle_heap), without keeping dropped versions."""

import gc
import weakref

from fastapi.testclient import TestClient

from paxcast.service.api.app import create_app
from paxcast.service.core.settings import Settings
from tests.service.test_admin_reload import AUTH, TOKEN, add_version


def test_a_running_app_freezes_its_heap_and_unfreezes_it_at_shutdown(registry):
    gc.unfreeze()
    with TestClient(create_app(Settings(model_dir=registry, reload_interval=0))):
        assert gc.get_freeze_count() > 1000  # the models, routes and modules: never walked by a full collection
    assert gc.get_freeze_count() == 0


def test_a_version_dropped_by_a_reload_is_freed_while_the_app_runs(registry):
    settings = Settings(model_dir=registry, reload_interval=0, admin_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        old = weakref.ref(client.app.state.models.get("air_passengers").predictor)
        add_version(registry, "29990101T000000Z")
        assert client.post("/v1/admin/reload", headers=AUTH).json()["reloaded"] is True
        gc.collect()
        assert old() is None, gc.get_referrers(old())
