"""Kafka connection settings: validation, the options every client gets, error lines, partitions."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import SaslAuthenticationFailed, UnsupportedSaslMechanismError
from faust.auth import SASLCredentials, SSLCredentials
from pydantic import ValidationError

from streamalert.kafka_config import (
    KafkaSetupError,
    client_options,
    describe_failure,
    faust_options,
    ssl_context,
)
from streamalert.settings import Settings, describe_settings_error
from streamalert.topics import catalogue, copartitioned_topics, faust_topics, new_topic, partition_mismatch

SECRET = "s3cr3t-pa55"


@pytest.fixture(autouse=True)
def _no_streamalert_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("STREAMALERT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CA certificate (the one of the SASL_SSL test broker is made the same way)."""
    import subprocess

    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=unit-test-CA",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder / "ca.pem"


INVALID: list[tuple[dict[str, Any], list[str]]] = [
    (
        {"security_protocol": "SASL_SSL"},
        ["STREAMALERT_SASL_USERNAME is required", "STREAMALERT_SASL_PASSWORD is required"],
    ),
    (
        {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "ada"},
        ["STREAMALERT_SASL_PASSWORD is required"],
    ),
    (
        {"security_protocol": "SASL_SSL", "sasl_username": "ada", "sasl_password": ""},
        ["STREAMALERT_SASL_PASSWORD is required"],
    ),
    (
        {"sasl_username": "ada", "sasl_password": SECRET},
        ["STREAMALERT_SASL_USERNAME is set but", "STREAMALERT_SASL_PASSWORD is set but"],
    ),
    (
        {"security_protocol": "SSL", "sasl_password": SECRET},
        ["STREAMALERT_SASL_PASSWORD is set but STREAMALERT_SECURITY_PROTOCOL=SSL"],
    ),
    ({"ssl_cafile": "ca.pem"}, ["STREAMALERT_SSL_CAFILE is set but STREAMALERT_SECURITY_PROTOCOL=PLAINTEXT"]),
    (
        {"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"},
        ["STREAMALERT_SSL_CAFILE: no such file"],
    ),
    (
        {"security_protocol": "SSL", "ssl_keyfile": "/nonexistent/k.pem"},
        ["STREAMALERT_SSL_KEYFILE: no such file", "STREAMALERT_SSL_KEYFILE needs STREAMALERT_SSL_CERTFILE"],
    ),
]


@pytest.mark.parametrize(("values", "expected"), INVALID)
def test_combinations_that_cannot_work_name_each_variable(
    values: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    message = describe_settings_error(caught.value)
    for part in expected:
        assert part in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("STREAMALERT_SECURITY_PROTOCOL", "TLS", "STREAMALERT_SECURITY_PROTOCOL: Input should be"),
        ("STREAMALERT_SASL_MECHANISM", "GSSAPI", "STREAMALERT_SASL_MECHANISM: Input should be"),
        ("STREAMALERT_REPLICATION_FACTOR", "0", "STREAMALERT_REPLICATION_FACTOR: Input should be greater"),
        ("STREAMALERT_SSL_CHECK_HOSTNAME", "maybe", "STREAMALERT_SSL_CHECK_HOSTNAME: Input should be"),
    ],
)
def test_a_bad_value_names_its_variable_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = describe_settings_error(caught.value)
    assert message.startswith(expected)
    assert repr(value) not in message


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    settings = Settings()
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    faust = faust_options(settings)
    assert faust["broker_credentials"] is None
    assert faust["broker"] == "kafka://127.0.0.1:9092"


