"""How `llmecon serve` starts the gateway: the app, its uvicorn server (guarded connections,
draining shutdown), the journal beside the ledger, and the fallbacks."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import resource
import signal
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmecon.cli.serve_config import ENV
from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from collections.abc import Callable

    import uvicorn

    from llmecon.gateway.admission import Door
    from llmecon.gateway.app import Gateway, GatewayConfig
    from llmecon.gateway.tracing import Tracing
    from llmecon.gateway.upstream_client import UpstreamTimeouts
    from llmecon.gateway.upstreams import Fallback, Upstream
    from llmecon.pricebook.book import PriceBook


@dataclass(frozen=True)
class Hardening:
    """Connection limits and upstream timeouts (`serve --max-connections` and friends)."""

    max_connections: int
    header_timeout_s: float
    body_timeout_s: float
    timeouts: UpstreamTimeouts
    admin_key_sha256: str | None = None  # the web console's key, hashed
    tracing: Callable[[], Tracing] | None = None  # `--otel`: makes each process's tracing


otel_option = click.option(
    "--otel",
    is_flag=True,
    envvar=ENV["otel"],
    help="OpenTelemetry traces of model requests over OTLP/HTTP, sent where the OTEL_* "
    "variables say (OTEL_EXPORTER_OTLP_ENDPOINT...); needs the otel extra.",
)
OTEL_MODULES = ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter")


def tracing(otel: bool) -> Callable[[], Tracing] | None:
    """What makes the gateway's tracing (`--otel`; imported only then), or None; a one-line
    error when the otel extra is not installed."""
    if not otel:
        return None
    import importlib  # noqa: PLC0415

    try:
        for module in OTEL_MODULES:
            importlib.import_module(module)
        from llmecon.gateway.tracing import from_environment  # noqa: PLC0415
    except ImportError as error:
        raise LlmeconError(
            f"--otel needs the otel extra ({error.name or 'opentelemetry'} is missing): "
            "pip install 'llmecon[otel]'"
        ) from None
    return from_environment


@dataclass(frozen=True)
class Stores:
    """The ledger's name (for the journal), the ledger and the key store (its own connection),
    and how to open both again (each `--workers` process opens its own)."""

    name: str
    ledger: Any
    keys: Any
    reopen: Callable[[], tuple[Any, Any]]


def check_compared(book: PriceBook, chat: tuple[str, ...], embeddings: tuple[str, ...]) -> None:
    """The compared APIs exist and are of the right kind, before anything starts."""
    from llmecon.pricebook.catalog import api_options, embedding_options  # noqa: PLC0415

    for flag, names, build in (
        ("--compare-with", chat, api_options),
        ("--compare-embeddings", embeddings, embedding_options),
    ):
        for name in names:
            try:
                build(book, (name,))
            except LlmeconError as error:
                raise LlmeconError(f"{flag} {name}: {error}") from None


def run_gateway(
    host: str,
    port: int,
    no_auth: bool,
    routes: list[Upstream],
    compare: tuple[str, ...],
    book: PriceBook,
    interval: float,
    body_limit: int,
    fallbacks: tuple[str, ...],
    journal: Path,
    door: Door | None,
    drain: float,
    hardening: Hardening,
    stores: Stores,
    workers: int = 1,
    compare_embeddings: tuple[str, ...] = (),
) -> None:
    """Build the app and run it until a signal: in this process, or in `workers` forked
    processes sharing the listening socket (serve_workers)."""
    from llmecon import __version__  # noqa: PLC0415
    from llmecon.bench.prompts import bundled_tiktoken  # noqa: PLC0415
    from llmecon.cli import serve_workers  # noqa: PLC0415
    from llmecon.cli.plan import api_options  # noqa: PLC0415
    from llmecon.gateway.app import GatewayConfig  # noqa: PLC0415
    from llmecon.gateway.journal import Journal  # noqa: PLC0415
    from llmecon.gateway.upstreams import Router  # noqa: PLC0415
    from llmecon.limits import MemoryLimiter  # noqa: PLC0415
    from llmecon.pricebook.catalog import embedding_options  # noqa: PLC0415

    Journal(journal, stores.name).close()  # refuses a journal of another ledger, up front
    serve_workers.gather_journals(journal, workers, stores.name)
    if workers > 1 and door is not None and isinstance(door.limiter, MemoryLimiter):
        door = replace(door, limiter=serve_workers.SharedOnly(door.limiter))
    tokenizer = bundled_tiktoken()
    config = GatewayConfig(
        router=Router(tuple(routes), _fallbacks(fallbacks, routes)),
        journal_path=journal,
        ledger_name=stores.name,
        timeouts=hardening.timeouts,
        door=door,
        compare_with=tuple(api_options(book, compare)),
        compare_embeddings=tuple(embedding_options(book, compare_embeddings)),
        price_book=book.version,
        no_auth=no_auth,
        body_limit=body_limit,
        interval_s=interval,
        version=__version__,
        drain_s=drain,
        admin_key_sha256=hardening.admin_key_sha256,
        tracing=hardening.tracing,
    )
    for upstream in routes:
        price = f"${upstream.hourly.amount:g}/h" if upstream.hourly else "paid API"
        click.echo(
            f"upstream {upstream.name}: {upstream.base_url} "
            f"({', '.join(upstream.models)}; {price})",
            err=True,
        )
    sock = bind(host, port)
    processes = f"; {workers} worker processes" if workers > 1 else ""
    click.echo(
        f"gateway: http://{host}:{port}/v1  (auth {'off' if no_auth else 'on'}; at most "
        f"{hardening.max_connections:,} connections{processes})",
        err=True,
    )
    server = _Server(config, hardening, lambda text: len(tokenizer.encode(text)), sock)
    _freeze_heap()  # before forking, too: the workers share these pages and never scan them
    try:
        if workers == 1:
            previous = signal.signal(signal.SIGTERM, serve_workers.exit_cleanly)
            try:
                server.run(stores.ledger, stores.keys)
            finally:
                signal.signal(signal.SIGTERM, previous)
            return
        code = serve_workers.Workers(workers, lambda index: server.run_worker(
            index, workers, stores.reopen)).run()  # fmt: skip
        if code:
            raise SystemExit(code)
    finally:
        sock.close()


@dataclass(frozen=True)
class _Server:
    """One gateway process: the app on the listening socket, under uvicorn."""

    config: GatewayConfig
    hardening: Hardening
    count_tokens: Callable[[str], int]
    sock: socket.socket

    def run(self, ledger: Any, keys: Any, journal: Path | None = None) -> bool:
        """Serve until an exit signal; whether the server started."""
        import uvicorn  # noqa: PLC0415

        from llmecon.gateway.app import create_app  # noqa: PLC0415
        from llmecon.gateway.server import ConnectionLimits, guarded_protocol  # noqa: PLC0415

        config = replace(self.config, journal_path=journal or self.config.journal_path)
        app = create_app(config, ledger, self.count_tokens, keys)
        limits = ConnectionLimits(
            max_connections=self.hardening.max_connections,
            header_timeout_s=self.hardening.header_timeout_s,
            body_timeout_s=self.hardening.body_timeout_s,
        )
        settings = uvicorn.Config(
            app,
            loop="uvloop",
            http=guarded_protocol(limits),
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=int(config.drain_s) + 5,  # after the gateway's own drain
            timeout_keep_alive=5,
        )
        server = _draining_server(settings, app)
        server.run(sockets=[self.sock])
        return bool(server.started)

    def run_worker(self, index: int, count: int, reopen: Callable[[], tuple[Any, Any]]) -> int:
        """A forked worker: its own ledger connections and journal; its exit status."""
        from llmecon.cli.serve_workers import worker_journal  # noqa: PLC0415

        assert self.config.journal_path is not None
        ledger, keys = reopen()
        try:
            started = self.run(ledger, keys, worker_journal(self.config.journal_path, index, count))
        finally:
            ledger.close()
            keys.close()
        return 0 if started else 3


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything claims to serve (a busy port is a one-line
    error, not uvicorn's traceback)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise LlmeconError(
            f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port "
            "or stop what uses it"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def max_connections(asked: int | None) -> int:
    """`asked`, or what the process's open-file limit allows (leaving room for the ledger,
    upstream connections and logs), at most 10,000."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = max(16, soft - 128) if soft != resource.RLIM_INFINITY else 10_000
    if asked is not None and asked > room:
        raise LlmeconError(
            f"--max-connections {asked:,} is over what the open-file limit ({soft:,}) allows "
            f"({room:,}); raise `ulimit -n` or ask for fewer"
        )
    return asked or min(room, 10_000)


