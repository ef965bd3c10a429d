"""Every setting of a worker, read from `STREAMALERT_*` environment variables.

Each default works with `make kafka-start` on the same machine.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMALERT_", extra="ignore")

    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap URL")
    app_id: str = Field("streamalert", description="Faust app id: consumer group and changelog names")
    topic_prefix: str = Field("streamalert", description="prefix of every streamalert topic")
    partitions: int = Field(8, ge=1, description="partitions of new topics")
    store: str = Field("rocksdb://", description="table store: memory:// or rocksdb://")
    rocksdb_memory_mb: int = Field(
        256,
        ge=16,
        description="MiB for all RocksDB tables of a worker: one shared block cache, write buffers charged to it",
    )
    data_dir: Path = Field(Path(".local/data"), description="worker state directory")
    web_port: int = Field(6066, ge=1, le=65535, description="HTTP port of the API")
    web_bind: str = Field("0.0.0.0", description="address the HTTP server listens on")
    public_url: str = Field(
        "http://127.0.0.1:6066", description="base URL of the API, for links in notifications"
    )
    advertised_url: str | None = Field(
        None,
        description="base URL other workers reach this worker's API at (a preview is answered by the "
        "worker holding the subject's counts); unset: http://<hostname>:<web port>",
    )
    evaluation_interval: float = Field(60.0, gt=0, description="seconds between evaluations")
    session_secret: SecretStr | None = Field(
        None,
        description="key signing web UI sessions; set the same on every worker (unset: a key of this worker's own)",
    )
    smtp_url: str = Field("smtp://127.0.0.1:25", description="smtp://[user:pass@]host:port or smtps://")
    email_from: str = Field("streamalert@localhost", description="sender address")
    pagerduty_url: str = Field("https://events.pagerduty.com", description="Events API base URL")
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="hosts or CIDRs allowed for webhooks despite the https/vendor/public-address rule",
    )
    session_timeout: float = Field(
        30.0,
        ge=6.0,
        description="seconds before a silent worker is dropped from the group and its partitions move",
    )
    log_level: Literal["debug", "info", "warn", "error"] = Field("info", description="worker log level")
    log_format: Literal["text", "json"] = Field("text", description="text, or one JSON object per line")
    input_retention_hours: int = Field(
        408,
        ge=384,
        description="retention of the input topics (at least 16 days: a subject's state reaches 15 days "
        "back, what a week-over-week baseline a week back needs, and a replay rebuilds it from them)",
    )

    replication_factor: int | None = Field(
        None,
        ge=1,
        description="replicas of every topic streamalert or Faust creates; unset: the broker's default.replication.factor",
    )
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="how to talk to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: SaslMechanism = Field(
        "PLAIN", description="SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
    )
    sasl_username: str | None = Field(None, description="SASL user name")
    sasl_password: SecretStr | None = Field(None, description="SASL password (never logged)")
    ssl_cafile: Path | None = Field(
        None, description="PEM file of the CA(s) that signed the brokers' certificates; unset: the system CAs"
    )
    ssl_certfile: Path | None = Field(None, description="PEM client certificate, for mutual TLS")
    ssl_keyfile: Path | None = Field(None, description="PEM private key of the client certificate")
    ssl_check_hostname: bool = Field(True, description="check that broker certificates name the host")
    # Robustness bounds (notifier, agent supervision), kept together at the end of the class.
    notify_concurrency: int = Field(
        32, ge=1, description="notification sends in progress at once, all channel types together"
    )
    notify_channel_concurrency: int = Field(
        8, ge=1, description="notification sends in progress at once per channel type"
    )
    agent_stuck_after: float = Field(
        120.0,
        gt=0,
        description="seconds an agent may leave records unprocessed without progress before it counts as stuck",
    )

    @field_validator("advertised_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # Other workers send requests there: a typo must stop the worker, not every preview.
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(
                    "must be an http:// or https:// URL naming a host, e.g. http://worker-0:6066"
                )
        return value

    @field_validator("webhook_allow", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_kafka_security(self) -> Settings:
        problems = kafka_security_problems(self)
        if problems:
            raise ValueError("\n".join(problems))  # one line per problem
        return self

    @property
    def bootstrap_servers(self) -> str:
        """The broker URL as aiokafka wants it: `host:port[,host:port]`."""
        return ",".join(
            server.split("://", 1)[-1] for server in self.broker.replace(";", ",").split(",") if server
        )


def advertised_url(settings: Settings) -> str:
    """How the other workers reach this one's API (Faust's `canonical_url`, shared through the
    group's assignment metadata)."""
    return (settings.advertised_url or f"http://{socket.gethostname()}:{settings.web_port}").rstrip("/")


def kafka_security_problems(settings: Settings) -> list[str]:
    """What is wrong with the combination of the Kafka security settings, each naming its variable."""
    return _sasl_problems(settings) + _tls_problems(settings)


def _sasl_problems(settings: Settings) -> list[str]:
    protocol = settings.security_protocol
    problems = []
    if protocol.startswith("SASL_"):
        if not settings.sasl_username:
            problems.append(
                f"STREAMALERT_SASL_USERNAME is required with STREAMALERT_SECURITY_PROTOCOL={protocol}"
            )
        if not (settings.sasl_password and settings.sasl_password.get_secret_value()):
            problems.append(
                f"STREAMALERT_SASL_PASSWORD is required with STREAMALERT_SECURITY_PROTOCOL={protocol}"
            )
        return problems
    # Credentials that would be silently ignored hide a typo in the protocol.
    for name, value in (("USERNAME", settings.sasl_username), ("PASSWORD", settings.sasl_password)):
        if value:
            problems.append(
                f"STREAMALERT_SASL_{name} is set but STREAMALERT_SECURITY_PROTOCOL={protocol} does not "
                "use SASL (SASL_PLAINTEXT or SASL_SSL)"
            )
    return problems


def _tls_problems(settings: Settings) -> list[str]:
    protocol = settings.security_protocol
    tls = protocol in ("SSL", "SASL_SSL")
    problems = []
    files = (
        ("CAFILE", settings.ssl_cafile),
        ("CERTFILE", settings.ssl_certfile),
        ("KEYFILE", settings.ssl_keyfile),
    )
    for name, path in files:
        if path is None:
            continue
        if not tls:
            problems.append(
                f"STREAMALERT_SSL_{name} is set but STREAMALERT_SECURITY_PROTOCOL={protocol} does not use "
                "TLS (SSL or SASL_SSL)"
            )
        elif not path.is_file():
            problems.append(f"STREAMALERT_SSL_{name}: no such file {path}")
    if settings.ssl_keyfile is not None and settings.ssl_certfile is None:
        problems.append("STREAMALERT_SSL_KEYFILE needs STREAMALERT_SSL_CERTFILE (the client certificate)")
    return problems


def describe_settings_error(error: ValidationError) -> str:
    """One line per problem, each naming the `STREAMALERT_*` variable, never echoing a value."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            variable = "STREAMALERT_" + "_".join(str(part) for part in problem["loc"]).upper()
            lines.append(f"{variable}: {message}")
        else:
            lines.append(message)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
