#!/usr/bin/env python3
"""Run a single-node Apache Kafka broker (KRaft) from Maven Central's published jars.

Standard library only, so it works before any virtualenv exists:

    python3 deploy/kafka-local/kafka_local.py fetch    # resolve the jars once (Maven)
    python3 deploy/kafka-local/kafka_local.py start    # background; returns once it answers
    python3 deploy/kafka-local/kafka_local.py status
    python3 deploy/kafka-local/kafka_local.py stop

`start` is idempotent. The log dir is formatted once; data survives restarts.

`--sasl-ssl-port PORT` adds a SASL_SSL listener (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over
TLS) beside the PLAINTEXT one, and `--ssl-port PORT` a mutual-TLS listener, for testing
secured clients. On first start a CA, a broker certificate for 127.0.0.1/localhost and a
client certificate are generated with `openssl` into `<data dir>/tls` (`ca.pem` is the CA
clients trust; `client.pem`/`client.key` pass the mutual-TLS listener); `--sasl-user NAME:PASSWORD` (repeatable) names the users,
created as SCRAM credentials when the log dir is formatted and as PLAIN users in the JAAS config.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB = HERE / "lib"
STAMP = LIB / ".pom-sha256"


def say(message: str) -> None:
    print(f"kafka-local: {message}", file=sys.stderr, flush=True)


def die(message: str) -> None:
    say(message)
    sys.exit(1)


# --- jars ------------------------------------------------------------------------------


def pom_digest() -> str:
    return hashlib.sha256((HERE / "pom.xml").read_bytes()).hexdigest()


def jars_ready() -> bool:
    return STAMP.exists() and STAMP.read_text().strip() == pom_digest()


def fetch() -> None:
    if jars_ready():
        return
    if shutil.which("java") is None:
        die("java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)")
    if shutil.which("mvn") is None:
        die("mvn not found: install Apache Maven (Debian: apt-get install maven) to fetch the Kafka jars")
    say("resolving Apache Kafka jars from Maven Central (first run only) ...")
    shutil.rmtree(LIB, ignore_errors=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(HERE / "pom.xml"),
            "dependency:copy-dependencies",
        ],
        check=False,
    )
    if result.returncode != 0:
        die("maven could not resolve the Kafka jars (see its output above)")
    STAMP.write_text(pom_digest())
    say(f"{len(list(LIB.glob('*.jar')))} jars in {LIB}")


# --- the broker process ---------------------------------------------------------------


SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class Broker:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        sasl_ssl_port: int | None = None,
        sasl_users: tuple[tuple[str, str], ...] = (),
        ssl_port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.controller_port = controller_port
        self.sasl_ssl_port = sasl_ssl_port
        self.sasl_users = sasl_users
        self.ssl_port = ssl_port
        self.tls_dir = data_dir / "tls"
        self.log_dir = data_dir / "data"
        self.logs = data_dir / "logs"
        self.pid_file = data_dir / "kafka.pid"
        self.props = data_dir / "server.properties"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def render_config(self) -> None:
        template = (HERE / "server.properties.template").read_text()
        config = template.format(port=self.port, controller_port=self.controller_port, log_dir=self.log_dir)
        if self.secured():
            config = self.with_secured_listeners(config)
        self.props.write_text(config)

    def secured(self) -> bool:
        return self.sasl_ssl_port is not None or self.ssl_port is not None

    def with_secured_listeners(self, config: str) -> str:
        """The PLAINTEXT config plus a SASL_SSL and/or a mutual-TLS listener; the brokers still
        talk PLAINTEXT among themselves, and readiness is checked on the PLAINTEXT port."""
        extra = []
        if self.sasl_ssl_port is not None:
            extra.append(("SASL_SSL", self.sasl_ssl_port))
        if self.ssl_port is not None:
            extra.append(("SSL", self.ssl_port))
        named = ",".join(f"{name}://127.0.0.1:{port}" for name, port in extra)
        protocols = ",".join(f"{name}:{name}" for name, _ in extra)
        replaced = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},{named},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},{named}",
            "listener.security.protocol.map": f"PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,{protocols}",
        }
        lines = [
            f"{key}={replaced[key]}" if key in replaced else line
            for line in config.splitlines()
            for key in [line.split("=", 1)[0]]
        ]
        for name, _ in extra:
            prefix = f"listener.name.{name.lower()}"
            lines += [
                "",
                f"# {name} listener for secured-client tests (kafka_local.py).",
                # PEM files straight from openssl: no JKS/PKCS12 keystore to build.
                f"{prefix}.ssl.keystore.type=PEM",
                f"{prefix}.ssl.keystore.location={self.tls_dir / 'broker-keystore.pem'}",
                f"{prefix}.ssl.truststore.type=PEM",
                f"{prefix}.ssl.truststore.location={self.tls_dir / 'ca.pem'}",
            ]
        if self.sasl_ssl_port is not None:
            plain_users = " ".join(f'user_{name}="{password}"' for name, password in self.sasl_users)
            prefix = "listener.name.sasl_ssl"
            lines += [
                f"{prefix}.sasl.enabled.mechanisms={','.join(SASL_MECHANISMS)}",
                f"{prefix}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                f"required {plain_users};",
                f"{prefix}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
                f"{prefix}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
            ]
        if self.ssl_port is not None:
            # Mutual TLS: a client without a certificate signed by the CA is refused.
            lines.append("listener.name.ssl.ssl.client.auth=required")
        return "\n".join(lines) + "\n"

    def make_certificates(self) -> None:
        """A CA and a broker certificate for 127.0.0.1 and localhost, made once."""
        keystore = self.tls_dir / "broker-keystore.pem"
        if keystore.exists():
            return
        if shutil.which("openssl") is None:
            die("openssl not found: install it (Debian: apt-get install openssl) for --sasl-ssl-port")
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        tls = self.tls_dir
        (tls / "client.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        (tls / "broker.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        steps = [
            "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=kafka-local-test-CA"
            " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
            "req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj /CN=127.0.0.1",
            "x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem -days 30"
            " -extfile broker.ext",
            # A client certificate for the mutual-TLS listener.
            "req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=streamalert",
            "x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 30"
            " -extfile client.ext",
        ]
        for step in steps:
            result = subprocess.run(
                ["openssl", *step.split()], cwd=tls, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                die(f"openssl {step.split()[0]} failed:\n{result.stderr}")
        # Kafka's PEM keystore: the (unencrypted PKCS#8) key, then the certificate chain.
        keystore.write_text((tls / "broker.key").read_text() + (tls / "broker.pem").read_text())
        say(f"generated a test CA ({tls / 'ca.pem'}), a broker certificate for 127.0.0.1 and client.pem/.key")

    def java(self, main: str, *args: str, jvm_options: tuple[str, ...] = ()) -> list[str]:
        return [
            "java",
            *jvm_options,
            f"-Dlog4j2.configurationFile={HERE / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            f"{LIB}/*",
            main,
            *args,
        ]

    def format_once(self) -> None:
        if (self.log_dir / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        say(f"formatting {self.log_dir} (cluster id {cluster_id})")
        scram = [
            argument
            for name, password in self.sasl_users
            for mechanism in SASL_MECHANISMS[1:]
            for argument in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]
        result = subprocess.run(
            self.java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.props), *scram),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            die(f"formatting failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float) -> None:
        if self.pid() is not None and answers_metadata(self.port):
            say(f"already running on 127.0.0.1:{self.port} (pid {self.pid()})")
            return
        if self.pid() is None and answers_metadata(self.port):
            say(f"a broker not started by this script already answers on 127.0.0.1:{self.port}; using it")
            return
        fetch()
        for folder in (self.data_dir, self.log_dir, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        if self.secured():
            self.make_certificates()
        self.render_config()
        self.format_once()
        if self.pid() is None:
            heap = os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx1g").split()
            out = open(self.logs / "kafka.out", "ab")  # noqa: SIM115 - handed to the child
            process = subprocess.Popen(
                self.java("kafka.Kafka", str(self.props), jvm_options=tuple(heap)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the caller's terminal is the caller's to handle
            )
            self.pid_file.write_text(str(process.pid))
            say(f"starting broker on 127.0.0.1:{self.port} (pid {process.pid}, data {self.data_dir})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                die(f"broker exited during start-up; last log lines:\n{self.tail()}")
            secured = [port for port in (self.sasl_ssl_port, self.ssl_port) if port is not None]
            if answers_metadata(self.port) and all(listens(port) for port in secured):
                extra = f", SASL_SSL on 127.0.0.1:{self.sasl_ssl_port}" if self.sasl_ssl_port else ""
                extra += f", mutual TLS on 127.0.0.1:{self.ssl_port}" if self.ssl_port else ""
                say(f"ready on 127.0.0.1:{self.port}{extra}")
                return
            time.sleep(0.3)
        die(f"broker did not answer within {timeout:.0f} s; last log lines:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            say("not running")
            self.pid_file.unlink(missing_ok=True)
            return
        say(f"stopping broker (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            say("broker ignored SIGTERM; killing it")
            os.kill(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        say("stopped")

    def status(self) -> int:
        pid = self.pid()
        if pid is not None and answers_metadata(self.port):
            print(f"running on 127.0.0.1:{self.port} (pid {pid}, data {self.data_dir})")
            return 0
        print("stopped" if pid is None else f"process {pid} alive but not answering on {self.port}")
        return 1

    def tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("kafka.out", "server.log"):
            path = self.logs / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text


def new_cluster_id() -> str:
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not value.startswith("-"):  # Kafka refuses ids that look like options
            return value


# --- readiness: a real Metadata request -----------------------------------------------


def answers_metadata(port: int, host: str = "127.0.0.1") -> bool:
    """True when the broker answers a Metadata (v4) request listing at least one broker."""
    client_id = b"kafka-local"
    # header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id
    header = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id
    body = struct.pack(">ib", -1, 0)  # all topics (null array), no auto-creation
    request = header + body
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.settimeout(2)
            conn.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", recv_exactly(conn, 4))[0]
            response = recv_exactly(conn, size)
    except (OSError, struct.error):
        return False
    correlation_id, _throttle, broker_count = struct.unpack(">iii", response[:12])
    return correlation_id == 7 and broker_count > 0


def listens(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def sasl_user(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name or not password:
        raise argparse.ArgumentTypeError("expected NAME:PASSWORD")
    return name, password


def recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["fetch", "start", "stop", "status"])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("KAFKA_LOCAL_DIR", REPO / ".local" / "kafka"))
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("KAFKA_LOCAL_PORT", "9092")))
    parser.add_argument(
        "--controller-port", type=int, default=int(os.environ.get("KAFKA_LOCAL_CONTROLLER_PORT", "9093"))
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    parser.add_argument(
        "--sasl-ssl-port", type=int, default=None, help="also listen with SASL_SSL on this port"
    )
    parser.add_argument(
        "--ssl-port", type=int, default=None, help="also listen with mutual TLS (client certificate required)"
    )
    parser.add_argument(
        "--sasl-user",
        type=sasl_user,
        action="append",
        default=[],
        help="NAME:PASSWORD of a SASL user (PLAIN and SCRAM; repeatable; SCRAM users are made at format time)",
    )
    args = parser.parse_args()
    broker = Broker(
        args.data_dir.resolve(),
        args.port,
        args.controller_port,
        args.sasl_ssl_port,
        tuple(args.sasl_user),
        args.ssl_port,
    )
    if args.command == "fetch":
        fetch()
    elif args.command == "start":
        broker.start(args.timeout)
    elif args.command == "stop":
        broker.stop()
    else:
        sys.exit(broker.status())


if __name__ == "__main__":
    main()