def test_sasl_ssl_options_and_faust_credentials(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> None:
    monkeypatch.setenv("STREAMALERT_BROKER", "kafka://k1:9096,kafka://k2:9096")
    monkeypatch.setenv("STREAMALERT_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STREAMALERT_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("STREAMALERT_SASL_USERNAME", "streamalert")
    monkeypatch.setenv("STREAMALERT_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("STREAMALERT_SSL_CAFILE", str(ca_file))
    settings = Settings()
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    options = client_options(settings)
    assert options["bootstrap_servers"] == "k1:9096,k2:9096"
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == ("SCRAM-SHA-512", "streamalert")
    assert options["sasl_plain_password"] == SECRET
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert any(cert["subject"] == ((("commonName", "unit-test-CA"),),) for cert in context.get_ca_certs())

    credentials = faust_options(settings)["broker_credentials"]
    assert isinstance(credentials, SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.password == SECRET and SECRET not in repr(credentials)


def test_sasl_plaintext_has_no_tls() -> None:
    settings = Settings(security_protocol="SASL_PLAINTEXT", sasl_username="u", sasl_password=SECRET)
    options = client_options(settings)
    assert "ssl_context" not in options and options["sasl_mechanism"] == "PLAIN"
    credentials = faust_options(settings)["broker_credentials"]
    assert isinstance(credentials, SASLCredentials) and credentials.protocol.value == "SASL_PLAINTEXT"


def test_ssl_without_hostname_check_and_without_sasl(ca_file: Path) -> None:
    settings = Settings(security_protocol="SSL", ssl_cafile=ca_file, ssl_check_hostname=False)
    options = client_options(settings)
    assert "sasl_mechanism" not in options
    assert options["ssl_context"].check_hostname is False
    credentials = faust_options(settings)["broker_credentials"]
    assert isinstance(credentials, SSLCredentials) and credentials.protocol.value == "SSL"


def test_unreadable_pem_files_are_setup_errors_naming_the_variable(tmp_path: Path, ca_file: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(KafkaSetupError, match="STREAMALERT_SSL_CAFILE"):
        ssl_context(Settings(security_protocol="SSL", ssl_cafile=garbage))
    with pytest.raises(KafkaSetupError, match="STREAMALERT_SSL_CERTFILE"):
        ssl_context(Settings(security_protocol="SSL", ssl_cafile=ca_file, ssl_certfile=garbage))


SASL = Settings(
    broker="kafka://k:9096",
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism="SCRAM-SHA-256",
    sasl_username="ada",
    sasl_password=SECRET,
)

FAILURES: list[tuple[BaseException, list[str]]] = [
    (
        SaslAuthenticationFailed(f"invalid credentials (password {SECRET})"),
        [
            "Kafka authentication failed for user ada at k:9096",
            "STREAMALERT_SASL_USERNAME/STREAMALERT_SASL_PASSWORD",
        ],
    ),
    (UnsupportedSaslMechanismError("enabled: PLAIN"), ["refuses STREAMALERT_SASL_MECHANISM=SCRAM-SHA-256"]),
    (ssl.SSLCertVerificationError("certificate verify failed"), ["is not trusted", "STREAMALERT_SSL_CAFILE"]),
    (ssl.SSLError("handshake failure"), ["TLS handshake with Kafka at k:9096 failed"]),
    (TimeoutError(), ["did not answer in time", "STREAMALERT_SECURITY_PROTOCOL=SASL_PLAINTEXT"]),
    (
        ConnectionRefusedError(111, "Connect call failed"),
        ["cannot reach Kafka at k:9096", "STREAMALERT_BROKER"],
    ),
]


@pytest.mark.parametrize(("error", "expected"), FAILURES)
def test_each_failure_is_one_line_naming_the_settings_never_the_password(
    error: BaseException, expected: list[str]
) -> None:
    line = describe_failure(SASL, "k:9096", error)
    assert "\n" not in line and SECRET not in line
    for part in expected:
        assert part in line


PARTITIONS: list[tuple[int, dict[str, int], str | None]] = [
    (4, {}, None),  # nothing exists yet
    (4, {"a": 4, "b": 4, "other": 9}, None),  # topics outside the co-partitioned set do not matter
    (4, {"a": 2, "b": 2}, "set STREAMALERT_PARTITIONS=2 to match them"),
    (4, {"a": 4, "b": 8}, "the existing topics disagree among themselves"),
    (4, {"b": 3}, "set STREAMALERT_PARTITIONS=3"),
]


@pytest.mark.parametrize(("expected", "existing", "hint"), PARTITIONS)
def test_partition_mismatch(expected: int, existing: dict[str, int], hint: str | None) -> None:
    problem = partition_mismatch(expected, ["a", "b"], existing)
    if hint is None:
        assert problem is None
        return
    assert problem is not None and hint in problem
    for name, count in existing.items():
        if name in ("a", "b") and count != expected:
            assert f"{name} has {count}" in problem


def test_copartitioned_topics_include_inputs_ticks_alert_fired_and_changelogs() -> None:
    settings = Settings(topic_prefix="p", app_id="app")
    assert set(copartitioned_topics(settings)) == {
        "p.pipeline-events",
        "p.delivery-results",
        "p.ticks",
        "p.alert-fired",
        "app-counts-changelog",
        "app-alert_states-changelog",
    }
    # Every topic Faust would otherwise create itself is created by ensure_topics.
    assert {spec.name for spec in faust_topics(settings)} == {
        "app-counts-changelog",
        "app-alert_states-changelog",
        "app-__assignor-__leader",
    }


@pytest.mark.parametrize(("factor", "expected"), [(None, -1), (3, 3)])
def test_new_topics_get_the_replication_factor_or_the_brokers_default(
    factor: int | None, expected: int
) -> None:
    settings = Settings(replication_factor=factor, partitions=6)
    for spec in catalogue(settings) + faust_topics(settings):
        topic = new_topic(spec, settings)
        assert topic.replication_factor == expected
        assert topic.num_partitions == (1 if spec.name.endswith("__leader") else 6)
        assert topic.replica_assignments == {}


def test_a_worker_with_invalid_settings_prints_one_line_per_variable_and_exits_2() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMALERT_")}
    env |= {"STREAMALERT_SECURITY_PROTOCOL": "SASL_SSL", "STREAMALERT_PARTITIONS": "zero"}
    env |= {"STREAMALERT_SSL_CAFILE": "/nonexistent/ca.pem", "STREAMALERT_SASL_PASSWORD": SECRET}
    result = subprocess.run(
        [sys.executable, "-m", "streamalert.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "streamalert: invalid settings:"
    assert lines[1].startswith("STREAMALERT_PARTITIONS: Input should be a valid integer")
    assert len(lines) == 2  # the model-level checks run once the fields themselves are valid


def test_a_worker_with_a_combination_that_cannot_work_names_each_problem() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMALERT_")}
    env |= {"STREAMALERT_SECURITY_PROTOCOL": "SASL_SSL", "STREAMALERT_SSL_CAFILE": "/nonexistent/ca.pem"}
    result = subprocess.run(
        [sys.executable, "-m", "streamalert.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "streamalert: invalid settings:",
        "STREAMALERT_SASL_USERNAME is required with STREAMALERT_SECURITY_PROTOCOL=SASL_SSL",
        "STREAMALERT_SASL_PASSWORD is required with STREAMALERT_SECURITY_PROTOCOL=SASL_SSL",
        "STREAMALERT_SSL_CAFILE: no such file /nonexistent/ca.pem",
    ]


def test_a_closed_tls_connection_points_at_the_client_certificate(ca_file: Path) -> None:
    from aiokafka.errors import KafkaConnectionError

    closed = KafkaConnectionError("Connection at k:9093 closed")
    tls = Settings(security_protocol="SSL", ssl_cafile=ca_file)
    assert "check STREAMALERT_SSL_CERTFILE (not set)" in describe_failure(tls, "k:9093", closed)
    assert "STREAMALERT_SSL_CERTFILE" not in describe_failure(Settings(), "k:9093", closed)