def _fallbacks(items: tuple[str, ...], routes: list[Upstream]) -> tuple[Fallback, ...]:
    from llmecon.gateway.upstreams import Fallback  # noqa: PLC0415

    names = {u.name for u in routes}
    found = []
    for item in items:
        model, _, target = item.partition("=")
        upstream, _, target_model = target.partition(":")
        if not model or not upstream or not target_model:
            raise LlmeconError(f"--fallback {item!r}: write MODEL=UPSTREAM:TARGET_MODEL")
        if upstream not in names:
            raise LlmeconError(f"--fallback {item!r}: no upstream named {upstream!r}")
        found.append(Fallback(model, upstream, target_model))
    return tuple(found)


def default_journal(ledger_name: str) -> Path:
    """The journal of the ledger named `ledger_name`: one file per ledger, not per port."""
    home = os.environ.get("LLMECON_HOME") or str(Path.home() / ".local" / "share" / "llmecon")
    digest = hashlib.sha256(ledger_name.encode()).hexdigest()[:12]
    return Path(home) / f"journal-{digest}.jsonl"


def ledger_name(url: str) -> str:
    """The ledger's identity for its journal: the URL without password, a SQLite path
    absolute."""
    from llmecon.ledger import SQLITE_PREFIX, redact  # noqa: PLC0415

    if url.startswith(SQLITE_PREFIX) or "://" not in url:
        path = url.removeprefix(SQLITE_PREFIX)
        return SQLITE_PREFIX + str(Path(path).expanduser().resolve())
    return redact(url)


