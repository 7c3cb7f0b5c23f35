"""Service configuration: one typed Settings class, read from `PAXCAST_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from paxcast.service.core.contract import Freq
from paxcast.service.core.exceptions import UsageError

STORE_FILE = Path(".store") / "paxcast.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAXCAST_", protected_namespaces=())

    model_dir: Path = Field(Path("models"), description="model registry directory")
    data_dir: Path = Field(
        Path("data"), description="where the models' data sets are looked up for the web page's series list"
    )
    models: Annotated[list[str] | None, NoDecode] = Field(
        None, description="models to serve, comma-separated (default: every model in the registry with a CURRENT)"
    )
    model_name: str = Field("air_passengers", description="the default model: POST /v1/forecast and GET /v1/model")
    models_by_freq: dict[Freq, str] = Field(
        {"MS": "general_monthly", "QS": "general_quarterly"},
        description="the model POST /v1/forecast answers a request naming its `freq` with, as JSON "
        '(e.g. {"MS": "general_monthly"}); a frequency not listed, or a model not served, gets a 422',
    )
    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8000, ge=1, le=65535, description="bind port")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    threads: int = Field(
        1, ge=1, le=64, description="onnxruntime intra-op threads per process (a large request uses them all)"
    )
    reload_interval: float = Field(5.0, ge=0, description="seconds between checks of CURRENT; 0 disables polling")
    admin_token: SecretStr | None = Field(None, description="bearer token for POST /v1/admin/reload; unset disables it")
    store: str | None = Field(
        None,
        description="the store of actuals and served forecasts, a database URL: sqlite:///PATH or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB (default: sqlite:///<PAXCAST_MODEL_DIR>/.store/paxcast.sqlite)",
    )
    ingest_token: SecretStr | None = Field(None, description="bearer token for POST /v1/actuals; unset disables it")
    log_forecasts: bool = Field(
        True, description="record every served forecast of a series with a start in the store (in the background)"
    )
    forecast_log_queue_rows: int = Field(
        200_000,
        ge=1,
        description="forecast rows waiting for the store's writer at most; beyond, rows are dropped and counted",
    )
    store_retention_days: int = Field(
        400, ge=1, description="logged forecasts older than this are pruned (never actuals)"
    )
    max_actuals_rows: int = Field(
        100_000, ge=1, description="most rows in one POST /v1/actuals (413 above); the body limit applies too"
    )
    live_days: int = Field(
        28, ge=1, le=3660, description="days of the paxcast_live_* gauges' window, back from the newest actual"
    )
    live_refresh: float = Field(
        300.0,
        ge=0,
        description="seconds between refreshes of every served model's paxcast_live_* gauges (they also refresh "
        "after POST /v1/actuals); 0: only after POST /v1/actuals",
    )
    batch_max_rows: int = Field(
        64,
        ge=1,
        le=100_000,
        description="most rows in one batched session.run; large requests are queued in slices of this size",
    )
    batch_wait_us: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="how long a batch waits for more requests; "
        "0: take only what queued while the previous run was busy",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest request body accepted (413 above)")
    max_series: int = Field(10_000, ge=1, description="most series in one request")
    max_history: int = Field(10_000, ge=1, description="most values in one series' history")
    max_response_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="largest forecast response, estimated before any work as series x horizon x (1 + 2 x levels)"
        " x 24 bytes per number (413 above)",
    )
    log_level: str = Field("info", description="log level of the service and uvicorn")
    read_timeout: float = Field(
        30.0, gt=0, description="seconds a request's head, and then its whole body, may take to arrive (408 after)"
    )
    max_connections: int = Field(1000, ge=1, description="open connections per worker; requests beyond get a 503")
    max_buffered_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="request-body bytes a worker holds across all requests in flight (503 above)",
    )

    def store_url(self) -> str:
        """PAXCAST_STORE, or the default: an SQLite file in a hidden folder of the registry. The registry is the
        one directory every deployment already configures and can write (`make serve`, the Docker image); the
        registry skips dot-folders, and a served forecast's version lives beside the rows that name it."""
        if self.store:
            return self.store
        return f"sqlite:///{(self.model_dir / STORE_FILE).absolute()}"

    def needs_store(self) -> bool:
        """Whether the service opens the store: to log forecasts, or to take actuals (POST /v1/actuals)."""
        return self.log_forecasts or self.ingest_token is not None

    @field_validator("models", mode="before")
    @classmethod
    def comma_list(cls, value):
        if isinstance(value, str):
            names = [name.strip() for name in value.split(",") if name.strip()]
            if len(set(names)) != len(names):
                raise ValueError("a model is named twice")
            return names or None
        return value


class SettingsError(UsageError):
    """A setting is invalid; the message is one line naming its environment variable (exit 2)."""


def load_settings(**values) -> Settings:
    """Settings from the environment plus `values`; a bad one raises SettingsError naming its PAXCAST_ variable."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        variable = "PAXCAST_" + str(first["loc"][0]).upper() if first["loc"] else "PAXCAST_*"
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise SettingsError(f"{variable}={first.get('input')!r}: {first['msg']}{more}") from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
