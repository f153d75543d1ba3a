"""`llmecon serve`: the article's architecture, running. The embedded model (or any
OpenAI-compatible upstream) behind an OpenAI-compatible gateway with keys and a cost ledger."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llmecon.cli import serve_setup
from llmecon.cli.options import BUDGET
from llmecon.cli.serve_config import (
    ENV,
    compare_embeddings_option,
    config_option,
    dump,
    print_config_option,
)
from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from collections.abc import Callable

    from llmecon.core.options import ApiOption
    from llmecon.core.prices import Price
    from llmecon.engine.supervisor import Supervisor
    from llmecon.gateway.admission import Door
    from llmecon.gateway.upstreams import Upstream
    from llmecon.pricebook.book import PriceBook

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
DEFAULT_COMPARE = ("gpt-4o-mini",)
EMBEDDED_PRICE = "ml.c5.xlarge"  # a 4-vCPU CPU instance: what the embedded model would run on


@click.command()
@config_option
@print_config_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar=ENV["host"])
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, envvar=ENV["port"]
)
@click.option("--no-auth", is_flag=True, help="No API keys (only when bound to loopback).")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="NAME=URL",
    help="An OpenAI-compatible upstream, e.g. vllm=http://10.0.0.5:8000/v1.",
)
@click.option(
    "--upstream-price",
    "prices",
    multiple=True,
    metavar="NAME=USD_PER_HOUR|INSTANCE",
    help="What an upstream's machine costs (a number or a catalog instance).",
)
@click.option(
    "--upstream-key",
    "keys",
    multiple=True,
    metavar="NAME=ENVVAR",
    help="Environment variable holding an upstream's API key.",
)
@click.option(
    "--embedded/--no-embedded",
    default=None,
    help="Start the embedded SmolLM2 model (default: only when no --upstream is given).",
)
@click.option(
    "--compare-with",
    "compare",
    multiple=True,
    metavar="MODEL",
    help=f"Paid API priced for every request (default {DEFAULT_COMPARE[0]}).",
)
@compare_embeddings_option
@click.option(
    "--ledger",
    "ledger_url",
    envvar=ENV["ledger"],
    help="sqlite:///PATH (default) or postgresql://...",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds per cost-allocation interval.",
)
@click.option("--body-limit", type=click.IntRange(min=1024), default=1 << 20, show_default=True)
@click.option(
    "--fallback",
    "fallbacks",
    multiple=True,
    metavar="MODEL=UPSTREAM:TARGET",
    help="When MODEL's upstreams fail, ask UPSTREAM for TARGET (e.g. a paid API).",
)
@click.option("--journal", type=Path, help="Row journal file (default: beside the ledger data).")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute per key.")
@click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute per key.")
@click.option("--budget-day", type=BUDGET, help="USD per key per UTC day.")
@click.option("--budget-month", type=BUDGET, help="USD per key per UTC month.")
@click.option(
    "--budget-price",
    "budget_prices",
    multiple=True,
    metavar="API|MODEL=API",
    help="Prices that turn tokens into budget spend: a served MODEL priced as a catalog API "
    "(repeatable), or one API for every self-hosted model (default: the first --compare-with; "
    "for embeddings the first --compare-embeddings). "
    "Paid upstreams are priced at their own catalog price.",
)
@click.option(
    "--default-max-tokens",
    type=click.IntRange(min=1),
    default=1024,
    show_default=True,
    help="With a tokens-per-minute limit or a budget on: the completion limit written into "
    "requests that give "
    "none, so the upstream cannot produce more than was reserved.",
)
@click.option(
    "--drain",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="At shutdown, seconds that requests in flight may still finish; then streams get an "
    "error event, other requests a 503, and their rows say outcome `shutdown`.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    help="Open connections at most; beyond, 503 and close (default: what `ulimit -n` allows, "
    "at most 10,000).",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's line and headers (idle connections too).",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds a client has to send a whole request body (408 after).",
)
@click.option(
    "--upstream-timeout",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds an upstream has for a whole answer.",
)
@click.option(
    "--first-byte-timeout",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Seconds an upstream has to start answering (response headers).",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds an upstream may stay silent in the middle of an answer.",
)
@click.option(
    "--admin-key-env",
    metavar="VAR",
    help="Environment variable holding the web console's admin key (/ui; off without it).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    envvar=ENV["log_level"],
)
@click.option(
    "--access-log",
    type=click.Choice(["off", "text", "json"]),
    default="off",
    show_default=True,
    help="One line per request on stderr (json: JSON lines), never a key or a prompt.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Gateway processes sharing the port (one per core); limits and budgets then need --redis.",
)
@serve_setup.otel_option
@click.option(
    "--redis",
    "redis_url",
    envvar=ENV["redis"],
    metavar="URL",
    help="Share limits and budgets across gateway replicas (redis://HOST:PORT/DB).",
)
def serve(
    host: str,
    port: int,
    no_auth: bool,
    upstreams: tuple[str, ...],
    prices: tuple[str, ...],
    keys: tuple[str, ...],
    embedded: bool | None,
    compare: tuple[str, ...],
    compare_embeddings: tuple[str, ...],
    ledger_url: str | None,
    interval: float,
    body_limit: int,
    fallbacks: tuple[str, ...],
    journal: Path | None,
    rpm: int | None,
    tpm: int | None,
    budget_day: float | None,
    budget_month: float | None,
    budget_prices: tuple[str, ...],
    default_max_tokens: int,
    drain: float,
    max_connections: int | None,
    header_timeout: float,
    body_timeout: float,
    upstream_timeout: float,
    first_byte_timeout: float,
    idle_timeout: float,
    workers: int,
    redis_url: str | None,
    admin_key_env: str | None,
    log_level: str,
    access_log: str,
    otel: bool,
    print_config: bool,
) -> None:
    """Serve models behind an OpenAI-compatible gateway that records what each request cost.

    By default the embedded SmolLM2-135M model (llama.cpp) is started as upstream `embedded`
    and priced as an ml.c5.xlarge. Every request is a ledger row; see `llmecon usage`.

    \b
    Example:
      llmecon keys create my-team
      llmecon serve --port 8080 --compare-with gpt-4o-mini --compare-with claude-haiku-4-5
      llmecon serve --no-embedded --upstream vllm=http://127.0.0.1:8000/v1 \\
          --upstream-price vllm=g5.xlarge --ledger postgresql://postgres@127.0.0.1/test
    """
    from llmecon.cli.serve_embedded import start_embedded  # noqa: PLC0415
    from llmecon.cli.serve_workers import check_shared_limits  # noqa: PLC0415
    from llmecon.gateway.upstream_client import UpstreamTimeouts  # noqa: PLC0415
    from llmecon.ledger import default_ledger_url, open_ledger  # noqa: PLC0415
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415

    if print_config:
        context = click.get_current_context()
        click.echo(dump(context.command, context.params), nl=False)
        return
    if no_auth and host not in LOOPBACK:
        raise LlmeconError(f"--no-auth is only allowed on loopback, not --host {host}")
    if embedded is None:
        embedded = not upstreams
    if not embedded and not upstreams:
        raise LlmeconError("--no-embedded leaves no upstream; add --upstream NAME=URL")
    serve_setup.configure_logging(log_level, access_log)
    tracing = serve_setup.tracing(otel)  # the otel extra is checked before anything starts
    book = load_pricebook()
    serve_setup.check_compared(book, compare or DEFAULT_COMPARE, compare_embeddings)
    names = {*_pairs(upstreams, "--upstream"), *(("embedded",) if embedded else ())}
    price_of = _named(_pairs(prices, "--upstream-price"), "--upstream-price", names)
    key_of = _named(_pairs(keys, "--upstream-key"), "--upstream-key", names)
    routes = [
        _remote(name, url, price_of, key_of, book)
        for name, url in _pairs(upstreams, "--upstream").items()
    ]
    url = ledger_url or default_ledger_url()
    hardening = serve_setup.Hardening(
        serve_setup.max_connections(max_connections),
        header_timeout,
        body_timeout,
        UpstreamTimeouts(10.0, first_byte_timeout, idle_timeout, upstream_timeout),
        _admin_key(admin_key_env),
        tracing,
    )
    name = serve_setup.ledger_name(url)
    ledger = open_ledger(url)
    key_store = open_ledger(url)  # its own connection: key checks never wait behind writes
    supervisors: list[Supervisor] = []
    try:
        check_shared_limits(
            workers, (rpm, tpm, budget_day, budget_month), redis_url, key_store.list_keys
        )
        if embedded:
            hourly = hourly_price(price_of.get("embedded", EMBEDDED_PRICE), book)
            routes.insert(0, start_embedded(hourly, supervisors))
        serve_setup.run_gateway(
            host,
            port,
            no_auth,
            routes,
            compare or DEFAULT_COMPARE,
            book,
            interval,
            body_limit,
            fallbacks,
            journal or serve_setup.default_journal(name),
            _door(
                book,
                (rpm, tpm, budget_day, budget_month),
                _budget_prices(budget_prices, compare or DEFAULT_COMPARE),
                redis_url,
                default_max_tokens,
                compare_embeddings,
            ),
            drain,
            hardening,
            serve_setup.Stores(
                name, ledger, key_store, lambda: (open_ledger(url), open_ledger(url))
            ),
            workers,
            compare_embeddings,
        )
    finally:
        for supervisor in supervisors:
            supervisor.stop()
        ledger.close()
        key_store.close()


def _admin_key(variable: str | None) -> str | None:
    """The console's admin key, hashed (the secret itself is kept nowhere)."""
    if variable is None:
        return None
    import hashlib  # noqa: PLC0415
    import os  # noqa: PLC0415

    secret = os.environ.get(variable, "")
    if len(secret) < 16:
        raise LlmeconError(
            f"--admin-key-env {variable}: set it to a secret of at least 16 characters"
        )
    return hashlib.sha256(secret.encode()).hexdigest()