def _draining_server(settings: uvicorn.Config, gateway: Gateway) -> uvicorn.Server:
    """uvicorn's server, telling the gateway to start its drain on the first exit signal."""
    import uvicorn  # noqa: PLC0415

    class DrainingServer(uvicorn.Server):
        drain_loop: asyncio.AbstractEventLoop | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            if not self.should_exit and self.drain_loop is not None:
                self.drain_loop.call_soon_threadsafe(gateway.drain)
            super().handle_exit(sig, frame)

        async def serve(self, sockets: Any = None) -> None:
            self.drain_loop = asyncio.get_running_loop()
            await super().serve(sockets)

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            _freeze_heap()

    return DrainingServer(settings)


def _freeze_heap() -> None:
    """Move every object alive now (the price book, the tokenizer, the app) out of the garbage
    collector's reach: a full collection no longer walks them on a request's time (measured:
    54,000 start-up objects, 50-100 ms per full collection on a busy 2-core host)."""
    gc.collect()
    gc.freeze()


class _AccessFormatter(logging.Formatter):
    """One request per line: key=value pairs, or a JSON object (`as_json`)."""

    def __init__(self, *, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", {})
        if self.as_json:
            return json.dumps(fields, separators=(",", ":"))
        return " ".join(f"{key}={value}" for key, value in fields.items())


def configure_logging(level: str, access: str) -> None:
    """The gateway's log (`--log-level`) and its access log (`--access-log off|text|json`),
    both on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    gateway_log = logging.getLogger("llmecon")
    gateway_log.setLevel(level.upper())
    gateway_log.addHandler(handler)
    access_log = logging.getLogger("llmecon.access")
    access_log.propagate = False
    access_log.setLevel(logging.INFO if access != "off" else logging.CRITICAL)
    if access != "off":
        out = logging.StreamHandler(sys.stderr)
        out.setFormatter(_AccessFormatter(as_json=access == "json"))
        access_log.addHandler(out)
