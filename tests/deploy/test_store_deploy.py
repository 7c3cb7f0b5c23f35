"""The deploy files retrain from the store, not from a CSV: one PostgreSQL shared by the API and every retrain
(k8s, compose, the RayJob), `--store` with `--if-degraded`, the URL from a Secret (never a password in a
manifest but the example Secret's), and every PAXCAST_ variable they set is a setting the service reads."""

from __future__ import annotations

import configparser
import re
import shlex

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from paxcast.service.core.settings import Settings
from paxcast.training.retrain.degraded import EXIT_NOT_JUDGED
from tests.deploy.test_manifests import K8S, KUBERNETES, ROOT, find, k8s_documents, parse_paxcast

RAYJOB = ROOT / "deploy" / "ray" / "rayjob-retrain.yaml"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SYSTEMD = ROOT / "deploy" / "systemd" / "paxcast-retrain.service"
EXAMPLE_SECRET = K8S / "store-secret.example.yaml"
STORE_SECRET = {"name": "paxcast-store", "key": "url"}
SETTINGS = {f"PAXCAST_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def rayjob() -> dict:
    return yaml.safe_load(RAYJOB.read_text())


def cronjob_containers() -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        for d in k8s_documents()
        if d["kind"] == "CronJob"
    }


def containers_with_paxcast() -> dict[str, dict]:
    """Every container of k8s/ and the RayJob that runs paxcast (not postgres, not the seed init container)."""
    found = {f"CronJob/{name}": c for name, c in cronjob_containers().items()}
    (found["Deployment/paxcast-api"],) = find("Deployment", "paxcast-api")["spec"]["template"]["spec"]["containers"]
    cluster = rayjob()["spec"]["rayClusterSpec"]
    found["RayJob/head"] = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    return found


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def retrain_commands() -> dict[str, list[str]]:
    """Every `paxcast retrain` command line of deploy/, by where it is."""
    found = {f"CronJob/{name}": c["args"] for name, c in cronjob_containers().items()}
    found["RayJob"] = shlex.split(rayjob()["spec"]["entrypoint"])[1:]
    for name, spec in compose()["services"].items():
        if spec.get("profiles") == ["jobs"]:
            found[f"compose/{name}"] = spec["command"]
    service = configparser.ConfigParser()
    service.read(SYSTEMD)
    found["systemd"] = shlex.split(service["Service"]["ExecStart"])[1:]
    return found


@pytest.mark.parametrize("where", sorted(retrain_commands()))
def test_every_retrain_reads_the_store_if_degraded_and_no_csv(where):
    argv = retrain_commands()[where]
    args = parse_paxcast(argv)
    assert args.command == "retrain" and args.if_degraded and args.store
    assert "--data" not in argv and not any(".csv" in a for a in argv)


@pytest.mark.parametrize("where", sorted(containers_with_paxcast()))
def test_the_api_and_every_retrain_read_paxcast_store_from_the_secret(where):
    container = containers_with_paxcast()[where]
    store = env_of(container)["PAXCAST_STORE"]
    assert store["valueFrom"]["secretKeyRef"] == STORE_SECRET  # not optional: no store, no start


@pytest.mark.parametrize("where", sorted(cronjob_containers()))
def test_cronjobs_pass_the_secret_url_through_kubernetes_substitution(where):
    container = cronjob_containers()[where]
    assert parse_paxcast(container["args"]).store == "$(PAXCAST_STORE)"  # expanded by the kubelet, never shown


def test_the_rayjob_entrypoint_expands_paxcast_store_in_its_shell():
    assert '--store "$PAXCAST_STORE"' in rayjob()["spec"]["entrypoint"]


