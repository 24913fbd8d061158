"""`ccmon serve`: wires the store, the writer, both OTLP receivers and the API into one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

from ccmon.alerts.config_file import AlertsFileError
from ccmon.alerts.services import AlertServices, process_holder
from ccmon.analytics import Analytics
from ccmon.auth.audit import Audit
from ccmon.auth.authenticator import is_loopback
from ccmon.directory.pseudonyms import pseudonym_secret
from ccmon.directory_cli import open_directory
from ccmon.forward.forwarder import Forwarder, open_forwarder
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.privacy import Privacy
from ccmon.ingest.stats import IngestStats
from ccmon.ingest.tokens import IngestTokens
from ccmon.ingest.writer import BatchWriter
from ccmon.otlp.grpc import GrpcReceiverThread
from ccmon.otlp.http import OtlpHttpApp
from ccmon.otlp.receiver import Receiver
from ccmon.ports import PortsUnavailable, check_ports, ports_of
from ccmon.prices_config import open_prices
from ccmon.reports.schedule import ReportScheduler, open_schedule
from ccmon.reports.send import sender
from ccmon.server_app import build_api, open_access, open_alerts
from ccmon.server_demo import DEMO_DOMAIN, DEMO_DURATION, DemoLoad
from ccmon.settings import Config, ConfigError
from ccmon.store.facade import Store
from ccmon.store.report_runs import ReportRuns
from ccmon.store.retention import RetentionPolicy, apply_retention
from ccmon.tls import TlsFiles
from ccmon.web.ui import ServerInfo

log = logging.getLogger(__name__)

GIL_SWITCH_INTERVAL_S = 0.05


def check_exposure(config: Config, *, ingest_auth: bool = False, logins: Sequence[str] = ()) -> None:
    """Safe by default: listening beyond loopback needs authenticated ingest (static `ingest_tokens`, or ingest tokens
    in the store: `ingest_auth`) and a way to log in to the API (`api_tokens`, or the `logins` found configured:
    users, API keys, single sign-on, a trusted proxy)."""
    if is_loopback(config.host):
        return
    missing = []
    if not (config.ingest_tokens or ingest_auth):
        missing.append("ingest_tokens")
    if not (config.api_tokens or logins):
        missing.append("api_tokens")
    if missing:
        raise ConfigError(
            f"refusing to listen on {config.host}: a non-loopback address needs {' and '.join(missing)} "
            "(--ingest-tokens / CCMON_INGEST_TOKENS or `ccmon tokens create`; --api-tokens / CCMON_API_TOKENS, "
            "`ccmon users add`, `ccmon api-keys create`, single sign-on or --trusted-proxies)"
        )


def retention_policy(config: Config) -> RetentionPolicy:
    return RetentionPolicy(
        events=config.retention_days_events,
        metrics=config.retention_days_metrics,
        spans=config.retention_days_spans,
        rollups=config.retention_days_rollups,
        audit=config.retention_days_audit,
    )


def privacy_settings(config: Config, store: Store) -> Privacy:
    """The content policy, redaction patterns and (with `hash_emails`) the pseudonyms' secret ingest applies."""
    return Privacy(
        prompts=config.content_prompts,
        responses=config.content_responses,
        tool_details=config.content_tool_details,
        extra_patterns=config.redact_patterns,
        email_secret=pseudonym_secret(store, config.hash_secret) if config.hash_emails else None,
    )


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `Server` (two listeners share one process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Server:
    def __init__(self, config: Config, *, demo: bool = False) -> None:
        self.tls = TlsFiles.from_config(config)  # every file checked before anything starts
        self.config = config
        self.demo = demo
        self.stats = IngestStats()
        self.ready = False
        self.demo_load: DemoLoad | None = None
        self.alerts: AlertServices | None = None
        self.reports: ReportScheduler | None = None
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def reload_alerts_file(self) -> bool:
        """Apply the alerts file again (SIGHUP); a malformed file is logged with its line and reason, and the rules,
        channels, budgets and policies in force stay as they were. Whether it was applied."""
        alerts = self.alerts
        if alerts is None or not alerts.alerts_file:
            log.info("SIGHUP: no alerts file to reload (setting alerts_file)")
            return False
        try:
            loaded = alerts.reload_file(actor="sighup")
        except AlertsFileError as exc:
            log.error("alerts file not reloaded, the running rules are unchanged: %s", exc)
            return False
        except Exception:  # a store error: keep serving, say so
            log.exception("alerts file not reloaded")
            return False
        log.info("alerts file %s reloaded: %s", alerts.alerts_file, loaded.summary())
        return True

    def _open_reports(self, store: Store, analytics: Analytics) -> ReportScheduler | None:
        """The weekly report's schedule (`report_schedule`, `report_channels`), checked and not started."""
        config, alerts = self.config, self.alerts
        assert alerts is not None
        send_week = sender(analytics, lambda: alerts.channels, config.report_channels)
        try:
            return open_schedule(
                config.report_schedule,
                config.report_channels,
                lambda: alerts.channels,
                ReportRuns(store),
                send_week,
                holder=process_holder(),
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    def _on_sighup(self) -> None:
        threading.Thread(target=self.reload_alerts_file, name="ccmon-alerts-reload", daemon=True).start()

    def _listener(self, app: Any, port: int, *, client_certs: bool = False) -> _Listener:
        tls = self.tls.uvicorn_options(client_certs=client_certs) if self.tls else {}
        return _Listener(
            uvicorn.Config(
                app,
                host=self.config.host,
                port=port,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
                # The client address is the TCP peer's: trusted proxies, login rate limits and the audit log rely on
                # it, and uvicorn would otherwise believe X-Forwarded-For from any loopback peer.
                proxy_headers=False,
                **tls,
            )
        )

    def _plan_demo(self, store: Store, tokens: IngestTokens) -> DemoLoad | None:
        """The demo load to run once the receivers listen: only into an empty store (the demo is deterministic, and
        re-sent after the dedup window it would count twice), over plain gRPC with the first static ingest token if
        any. Planned before the server says it is ready, so the load shows as running from the first answer on."""
        if store.has_events():
            log.info("demo data not loaded: the store already holds events")
            return None
        if self.tls or (tokens.required() and not self.config.ingest_tokens):
            log.warning(
                "demo data not loaded: the receivers ask for TLS or a stored ingest token (`ccmon demo --token TOKEN` "
                "sends the demo to a plain-text receiver that asks for a token)"
            )
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
        sighup = getattr(signal, "SIGHUP", None)  # not on Windows
        if sighup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sighup, self._on_sighup)
        store = await asyncio.to_thread(
            Store.open, data_dir=config.data_dir, url=config.clickhouse_url, database=config.database
        )
        writer: BatchWriter | None = None
        forwarder: Forwarder | None = None
        listeners: list[_Listener] = []
        tasks: list[asyncio.Task[None]] = []
        grpc_server = None
        tokens: IngestTokens | None = None
        try:
            applied = await asyncio.to_thread(store.migrate)
            log.info(
                "store open: %s, schema version %d",
                store.description,
                store.schema_version(),
                extra={"migrations_applied": applied},
            )
            await asyncio.to_thread(apply_retention, store, retention_policy(config))
            # The directory file replaces the stored directory before anything is received (a bad file: no start).
            directory = await asyncio.to_thread(open_directory, config, store, Audit(store))
            attribution = Attribution(config.project_attributes, config.team_from_email, directory)
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
                privacy=await asyncio.to_thread(privacy_settings, config, store),
            )
            await asyncio.to_thread(writer.start)
            forwarder = await asyncio.to_thread(open_forwarder, config, self.stats.registry)
            access = await asyncio.to_thread(open_access, config, store, directory)
            # The default rules seeded, the alerts file applied (a malformed file: no start); the engine starts
            # once the listeners are up.
            self.alerts = await asyncio.to_thread(open_alerts, config, store, directory, holder=process_holder())
            # One analytics layer for the process: the price table (`pricing_file`: a malformed one, no start) and
            # the Prometheus cache are shared by the API and the report schedule.
            analytics = await asyncio.to_thread(lambda: Analytics(store, open_prices(config)))
            self.reports = await asyncio.to_thread(self._open_reports, store, analytics)  # a bad schedule: no start
            tokens = access.tokens
            await asyncio.to_thread(tokens.start)
            # Before any listener opens: an exposed address without authentication is refused, not served briefly.
            logins = await asyncio.to_thread(access.authenticator.methods)
            check_exposure(config, ingest_auth=tokens.required(), logins=logins)
            log.info(
                "API authentication: %s",
                ", ".join(logins) if logins else "none (loopback only: every local caller is the admin)",
            )
            if self.demo:
                self.demo_load = await asyncio.to_thread(self._plan_demo, store, tokens)
            receiver = Receiver(
                writer,
                self.stats,
                tokens=config.ingest_tokens,
                registry=tokens,
                max_request_bytes=config.max_request_bytes,
                max_value_length=config.max_attribute_length,
                attribution=attribution,
                on_committed=forwarder.submit if forwarder is not None else None,
            )
            grpc_credentials = self.tls.grpc_credentials() if self.tls else None
            grpc_server = GrpcReceiverThread(receiver, f"{config.host}:{config.otlp_grpc_port}", grpc_credentials)
            await asyncio.to_thread(grpc_server.start)
            info = ServerInfo.from_config(config, demo_domain=DEMO_DOMAIN)
            api = await asyncio.to_thread(
                lambda: build_api(
                    config,
                    access,
                    registry=self.stats.registry,
                    info=info,
                    ready=lambda: self.ready,
                    loading=lambda: self.demo_load.status() if self.demo_load else None,
                    alerts=self.alerts,
                    analytics=analytics,
                )
            )
            named = {port.number: port for port in ports_of(config)}
            listeners = [
                self._listener(OtlpHttpApp(receiver), config.otlp_http_port, client_certs=True),
                self._listener(api, config.port),
            ]
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
            scheme = "https" if self.tls else "http"
            log.info(
                "ccmon listening",
                extra={
                    "api": f"{scheme}://{config.host}:{config.port}",
                    "otlp_grpc": f"{config.host}:{config.otlp_grpc_port}",
                    "otlp_http": f"{scheme}://{config.host}:{config.otlp_http_port}",
                    "tls": "mTLS on the receivers" if self.tls and self.tls.client_ca else bool(self.tls),
                },
            )
            if self.demo_load:
                self._start_demo(self.demo_load)
            if config.alerts_enabled and self.alerts is not None:
                await asyncio.to_thread(self.alerts.engine.start)
                log.info("alert engine started", extra={"interval_s": config.alerts_interval_s})
            if self.reports is not None:
                self.reports.start()
                log.info("weekly report scheduled", extra={"next": str(self.reports.next_firing)})
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
            if self.alerts is not None:
                await asyncio.to_thread(self.alerts.engine.close)  # before the store: an evaluation may be running
            if self.reports is not None:
                await asyncio.to_thread(self.reports.close)  # likewise, a report being sent
            if tokens is not None:
                await asyncio.to_thread(tokens.close)  # last-use times gathered since the last flush
            if writer is not None:
                await asyncio.to_thread(writer.close)
            if forwarder is not None:
                await asyncio.to_thread(forwarder.close)  # after the writer: every committed request handed over
            store.close()
            log.info("stopped")
