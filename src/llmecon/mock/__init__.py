"""An OpenAI-compatible mock server with exact, configurable timings and injectable faults.

    from llmecon.mock import MockSettings, running

    with running(MockSettings(ttft_ms=50, itl_ms=10, output_tokens=20)) as base_url:
        ...  # point an OpenAI client or `llmecon bench` at base_url

Importing this package does not import uvicorn; `serve` and `running` need it installed.
"""

from llmecon.mock.app import MockApp, create_app
from llmecon.mock.run import running, serve
from llmecon.mock.settings import FAULTS, Fault, MockSettings

__all__ = ["FAULTS", "Fault", "MockApp", "MockSettings", "create_app", "running", "serve"]
