"""Which worker holds a partition of a table: Faust's router, from the assignment metadata.

Faust's assignor shares each member's `canonical_url` (`settings.advertised_url`) and the table
changelog partitions it was given as active, with every member of the group, at each
rebalance (`app.router.table_metadata`). Between rebalances the map is exact; during one it
may name the previous owner, which then answers 503 (web/preview.py), and the caller retries.
"""

from __future__ import annotations

import faust
from yarl import URL

from streamalert.faust_adapter.internals import partitions_recovered


class TableOwners:
    """The active owner of each partition of one table."""

    def __init__(self, app: faust.App, table: faust.Table) -> None:
        self.app = app
        self.table = table

    @property
    def own_url(self) -> URL:
        return URL(str(self.app.conf.canonical_url))

    def owner_of(self, partition: int) -> URL | None:
        """The canonical URL of the worker with `partition` active; None when none has it (yet)."""
        changelog = self.table.changelog_topic.get_topic_name()
        for url, topics in self.app.router.table_metadata(self.table.name).items():
            if partition in topics.get(changelog, ()):
                return URL(url)
        return None

    def holds(self, partition: int) -> bool:
        """This worker has `partition` active and its tables recovered: a local read is exact."""
        return self.owner_of(partition) == self.own_url and partitions_recovered(self.app)
