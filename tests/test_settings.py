import re
from pathlib import Path

import pytest

from streamalert.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_work_with_the_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("STREAMALERT_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert (settings.topic_prefix, settings.partitions, settings.web_port) == ("streamalert", 8, 6066)
    assert settings.evaluation_interval == 60.0
    assert settings.webhook_allow == []


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMALERT_BROKER", "kafka://a:1;kafka://b:2")
    monkeypatch.setenv("STREAMALERT_WEBHOOK_ALLOW", "127.0.0.1, 10.0.0.0/8")
    monkeypatch.setenv("STREAMALERT_EVALUATION_INTERVAL", "0.5")
    settings = Settings()
    assert settings.bootstrap_servers == "a:1,b:2"
    assert settings.webhook_allow == ["127.0.0.1", "10.0.0.0/8"]
    assert settings.evaluation_interval == 0.5


def test_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `STREAMALERT_([A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("http://worker-0.streamalert-workers:6066", True),
        ("https://10.0.0.5:8443/", True),
        ("worker-0:6066", False),
        ("ftp://worker-0", False),
        ("http://", False),
        ("http://w:6066/?x=1", False),
    ],
)
def test_the_advertised_url_is_an_http_url(monkeypatch: pytest.MonkeyPatch, value: str, valid: bool) -> None:
    from pydantic import ValidationError

    from streamalert.settings import advertised_url, describe_settings_error

    monkeypatch.setenv("STREAMALERT_ADVERTISED_URL", value)
    if valid:
        assert advertised_url(Settings()) == value.rstrip("/")
        return
    with pytest.raises(ValidationError) as error:
        Settings()
    assert describe_settings_error(error.value).startswith("STREAMALERT_ADVERTISED_URL: must be an http")


def test_the_advertised_url_defaults_to_this_host_and_the_web_port(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from streamalert.settings import advertised_url

    monkeypatch.delenv("STREAMALERT_ADVERTISED_URL", raising=False)
    monkeypatch.setenv("STREAMALERT_WEB_PORT", "7077")
    assert advertised_url(Settings()) == f"http://{socket.gethostname()}:7077"


def test_input_retention_covers_the_15_days_a_subject_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from streamalert.counting.windows import HOUR, RETENTION

    monkeypatch.delenv("STREAMALERT_INPUT_RETENTION_HOURS", raising=False)
    assert Settings().input_retention_hours == 408  # 17 days
    monkeypatch.setenv("STREAMALERT_INPUT_RETENTION_HOURS", "384")
    assert Settings().input_retention_hours * HOUR >= RETENTION + 24 * HOUR
    monkeypatch.setenv("STREAMALERT_INPUT_RETENTION_HOURS", "96")  # enough for a day-over-day alert only
    with pytest.raises(ValidationError, match="input_retention_hours"):
        Settings()