def test_every_paxcast_variable_a_deploy_file_sets_is_a_setting():
    named = set()
    for container in containers_with_paxcast().values():
        named |= set(env_of(container))
    for spec in compose()["services"].values():
        named |= set(spec.get("environment", {}))
    service = configparser.ConfigParser()
    service.read(SYSTEMD)
    named |= set(re.findall(r"\$\{?(PAXCAST_\w+)", service["Service"]["ExecStart"]))
    named = {name for name in named if name.startswith("PAXCAST_")}
    assert "PAXCAST_STORE" in named
    assert named <= SETTINGS, f"not settings: {sorted(named - SETTINGS)}"


def test_no_retrain_mounts_a_data_volume_any_more():
    for container in cronjob_containers().values():
        assert {m["name"] for m in container["volumeMounts"]} == {"models", "tmp"}
    assert not [d for d in k8s_documents() if d["metadata"]["name"] == "paxcast-data"]


def test_the_bundled_postgresql_is_a_statefulset_behind_the_service_the_secret_names():
    example = yaml.safe_load(EXAMPLE_SECRET.read_text())
    assert (example["kind"], example["metadata"]["name"]) == ("Secret", STORE_SECRET["name"])
    url = make_url(example["stringData"][STORE_SECRET["key"]])
    assert url.drivername == "postgresql+psycopg"
    assert url.password == example["stringData"]["password"]
    service = find("Service", url.host)["spec"]
    assert [p["port"] for p in service["ports"]] == [url.port]
    postgres = find("StatefulSet", url.host)["spec"]
    assert service["selector"].items() <= postgres["template"]["metadata"]["labels"].items()
    (db,) = postgres["template"]["spec"]["containers"]
    env = env_of(db)
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": STORE_SECRET["name"], "key": "password"}
    assert (env["POSTGRES_USER"]["value"], env["POSTGRES_DB"]["value"]) == (url.username, url.database)
    assert db["readinessProbe"]["exec"]["command"][:1] == ["pg_isready"]
    (claim,) = postgres["volumeClaimTemplates"]
    assert {m["name"] for m in db["volumeMounts"]} == {claim["metadata"]["name"]}


def test_the_example_secret_is_not_applied_by_the_kustomization_and_is_the_only_password():
    kubernetes_validate.validate(yaml.safe_load(EXAMPLE_SECRET.read_text()), KUBERNETES, strict=True)
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert EXAMPLE_SECRET.name not in listed  # `kubectl apply -k` must never overwrite the real Secret
    assert "example" in EXAMPLE_SECRET.name
    for path in [*K8S.glob("*.yaml"), RAYJOB, COMPOSE]:
        if path != EXAMPLE_SECRET:
            assert not re.search(r"postgresql\+psycopg://[^:\s]+:[^@$\s]+@", path.read_text()), path


def test_cronjobs_fail_without_retrying_what_a_retry_cannot_change():
    for doc in [d for d in k8s_documents() if d["kind"] == "CronJob"]:
        policy = doc["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]
        (rule,) = policy["rules"]
        assert rule["action"] == "FailJob"
        assert rule["onExitCodes"] == {"containerName": "retrain", "operator": "In", "values": [2, 3, EXIT_NOT_JUDGED]}


def test_compose_runs_postgresql_with_a_healthcheck_that_the_api_and_retrains_wait_for():
    services = compose()["services"]
    db = services["postgres"]
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")  # no default password
    url = services["api"]["environment"]["PAXCAST_STORE"]
    parsed = make_url(url.replace("${POSTGRES_PASSWORD:?", "").split("}")[0] + url.split("}", 1)[1])
    assert (parsed.host, parsed.username, parsed.database) == (
        "postgres",
        db["environment"]["POSTGRES_USER"],
        db["environment"]["POSTGRES_DB"],
    )
    users = {"api": services["api"]} | {n: s for n, s in services.items() if s.get("profiles") == ["jobs"]}
    for name, spec in users.items():
        assert spec["depends_on"] == {"postgres": {"condition": "service_healthy"}}, name
        if name != "api":
            assert parse_paxcast(spec["command"]).store == url  # the API's store, one anchor
            assert not any("incoming" in v for v in spec["volumes"])
    assert "pgdata" in compose()["volumes"]
