"""`python -m llmecon.mock`: serve the mock (used by `llmecon.mock.running`)."""

from __future__ import annotations

import argparse
from typing import cast

from llmecon.mock.run import serve
from llmecon.mock.settings import FAULT_HELP, FAULTS, LINE_ENDINGS, Fault, LineEnding, MockSettings


def build_parser() -> argparse.ArgumentParser:
    """Flags named after the `MockSettings` fields; defaults are theirs."""
    defaults = MockSettings()
    parser = argparse.ArgumentParser(prog="python -m llmecon.mock", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--ttft-ms", type=float, default=defaults.ttft_ms)
    parser.add_argument("--itl-ms", type=float, default=defaults.itl_ms)
    parser.add_argument("--output-tokens", type=int, default=defaults.output_tokens)
    parser.add_argument("--tokens-per-chunk", type=int, default=defaults.tokens_per_chunk)
    parser.add_argument("--no-role-delta", dest="role_delta", action="store_false")
    parser.add_argument("--no-usage", dest="usage", action="store_false")
    faults = "; ".join(f"{name}: {what}" for name, what in FAULT_HELP.items())
    parser.add_argument("--fault", choices=FAULTS, help=faults)
    parser.add_argument(
        "--fault-every", type=int, default=defaults.fault_every,
        help="inject --fault into every Nth completion request (1 = all)",
    )  # fmt: skip
    parser.add_argument("--line-ending", choices=LINE_ENDINGS, default=defaults.line_ending)
    parser.add_argument("--keep-alive-s", type=float, default=defaults.keep_alive_s)
    return parser


def parse_settings(argv: list[str] | None = None) -> tuple[MockSettings, str, int]:
    """Settings, host and port from the command line; bad values exit with a usage error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = MockSettings(
            model=args.model, ttft_ms=args.ttft_ms, itl_ms=args.itl_ms,
            output_tokens=args.output_tokens, tokens_per_chunk=args.tokens_per_chunk,
            role_delta=args.role_delta, usage=args.usage,
            fault=cast("Fault | None", args.fault), fault_every=args.fault_every,
            line_ending=cast("LineEnding", args.line_ending), keep_alive_s=args.keep_alive_s,
        )  # fmt: skip
    except ValueError as error:
        parser.error(str(error))
    return settings, args.host, args.port


def main(argv: list[str] | None = None) -> None:
    settings, host, port = parse_settings(argv)
    serve(settings, host, port)


if __name__ == "__main__":
    main()