def _named(pairs: dict[str, str], flag: str, names: set[str]) -> dict[str, str]:
    """`pairs` when each names an upstream; a one-line error naming the unknown one."""
    for name in pairs:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise LlmeconError(
                f"{flag} {name}=...: no upstream named {name!r} (upstreams: {known})"
            )
    return pairs


def _pairs(items: tuple[str, ...], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not value:
            raise LlmeconError(f"{flag} {item!r}: write NAME=VALUE")
        pairs[name] = value
    return pairs


def hourly_price(text: str, book: PriceBook) -> Price:
    from llmecon.core.prices import Price  # noqa: PLC0415

    try:
        amount = float(text)
    except ValueError:
        return book.instance(text).hourly
    if not amount >= 0 or amount == float("inf"):
        raise LlmeconError(f"--upstream-price {text!r}: give a non-negative number of USD/hour")
    return Price(amount, "instance-hour", "given with --upstream-price")


def _remote(
    name: str, url: str, price_of: dict[str, str], key_of: dict[str, str], book: PriceBook
) -> Upstream:
    import os  # noqa: PLC0415

    from llmecon.gateway.upstreams import Upstream  # noqa: PLC0415

    key = os.environ.get(key_of[name]) if name in key_of else None
    if name in key_of and not key:
        raise LlmeconError(f"--upstream-key {name}={key_of[name]}: that variable is not set")
    hourly = hourly_price(price_of[name], book) if name in price_of else None
    return Upstream(name, url.rstrip("/"), _discover(name, url, key), hourly, key)


def _discover(name: str, url: str, key: str | None) -> tuple[str, ...]:
    """The models an upstream lists at GET /models."""
    request = urllib.request.Request(url.rstrip("/") + "/models")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = json.load(response)
        return tuple(str(m["id"]) for m in data.get("data", []) if "id" in m) or ("*",)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LlmeconError(
            f"--upstream {name}={url}: cannot list its models ({error}); "
            "check the URL (it should end in /v1)"
        ) from None


def _budget_prices(items: tuple[str, ...], compare: tuple[str, ...]) -> tuple[str, ...]:
    """The --budget-price items, with the first compared API as default when none is given."""
    return items if any("=" not in item for item in items) else (*items, compare[0])


def _door(
    book: PriceBook,
    limits: tuple[int | None, int | None, float | None, float | None],
    prices: tuple[str, ...],
    redis_url: str | None,
    default_max_tokens: int = 1024,
    embeddings: tuple[str, ...] = (),
) -> Door | None:
    """Rate limits and budgets: these defaults, or a key's own (`llmecon keys create --rpm`);
    in-process, or shared through Redis by every replica."""
    from llmecon.cli.plan import api_options  # noqa: PLC0415
    from llmecon.gateway.admission import Door  # noqa: PLC0415
    from llmecon.ledger.model import to_nano  # noqa: PLC0415
    from llmecon.limits import KeyPolicy, open_limiter  # noqa: PLC0415
    from llmecon.pricebook.catalog import embedding_options, token_options  # noqa: PLC0415

    rpm, tpm, day, month = limits
    policy = KeyPolicy(
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
        budget_per_day_nusd=to_nano(day) if day is not None else None,
        budget_per_month_nusd=to_nano(month) if month is not None else None,
    )
    default = [item for item in prices if "=" not in item]
    if len(default) > 1:
        raise LlmeconError(f"--budget-price: one default API, not {', '.join(default)}")
    (price,) = api_options(book, tuple(default[:1]))
    mapped = _pairs(tuple(item for item in prices if "=" in item), "--budget-price")
    model_prices = dict(zip(mapped, token_options(book, tuple(mapped.values())), strict=True))
    return Door(
        open_limiter(redis_url or "memory://"),
        policy,
        price,
        default_max_tokens,
        model_prices,
        _catalog(book),
        next(iter(embedding_options(book, embeddings[:1])), None),
    )


def _catalog(book: PriceBook) -> Callable[[str], ApiOption | None]:
    """A paid upstream's own price for a model name (None when the catalog has none)."""
    from llmecon.pricebook.catalog import token_options  # noqa: PLC0415

    found: dict[str, ApiOption | None] = {}

    def price_of(model: str) -> ApiOption | None:
        if model not in found:
            try:
                (found[model],) = token_options(book, (model,))
            except LlmeconError:
                found[model] = None
        return found[model]

    return price_of
