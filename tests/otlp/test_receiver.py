"""The receiver's `on_committed` hook (how forwarding learns of a request): told by the commit itself, so a handler
cancelled while it waits (a gRPC deadline, a shutdown) does not keep committed rows from it, and a failed commit
never reaches it."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

from ccmon.ingest.rows import IngestBatch
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import CommitFailed
from ccmon.otlp.receiver import Receiver
from ccmon.otlp.signals import LOGS, Encoding
from tests.otlp.helpers import event, logs_request, session, to_protobuf

Told = tuple[str, bool, bytes, int]


class _Pending:
    """A writer whose commits the test completes by hand."""

    def __init__(self) -> None:
        self.commits: list[Future[None]] = []

    def submit(self, batch: IngestBatch) -> Future[None]:
        commit: Future[None] = Future()
        self.commits.append(commit)
        return commit


def _request() -> bytes:
    return to_protobuf("logs", logs_request([event("api_request", session(), 0, cost_usd=0.5)]))


async def _cancelled_while_committing(receiver: Receiver, writer: _Pending, data: bytes) -> None:
    handler = asyncio.create_task(receiver.export(LOGS, Encoding.PROTOBUF, data, "test"))
    while not writer.commits:
        await asyncio.sleep(0.001)
    handler.cancel()
    await asyncio.gather(handler, return_exceptions=True)


def test_a_commit_reaches_the_hook_after_its_handler_was_cancelled() -> None:
    told: list[Told] = []
    writer = _Pending()
    receiver = Receiver(writer, IngestStats(), on_committed=lambda *args: told.append(args))
    data = _request()
    asyncio.run(_cancelled_while_committing(receiver, writer, data))
    assert told == []  # not before the commit
    writer.commits[0].set_result(None)
    assert [(signal, is_json, body) for signal, is_json, body, _ in told] == [("logs", False, data)]


def test_a_failed_commit_never_reaches_the_hook() -> None:
    told: list[Told] = []
    writer = _Pending()
    receiver = Receiver(writer, IngestStats(), on_committed=lambda *args: told.append(args))
    asyncio.run(_cancelled_while_committing(receiver, writer, _request()))
    writer.commits[0].set_exception(CommitFailed("the store refused the batch"))
    assert told == []
