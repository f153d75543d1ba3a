"""`llmecon ui`: the calculator page on this machine (standard-library HTTP server)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click

from llmecon.errors import LlmeconError
from llmecon.pricebook.book import PriceBook


def calculator_server(host: str, port: int, book: PriceBook) -> ThreadingHTTPServer:
    """A server that answers the calculator's GET requests; the caller runs serve_forever()."""
    from llmecon.report.html.calculator import calculator_response  # noqa: PLC0415

    class Handler(BaseHTTPRequestHandler):
        server_version = "llmecon-ui"

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            response = calculator_response(
                url.path, parse_qs(url.query, keep_blank_values=True), book
            )
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: one line per request would drown the URL the user needs."""

    try:
        return ThreadingHTTPServer((host, port), Handler)
    except OSError as error:
        raise LlmeconError(
            f"--host {host} --port {port}: cannot listen ({error.strerror}); choose another port"
        ) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port (0: any free port).")  # fmt: skip
def ui(host: str, port: int) -> None:
    """Start the calculator page: the quick-form compare, recomputed as you type.

    \b
    Example:
      llmecon ui --port 8765     # then open http://127.0.0.1:8765/
    """
    from llmecon.pricebook.loader import load_pricebook  # noqa: PLC0415 - keeps --help fast

    server = calculator_server(host, port, load_pricebook())
    bound_host, bound_port = str(server.server_address[0]), server.server_address[1]
    click.echo(f"llmecon calculator at http://{bound_host}:{bound_port}/ (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
