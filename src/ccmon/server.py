"""`ccmon serve`: wires the store, the writer, both OTLP receivers and the API into one process."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from ccmon.analytics import Analytics
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.grpc import GrpcReceiverThread
from ccmon.otlp.http import OtlpHttpApp
from ccmon.otlp.receiver import Receiver
from ccmon.ports import PortsUnavailable, check_ports, ports_of
from ccmon.server_demo import DEMO_DOMAIN, DEMO_DURATION, DemoLoad
from ccmon.settings import Config, ConfigError
from ccmon.store.facade import Store
from ccmon.web.app import create_app
from ccmon.web.ui import ServerInfo

log = logging.getLogger(__name__)

GIL_SWITCH_INTERVAL_S = 0.05


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: Config) -> None:
    """Safe by default: listening beyond loopback needs ingest and API tokens."""
    if is_loopback(config.host):
        return
    missing = [s for s, v in (("ingest_tokens", config.ingest_tokens), ("api_tokens", config.api_tokens)) if not v]
    if missing:
        raise ConfigError(
            f"refusing to listen on {config.host}: a non-loopback address needs {' and '.join(missing)} "
            "(--ingest-tokens / CCMON_INGEST_TOKENS, --api-tokens / CCMON_API_TOKENS)"
        )


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `Server` (two listeners share one process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Server:
    def __init__(self, config: Config, *, demo: bool = False) -> None:
        check_exposure(config)
        self.config = config
        self.demo = demo
        self.stats = IngestStats()
        self.ready = False
        self.demo_load: DemoLoad | None = None
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def _listener(self, app: Any, port: int) -> _Listener:
        return _Listener(
            uvicorn.Config(
                app,
                host=self.config.host,
                port=port,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )

    def _plan_demo(self, store: Store) -> DemoLoad | None:
        """The demo load to run once the receivers listen: only into an empty store (the demo is deterministic, and
        re-sent after the dedup window it would count twice). Planned before the server says it is ready, so the
        load shows as running from the first answer on."""
        if store.has_events():
            log.info("demo data not loaded: the store already holds events")
            return None
        return DemoLoad()

    def _start_demo(self, load: DemoLoad) -> None:
        """Send the demo organisation to our own OTLP/gRPC port, in the background."""
        wildcard = self.config.host in {"0.0.0.0", "::", "localhost"} or ":" in self.config.host
        host = "127.0.0.1" if wildcard else self.config.host
        endpoint = f"http://{host}:{self.config.otlp_grpc_port}"
        token = self.config.ingest_tokens[0] if self.config.ingest_tokens else None
        log.info("loading demo data in the background (%s); the dashboard shows its progress", DEMO_DURATION)
        threading.Thread(target=load.send, args=(endpoint, token), name="ccmon-demo", daemon=True).start()

    async def run(self) -> None:
        # Two receiver loops and the writer take turns holding the GIL; at the default 5 ms a decode is cut into
        # several slices and the hand-offs cost about a fifth of the throughput under load (docs/performance.md).
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        config = self.config
        check_ports(config.host, ports_of(config))  # before the store is opened: a clash changes nothing
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.request_stop)
        store = await asyncio.to_thread(
            Store.open, data_dir=config.data_dir, url=config.clickhouse_url, database=config.database
        )
        writer: BatchWriter | None = None
        listeners: list[_Listener] = []
        tasks: list[asyncio.Task[None]] = []
        grpc_server = None
        try:
            applied = await asyncio.to_thread(store.migrate)
            log.info(
                "store open: %s, schema version %d",
                store.description,
                store.schema_version(),
                extra={"migrations_applied": applied},
            )
            attribution = Attribution(config.project_attributes, config.team_from_email)
            writer = BatchWriter(
                store,
                self.stats,
                max_rows=config.batch_max_rows,
                max_delay_s=config.batch_max_delay_ms / 1000,
                queue_max_rows=config.queue_max_rows,
                dedup_window_s=config.dedup_window_s,
                dedup_max_keys=config.dedup_max_keys,
                attribution=attribution,
                max_value_length=config.max_attribute_length,
            )
            await asyncio.to_thread(writer.start)
            if self.demo:
                self.demo_load = await asyncio.to_thread(self._plan_demo, store)
            receiver = Receiver(
                writer,
                self.stats,
                tokens=config.ingest_tokens,
                max_request_bytes=config.max_request_bytes,
                max_value_length=config.max_attribute_length,
                attribution=attribution,
            )
            grpc_server = GrpcReceiverThread(receiver, f"{config.host}:{config.otlp_grpc_port}")
            await asyncio.to_thread(grpc_server.start)
            api = create_app(
                Analytics(store),
                ready=lambda: self.ready,
                registry=self.stats.registry,
                info=ServerInfo.from_config(config, demo_domain=DEMO_DOMAIN),
                loading=lambda: self.demo_load.status() if self.demo_load else None,
                api_tokens=config.api_tokens,
                scrape_tokens=config.scrape_tokens,
            )
            named = {port.number: port for port in ports_of(config)}
            listeners = [self._listener(OtlpHttpApp(receiver), config.otlp_http_port), self._listener(api, config.port)]
            tasks = [asyncio.create_task(listener.serve()) for listener in listeners]
            while not all(listener.started for listener in listeners):
                for listener, task in zip(listeners, tasks, strict=True):
                    if task.done():
                        port = named[listener.config.port]
                        raise PortsUnavailable(
                            f"port {port.number} ({port.purpose}) on {config.host} could not be bound: "
                            f"is another process using it? Choose another with {port.flag}"
                        )
                await asyncio.sleep(0.02)
            self.ready = True
            log.info(
                "ccmon listening",
                extra={
                    "api": f"http://{config.host}:{config.port}",
                    "otlp_grpc": f"{config.host}:{config.otlp_grpc_port}",
                    "otlp_http": f"http://{config.host}:{config.otlp_http_port}",
                },
            )
            if self.demo_load:
                self._start_demo(self.demo_load)
            stop = asyncio.create_task(self._stop.wait())
            await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
        finally:
            self.ready = False
            log.info("shutting down: stopping receivers, then committing the write queue")
            if writer is not None:
                writer.hurry()
            if grpc_server is not None:
                await asyncio.to_thread(grpc_server.stop, 5)
            for listener in listeners:
                listener.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            if writer is not None:
                await asyncio.to_thread(writer.close)
            store.close()
            log.info("stopped")
