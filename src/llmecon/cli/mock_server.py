"""`llmecon mock-server`: an OpenAI-compatible mock with exact timings, for benches and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.mock.settings import Fault, LineEnding

# the same as llmecon.mock.FAULTS (a test checks), kept here so `--help` imports no server code
FAULT_NAMES = ("http_500", "http_429", "cut", "malformed", "error_event", "hang", "close")
MS = click.FloatRange(min=0)


@click.command("mock-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--model", default="mock", show_default=True, help="Model name it reports.")
@click.option("--ttft-ms", type=MS, default=80.0, show_default=True, help="Time to first token.")
@click.option("--itl-ms", type=MS, default=10.0, show_default=True, help="Inter-token latency.")
@click.option(
    "--output-tokens", type=click.IntRange(min=1), default=32, show_default=True,
    help="Tokens per answer when the request sets no max_tokens.",
)  # fmt: skip
@click.option(
    "--tokens-per-chunk", type=click.IntRange(min=1), default=1, show_default=True,
    help="Tokens per SSE chunk after the first (which carries one).",
)  # fmt: skip
@click.option("--no-role-delta", is_flag=True, help="Chat streams start with content, no role.")
@click.option("--no-usage", is_flag=True, help="Never report usage (like llama-cpp-python).")
@click.option("--fault", type=click.Choice(FAULT_NAMES), help="Failure to inject.")
@click.option(
    "--fault-every", type=click.IntRange(min=0), default=0, show_default=True,
    help="Inject --fault into every Nth completion request (1 = all).",
)  # fmt: skip
@click.option(
    "--line-ending", type=click.Choice(["lf", "crlf", "cr"]), default="lf", show_default=True,
    help="How SSE lines end (all three are valid SSE).",
)  # fmt: skip
@click.option(
    "--keep-alive-s", type=click.FloatRange(min=0, min_open=True), default=5.0,
    show_default=True, help="Close keep-alive connections idle this long.",
)  # fmt: skip
def mock_server(
    host: str,
    port: int,
    model: str,
    ttft_ms: float,
    itl_ms: float,
    output_tokens: int,
    tokens_per_chunk: int,
    no_role_delta: bool,
    no_usage: bool,
    fault: str | None,
    fault_every: int,
    line_ending: str,
    keep_alive_s: float,
) -> None:
    """Serve an OpenAI-compatible mock with exact timings (server side: ~0.1 ms).

    Streams send the first token at t0 + TTFT and token i at t0 + TTFT + i * ITL, where t0
    is when the request body arrived. Routes: /v1/chat/completions, /v1/completions,
    /v1/models, /healthz. Faults: http_500, http_429, cut (close mid-stream), malformed (a
    non-JSON event), error_event (an error object mid-stream), hang (headers, then silence),
    close (no response at all).

    \b
    Example:
      llmecon mock-server --ttft-ms 80 --itl-ms 10 --output-tokens 32
      llmecon mock-server --ttft-ms 0 --itl-ms 0 --fault cut --fault-every 10
    """
    from llmecon.mock.run import serve  # noqa: PLC0415 - keeps --help fast
    from llmecon.mock.settings import MockSettings  # noqa: PLC0415

    try:
        settings = MockSettings(
            model=model, ttft_ms=ttft_ms, itl_ms=itl_ms, output_tokens=output_tokens,
            tokens_per_chunk=tokens_per_chunk, role_delta=not no_role_delta,
            usage=not no_usage, fault=cast("Fault | None", fault), fault_every=fault_every,
            line_ending=cast("LineEnding", line_ending), keep_alive_s=keep_alive_s,
        )  # fmt: skip
    except ValueError as error:
        raise LlmeconError(str(error).replace("fault_every", "--fault-every")) from None
    click.echo(f"mock server on http://{host}:{port}/v1 (Ctrl-C stops it)", err=True)
    serve(settings, host, port)
