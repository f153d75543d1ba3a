"""Where requests go: named OpenAI-compatible upstreams, the models they serve, their price,
and the order to try them in (least outstanding first, healthy first, fallbacks last)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llmecon.core.prices import Price


@dataclass(frozen=True)
class Upstream:
    name: str
    base_url: str  # like http://127.0.0.1:8000/v1
    models: tuple[str, ...]  # model names it serves ("*" = any)
    hourly: Price | None = None  # self-hosted machine price; None for a paid API
    api_key: str | None = None
    # models served from another base URL on the same machine (the embedded embedding model):
    # one machine, one meter, its cost shared by time in flight
    model_urls: tuple[tuple[str, str], ...] = ()

    def serves(self, model: str) -> bool:
        return model in self.models or "*" in self.models

    def url_for(self, model: str) -> str:
        """The base URL that serves `model`."""
        return dict(self.model_urls).get(model, self.base_url)


@dataclass(frozen=True)
class Route:
    """One way to answer a model: an upstream, and the model name to ask it for."""

    upstream: Upstream
    model: str  # what the upstream is asked for (a fallback may rename the model)
    fallback: bool = False


@dataclass(frozen=True)
class Fallback:
    """When every upstream of `model` fails, ask `upstream` for `target` instead."""

    model: str
    upstream: str
    target: str


@dataclass
class Router:
    upstreams: Sequence[Upstream]
    fallbacks: Sequence[Fallback] = ()
    outstanding: dict[str, int] = field(default_factory=dict)  # requests in flight per upstream
    healthy: dict[str, bool] = field(default_factory=dict)

    def routes(self, model: str) -> list[Route]:
        """Every way to serve `model`, best first: healthy before unhealthy, then the least
        outstanding requests, exact model matches before wildcards, fallbacks last."""
        direct = [u for u in self.upstreams if model in u.models]
        direct += [u for u in self.upstreams if "*" in u.models and u not in direct]
        direct.sort(key=lambda u: (not self.healthy.get(u.name, True),
                                   self.outstanding.get(u.name, 0)))  # fmt: skip
        routes = [Route(u, model) for u in direct]
        names = self.by_name()
        routes += [Route(names[f.upstream], f.target, fallback=True)
                   for f in self.fallbacks if f.model == model and f.upstream in names]  # fmt: skip
        return routes

    def route(self, model: str) -> Upstream | None:
        routes = self.routes(model)
        return routes[0].upstream if routes else None

    def models(self) -> list[str]:
        served = {m for u in self.upstreams for m in u.models if m != "*"}
        return sorted(served | {f.model for f in self.fallbacks})

    def by_name(self) -> Mapping[str, Upstream]:
        return {u.name: u for u in self.upstreams}

    def begin(self, upstream: Upstream) -> None:
        self.outstanding[upstream.name] = self.outstanding.get(upstream.name, 0) + 1

    def end(self, upstream: Upstream) -> None:
        self.outstanding[upstream.name] = self.outstanding.get(upstream.name, 1) - 1

    def mark(self, upstream: Upstream, healthy: bool) -> None:
        self.healthy[upstream.name] = healthy
