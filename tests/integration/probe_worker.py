"""A real streamalert worker with two more agents, for the agent-failure tests.

`test.crash` raises on the record `crash` and `test.hang` waits forever on the record `hang`;
any other record is consumed. Run as `python -m tests.integration.probe_worker` with the
usual STREAMALERT_* variables; it creates its topics `<prefix>.probe-crash` and
`<prefix>.probe-hang`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faust import StreamT

from streamalert.app import build, raw_topic
from streamalert.cli import prepare_worker, run_worker
from streamalert.settings import get_settings
from streamalert.topics import topic_name

PROBES = ("probe-crash", "probe-hang")


async def create_probe_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


def main() -> None:
    settings = get_settings()
    prepare_worker(settings)
    names = [topic_name(settings, probe) for probe in PROBES]
    asyncio.run(create_probe_topics(settings.bootstrap_servers, names, settings.partitions))
    wiring = build(settings)
    app = wiring.app

    @app.agent(raw_topic(app, "probe-crash", settings), name="test.crash")
    async def crash(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            if event.value == b"crash":
                raise RuntimeError("the probe crashes, as asked")
            yield None

    @app.agent(raw_topic(app, "probe-hang", settings), name="test.hang")
    async def hang(stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            if event.value == b"hang":
                await asyncio.Event().wait()
            yield None

    wiring.agent_watch.hook()
    run_worker(wiring)


if __name__ == "__main__":
    main()
