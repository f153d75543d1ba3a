"""Which model does an endpoint serve? `GET {base}/models`, which OpenAI-compatible servers have."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from llmecon.bench.cause import connect_failure
from llmecon.bench.client import Endpoint
from llmecon.errors import LlmeconError

TIMEOUT_S = 10.0


def served_models(endpoint: Endpoint) -> list[str]:
    """The model ids listed at `{base}/models`; LlmeconError saying why when they cannot be read."""
    url = f"{endpoint.scheme}://{endpoint.host}:{endpoint.port}{endpoint.prefix}/models"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if endpoint.api_key:
        request.add_header("Authorization", f"Bearer {endpoint.api_key}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as error:
        hint = _hint(endpoint) if error.code == 404 else ""
        raise _unknown(url, f"{error.code} from {endpoint.prefix}/models{hint}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        why = (
            connect_failure(endpoint, reason, TIMEOUT_S)
            if isinstance(reason, OSError)
            else str(reason)
        )
        raise _unknown(url, why) from None
    except (OSError, ValueError) as error:
        raise _unknown(url, f"no model list in the answer ({error})") from None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _unknown(url, "the answer has no `data` list")
    return [str(e["id"]) for e in entries if isinstance(e, dict) and e.get("id") is not None]


def default_model(endpoint: Endpoint) -> str:
    """The endpoint's only model; an error listing them when it serves several (or none)."""
    models = served_models(endpoint)
    if len(models) == 1:
        return models[0]
    if not models:
        raise LlmeconError(
            f"the endpoint lists no model at {endpoint.prefix}/models; give --model NAME"
        )
    listed = ", ".join(models[:20]) + (", ..." if len(models) > 20 else "")
    raise LlmeconError(
        f"the endpoint serves {len(models)} models ({listed}); choose one with --model NAME"
    )


def _hint(endpoint: Endpoint) -> str:
    if endpoint.prefix.endswith("/v1"):
        return ""
    return (
        f": did you mean {endpoint.scheme}://{endpoint.host}:{endpoint.port}{endpoint.prefix}/v1?"
    )


def _unknown(url: str, why: str) -> LlmeconError:
    return LlmeconError(f"cannot ask {url} which model it serves ({why}); give --model NAME")
