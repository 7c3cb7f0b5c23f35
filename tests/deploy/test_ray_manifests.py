"""deploy/ray: the daily retrain on a Ray cluster (KubeRay RayJob), checked offline.

The RayJob is validated against KubeRay's RayJob CRD schema (vendored in deploy/schemas/, strict: an
unknown field fails, as `kubectl apply --validate=strict` would), its pod templates against the
Kubernetes 1.30 PodTemplateSpec (kubernetes-validate, strict), and its entrypoint by paxcast's own parser.
"""

from __future__ import annotations

import copy
import shlex
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from paxcast.service.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
RAY = ROOT / "deploy" / "ray"
SCHEMA = ROOT / "deploy" / "schemas" / "ray.io_rayjobs.v1.yaml"
KUBERNETES = "1.30"


def strict(schema: dict) -> dict:
    """The CRD schema with unknown fields refused: every object that lists its properties allows no others.
    (The API server prunes unknown fields of a structural schema; kubectl's strict validation refuses them.)"""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def elided(schema: dict, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, Kubernetes type) of every embedded object the vendored schema elides."""
    if not isinstance(schema, dict):
        return []
    if "x-paxcast-elided" in schema:
        return [(path, schema["x-paxcast-elided"])]
    out = []
    for name, child in schema.get("properties", {}).items():
        out += elided(child, path + (name,))
    if "items" in schema:
        out += elided(schema["items"], path + ("[]",))
    return out


def at(doc, path: tuple) -> list:
    """The values at `path` in `doc` ("[]" steps into every item of a list)."""
    if not path:
        return [doc]
    head, rest = path[0], path[1:]
    if head == "[]":
        return [v for item in doc for v in at(item, rest)]
    return at(doc[head], rest) if isinstance(doc, dict) and head in doc else []


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())["openAPIV3Schema"]


@pytest.fixture(scope="module")
def rayjob() -> dict:
    return yaml.safe_load((RAY / "rayjob-retrain.yaml").read_text())


def documents() -> list[dict]:
    docs = []
    for path in sorted(RAY.glob("*.yaml")):
        if path.name not in ("kustomization.yaml", "rayjob-retrain.yaml"):
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_the_rayjob_is_valid_against_the_vendored_crd_schema(schema, rayjob):
    assert rayjob["apiVersion"] == "ray.io/v1" and rayjob["kind"] == "RayJob"
    jsonschema.Draft4Validator(strict(schema)).validate(rayjob)


def test_a_misspelt_rayjob_field_fails_the_schema(schema, rayjob):
    broken = copy.deepcopy(rayjob)
    broken["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replica"] = 2
    with pytest.raises(jsonschema.ValidationError, match="'replica' was unexpected"):
        jsonschema.Draft4Validator(strict(schema)).validate(broken)


def test_every_pod_template_of_the_rayjob_is_a_valid_kubernetes_pod_template(schema, rayjob):
    templates = [(path, kind) for path, kind in elided(schema) if kind.endswith("PodTemplateSpec")]
    found = [t for path, _ in templates for t in at(rayjob, path)]
    assert len(found) == 2  # the head's and the worker group's; KubeRay makes the submitter's
    for template in found:
        pod = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template}
        kubernetes_validate.validate(pod, KUBERNETES, strict=True)


def test_the_entrypoint_is_a_paxcast_retrain_on_ray_sized_to_the_worker_group(rayjob):
    argv = shlex.split(rayjob["spec"]["entrypoint"])
    assert argv[0] == "paxcast"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "retrain" and args.engine == "ray" and args.address == "auto"
    cluster = rayjob["spec"]["rayClusterSpec"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # no training worker on the head
    (group,) = cluster["workerGroupSpecs"]
    cpus = group["replicas"] * int(group["rayStartParams"]["num-cpus"])
    assert args.workers * args.cpus_per_worker == cpus
    head = cluster["headGroupSpec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in head["containers"][0]["volumeMounts"]}
    assert args.registry == mounts["models"] and args.store == "$PAXCAST_STORE" and "data" not in mounts
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in head["volumes"]}
    assert claims["models"] == "paxcast-models"


def test_the_ray_version_and_image_are_the_ones_paxcast_pins(rayjob):
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"ray[train]=={rayjob['spec']['rayClusterSpec']['rayVersion']}" in extras["ray"]
    images = {c["image"] for t in at(rayjob, ("spec", "rayClusterSpec")) for c in pod_containers(t)}
    assert images == {"paxcast-ray-trainer:0.1.0"}
    assert "FROM runtime AS ray-trainer" in (ROOT / "Dockerfile").read_text()


def pod_containers(cluster: dict) -> list[dict]:
    templates = [cluster["headGroupSpec"]["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]
    return [c for t in templates for c in t["spec"]["containers"]]


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_other_ray_manifest_is_valid_against_the_kubernetes_schema(doc):
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_the_kustomization_lists_every_manifest_and_generates_the_rayjob_configmap():
    kustomization = yaml.safe_load((RAY / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    listed = kustomization["resources"] + generator["files"]
    assert sorted(listed) == sorted(p.name for p in RAY.glob("*.yaml") if p.name != "kustomization.yaml")
    (cron,) = [d for d in documents() if d["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    assert volume["configMap"]["name"] == generator["name"]
    (container,) = pod["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert container["command"] == ["kubectl", "create", "-f", f"{mount['mountPath']}/rayjob-retrain.yaml"]
    roles = [d for d in documents() if d["kind"] == "Role"]
    assert roles[0]["rules"] == [{"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create"]}]
    assert (
        pod["serviceAccountName"] == next(d for d in documents() if d["kind"] == "ServiceAccount")["metadata"]["name"]
    )


def test_the_vendored_schema_names_its_source_and_licence():
    readme = (ROOT / "deploy" / "schemas" / "README.md").read_text()
    for fact in ("ray-project/kuberay", "ray-operator/config/crd/bases/ray.io_rayjobs.yaml", "Apache", "1184bc87"):
        assert fact in readme
