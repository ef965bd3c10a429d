"""Every setting of a worker, read from `STREAMALERT_*` environment variables (SPEC §7).

Each default works with `make kafka-start` on the same machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMALERT_", extra="ignore")

    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap URL")
    app_id: str = Field("streamalert", description="Faust app id: consumer group and changelog names")
    topic_prefix: str = Field("streamalert", description="prefix of every streamalert topic")
    partitions: int = Field(8, ge=1, description="partitions of new topics")
    store: str = Field("rocksdb://", description="table store: memory:// or rocksdb://")
    data_dir: Path = Field(Path(".local/data"), description="worker state directory")
    web_port: int = Field(6066, ge=1, le=65535, description="HTTP port of the API")
    web_bind: str = Field("0.0.0.0", description="address the HTTP server listens on")
    public_url: str = Field(
        "http://127.0.0.1:6066", description="base URL of the API, for links in notifications"
    )
    evaluation_interval: float = Field(60.0, gt=0, description="seconds between evaluations")
    tokens_file: Path = Field(Path(".local/tokens.json"), description="hashed API tokens")
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
        96, ge=72, description="retention of the input topics (SPEC §3.1: at least 3 days)"
    )

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

    @field_validator("webhook_allow", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def bootstrap_servers(self) -> str:
        """The broker URL as aiokafka wants it: `host:port[,host:port]`."""
        return ",".join(
            server.split("://", 1)[-1] for server in self.broker.replace(";", ",").split(",") if server
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
