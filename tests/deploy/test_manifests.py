"""The deployment files, checked without a cluster or a Docker engine.

Schemas, images, commands, schedules, volumes and probes.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest
import yaml

from paxcast.service.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.30"  # oldest release these manifests target (CronJob timeZone is GA since 1.27)


def k8s_documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml" and not path.name.endswith(".example.yaml"):
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def find(kind: str, name: str) -> dict:
    (doc,) = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def parse_paxcast(argv: list[str]):
    """Parse a command line with paxcast's own parser: the command must be one the CLI accepts."""
    return build_parser().parse_args(argv)


def mounted(path: str, mounts: dict[str, str]) -> bool:
    return any(PurePosixPath(path).is_relative_to(m) for m in mounts)


@pytest.mark.parametrize("doc", k8s_documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_against_the_kubernetes_schema(doc):
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # strict: an unknown or misspelt field fails


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = [p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml" and ".example." not in p.name]
    assert sorted(listed) == sorted(on_disk)  # the example Secret is applied by hand, never by kustomize


def test_api_deployment_serves_the_shared_volume_with_probes():
    pod = find("Deployment", "paxcast-api")["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    assert api["image"] == "paxcast:0.1.0"
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert float(env["PAXCAST_RELOAD_INTERVAL"]) > 0
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert ports == {"http": 8000}
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    mounts = {m["name"]: m for m in api["volumeMounts"]}
    assert mounts["models"]["mountPath"] == env["PAXCAST_MODEL_DIR"] and mounts["models"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == "paxcast-models"
    admin = next(e for e in api["env"] if e["name"] == "PAXCAST_ADMIN_TOKEN")
    assert admin["valueFrom"]["secretKeyRef"]["optional"] is True  # no secret: the admin endpoint stays disabled
    assert pod["securityContext"]["runAsUser"] == 10001


def test_service_routes_to_the_api_pods():
    service = find("Service", "paxcast-api")["spec"]
    labels = find("Deployment", "paxcast-api")["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    assert [p["targetPort"] for p in service["ports"]] == ["http"]


def test_the_api_scales_on_cpu_between_two_and_ten_replicas():
    hpa = find("HorizontalPodAutoscaler", "paxcast-api")["spec"]
    deployment = find("Deployment", "paxcast-api")
    target = hpa["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", "paxcast-api")
    assert hpa["minReplicas"] == 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count; `kubectl apply` must not reset it
    (api,) = deployment["spec"]["template"]["spec"]["containers"]
    assert api["resources"]["requests"]["cpu"]  # utilisation is a share of the request: it must be set


CRONJOBS = {
    "paxcast-retrain": ("air_passengers", "0 3 2 * *"),
    "paxcast-retrain-seoul-subway": ("seoul_subway_daily", "0 4 * * *"),
    "paxcast-retrain-melbourne-pedestrian": ("melbourne_pedestrian_hourly", "30 4 * * *"),
}


def test_every_cronjob_is_listed_here():
    assert {d["metadata"]["name"] for d in k8s_documents() if d["kind"] == "CronJob"} == set(CRONJOBS)


@pytest.mark.parametrize("name", sorted(CRONJOBS))
def test_cronjob_runs_retrain_from_the_trainer_image_against_the_shared_volume_and_store(name):
    model, schedule = CRONJOBS[name]
    cron = find("CronJob", name)["spec"]
    assert cron["schedule"] == schedule
    assert re.fullmatch(r"(\S+\s+){4}\S+", cron["schedule"])
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] > 0
    assert cron["timeZone"]
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (job,) = pod["containers"]
    assert job["image"] == "paxcast-trainer:0.1.0"
    assert job["command"] == ["paxcast"]
    args = parse_paxcast(job["args"])
    assert args.command == "retrain" and not args.force and args.name == model
    assert (ROOT / "models" / model / "CURRENT").is_file()  # a shipped model it retrains
    mounts = {m["mountPath"]: m["name"] for m in job["volumeMounts"]}
    assert mounts[args.registry] == "models" and args.store == "$(PAXCAST_STORE)"  # tests/deploy/test_store_deploy.py
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]}
    assert claims["models"] == "paxcast-models"  # the same volume the API reads


def test_volume_claims_are_shared_across_nodes():
    assert find("PersistentVolumeClaim", "paxcast-models")["spec"]["accessModes"] == ["ReadWriteMany"]


def test_dockerfile_trainer_target_runs_retrain():
    text = (ROOT / "Dockerfile").read_text()
    trainer = text[text.index("FROM runtime AS trainer") : text.index("FROM runtime AS serve")]
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", trainer, re.M).group(1))
    command = json.loads(re.search(r"^CMD (.+)$", trainer, re.M).group(1))
    assert entrypoint == ["paxcast"]
    assert parse_paxcast(command).command == "retrain"


def test_compose_runs_the_api_and_a_retrain_job_on_one_volume_and_one_store():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    api, retrain = compose["services"]["api"], compose["services"]["retrain"]
    assert api["build"]["target"] == "serve" and retrain["build"]["target"] == "trainer"
    assert retrain["profiles"] == ["jobs"]  # `up` leaves it alone; `docker compose run retrain` runs it
    assert all(port.startswith("127.0.0.1:") for port in api["ports"])
    api_mounts = dict(v.split(":")[:2] for v in api["volumes"])
    job_mounts = {v.split(":")[1]: v.split(":")[0] for v in retrain["volumes"]}
    args = parse_paxcast(retrain["command"])
    assert args.command == "retrain"
    assert job_mounts[args.registry] == "models" and api_mounts["models"] == args.registry
    assert args.store == api["environment"]["PAXCAST_STORE"]
    assert "models" in compose["volumes"]


def test_crontab_example_runs_every_compose_retrain_job():
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    jobs = {name: spec for name, spec in compose["services"].items() if spec.get("profiles") == ["jobs"]}
    lines = (ROOT / "deploy" / "crontab.example").read_text().splitlines()
    scheduled = {}
    for line in [entry for entry in lines if entry and not entry.startswith(("#", "CRON_TZ"))]:
        fields = line.split(None, 5)
        assert all(re.fullmatch(r"[\d*/,-]+", f) for f in fields[:5])
        service = re.search(r"docker compose -f deploy/docker-compose.yml run --rm (\S+)", fields[5]).group(1)
        scheduled[service] = " ".join(fields[:5])
    assert set(scheduled) == set(jobs)
    for spec in jobs.values():
        args = parse_paxcast(spec["command"])
        assert args.command == "retrain" and (ROOT / "models" / args.name / "CURRENT").is_file()
    assert scheduled["retrain-seoul-subway"] == "0 4 * * *"


def test_systemd_timer_starts_a_oneshot_retrain():
    service, timer = configparser.ConfigParser(), configparser.ConfigParser()
    service.read(ROOT / "deploy" / "systemd" / "paxcast-retrain.service")
    timer.read(ROOT / "deploy" / "systemd" / "paxcast-retrain.timer")
    assert service["Service"]["Type"] == "oneshot"
    program, *argv = shlex.split(service["Service"]["ExecStart"])
    assert program.endswith("/paxcast")
    args = parse_paxcast(argv)
    assert args.command == "retrain" and args.registry in service["Service"]["ReadWritePaths"].split()
    assert timer["Timer"]["Unit"] == "paxcast-retrain.service"
    assert timer["Timer"]["OnCalendar"].endswith("UTC") and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_the_init_container_seeds_every_shipped_model_once_and_leaves_retrained_ones(tmp_path):
    """Its script, run by sh on a copy of the image's models/ and an empty volume, then again."""
    import shutil
    import subprocess

    deployment = find("Deployment", "paxcast-api")
    (seed,) = deployment["spec"]["template"]["spec"]["initContainers"]
    script = seed["command"][2]
    image, volume = tmp_path / "image-models", tmp_path / "volume"
    shutil.copytree(ROOT / "models", image)
    volume.mkdir()
    script = script.replace("/srv/paxcast/models", str(image)).replace("/shared", str(volume))
    run = lambda: subprocess.run(["sh", "-c", script], env={"HOSTNAME": "pod-a", "PATH": "/usr/bin:/bin"}, check=True)  # noqa: E731
    run()
    shipped = sorted(p.name for p in (ROOT / "models").iterdir() if p.is_dir())
    assert sorted(p.name for p in volume.iterdir()) == shipped  # all of them, no .seed-* left over
    assert {"air_passengers", "general_monthly", "seoul_subway_daily"} <= set(shipped)
    (volume / "air_passengers" / "CURRENT").write_text("retrained-version\n")  # the volume's own since
    shutil.rmtree(volume / "general_monthly")  # a model new in a later image
    run()
    assert (volume / "air_passengers" / "CURRENT").read_text() == "retrained-version\n"
    assert (volume / "general_monthly" / "CURRENT").read_text() == (
        ROOT / "models" / "general_monthly" / "CURRENT"
    ).read_text()
