"""How every Kafka client of streamalert connects: bootstrap servers, TLS and SASL, in one place.

Each aiokafka client is built with `**client_options(settings)` and the Faust app with
`faust_options(settings)`, so no client can talk to the cluster differently from the others.
`check_connection` opens one connection first, so that a wrong password, CA or address is one
clear error naming the setting to fix, instead of clients retrying forever.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from streamalert.settings import Settings
from streamalert.text import redact

CREDENTIAL_VARIABLES = "STREAMALERT_SASL_USERNAME/STREAMALERT_SASL_PASSWORD"


class KafkaSetupError(Exception):
    """The worker or CLI cannot use the configured Kafka cluster; the message says which setting."""


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL, None for the protocols without TLS."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
    except (ssl.SSLError, OSError) as error:
        raise KafkaSetupError(f"cannot read STREAMALERT_SSL_CAFILE {settings.ssl_cafile}: {error}") from None
    context.check_hostname = settings.ssl_check_hostname
    if settings.ssl_certfile is not None:
        try:
            context.load_cert_chain(
                str(settings.ssl_certfile), str(settings.ssl_keyfile) if settings.ssl_keyfile else None
            )
        except (ssl.SSLError, OSError) as error:
            raise KafkaSetupError(
                f"cannot load the client certificate (STREAMALERT_SSL_CERTFILE {settings.ssl_certfile}, "
                f"STREAMALERT_SSL_KEYFILE {settings.ssl_keyfile}): {error}"
            ) from None
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for every AIOKafkaConsumer, AIOKafkaProducer and AIOKafkaAdminClient."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # the settings validate it
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def faust_options(settings: Settings) -> dict[str, Any]:
    """The Faust App settings that make its consumer, producer and admin connect like the rest."""
    from faust.auth import SASLCredentials, SSLCredentials

    context = ssl_context(settings)
    credentials: Any = None
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None
        # With an ssl_context Faust's SASLCredentials speak SASL_SSL, without one SASL_PLAINTEXT.
        credentials = SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    elif context is not None:
        credentials = SSLCredentials(context)
    return {
        "broker": settings.broker,
        "broker_credentials": credentials,
        # Faust cannot ask for the broker's default (it wants a number >= 1), but every topic it
        # would create (table changelogs, the assignor's leader topic) is created beforehand by
        # `topics.ensure_topics`, which can; this only applies to a topic Faust adds on its own.
        "topic_replication_factor": settings.replication_factor or 1,
    }


def describe_failure(settings: Settings, address: str, error: BaseException) -> str:
    """One line saying what failed and which settings to check; never the password."""
    if isinstance(error, SaslAuthenticationFailed):
        text = (
            f"Kafka authentication failed for user {settings.sasl_username} at {address} "
            f"({CREDENTIAL_VARIABLES}, STREAMALERT_SASL_MECHANISM={settings.sasl_mechanism}): {error}"
        )
    elif isinstance(error, UnsupportedSaslMechanismError):
        text = f"Kafka at {address} refuses STREAMALERT_SASL_MECHANISM={settings.sasl_mechanism}: {error}"
    elif isinstance(error, IllegalSaslStateError):
        text = (
            f"Kafka at {address} does not expect SASL on this listener "
            f"(STREAMALERT_SECURITY_PROTOCOL={settings.security_protocol}): {error}"
        )
    elif isinstance(error, ssl.SSLCertVerificationError):
        text = (
            f"the TLS certificate of Kafka at {address} is not trusted "
            f"(STREAMALERT_SSL_CAFILE={settings.ssl_cafile or 'system CAs'}, "
            f"STREAMALERT_SSL_CHECK_HOSTNAME={str(settings.ssl_check_hostname).lower()}): "
            f"{getattr(error, 'verify_message', None) or error}"
        )
    elif isinstance(error, ssl.SSLError):
        text = (
            f"TLS handshake with Kafka at {address} failed (STREAMALERT_SECURITY_PROTOCOL="
            f"{settings.security_protocol}, STREAMALERT_SSL_CERTFILE={settings.ssl_certfile}): {error}"
        )
    elif isinstance(error, TimeoutError):
        text = (
            f"Kafka at {address} did not answer in time (STREAMALERT_BROKER; does the listener speak "
            f"STREAMALERT_SECURITY_PROTOCOL={settings.security_protocol}?)"
        )
    else:
        text = (
            f"cannot reach Kafka at {address} (STREAMALERT_BROKER, STREAMALERT_SECURITY_PROTOCOL="
            f"{settings.security_protocol}): {str(error) or repr(error)}"
        )
        if settings.security_protocol in ("SSL", "SASL_SSL") and isinstance(error, KafkaConnectionError):
            # A broker that wants a client certificate closes the connection after the handshake.
            text += (
                "; if the listener requires mutual TLS, check STREAMALERT_SSL_CERTFILE "
                f"({settings.ssl_certfile or 'not set'}) and STREAMALERT_SSL_KEYFILE"
            )
    return mask_secret(settings, text)


def mask_secret(settings: Settings, text: str) -> str:
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    return redact(text, [password])


async def check_connection(settings: Settings, timeout: float = 10.0) -> None:
    """Connect and authenticate to one bootstrap server; raise KafkaSetupError naming the setting.

    aiokafka's clients log each failed bootstrap attempt and some retry for good, so the
    first connection is made here, by hand, where the real cause is still at hand.
    """
    from aiokafka.conn import create_conn

    options = client_options(settings)
    options.pop("bootstrap_servers")
    failures = []
    for address in settings.bootstrap_servers.split(","):
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():  # no port: Kafka's default, as aiokafka and Faust assume
            host, port = address, "9092"
        try:
            async with asyncio.timeout(timeout):
                connection = await create_conn(
                    host.strip("[]"),
                    int(port),
                    client_id="streamalert-check",
                    request_timeout_ms=int(timeout * 1000),
                    **options,
                )
        except (OSError, KafkaError, TimeoutError) as error:
            failures.append(describe_failure(settings, address, error))
            if isinstance(error, SaslAuthenticationFailed | ssl.SSLError):
                break  # the same credentials and CA fail on every broker
            continue
        connection.close()
        return
    raise KafkaSetupError(failures[0] if len(failures) == 1 else "; ".join(failures))
