"""Where requests go: named OpenAI-compatible upstreams, the models they serve, their price."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmecon.core.prices import Price


@dataclass(frozen=True)
class Upstream:
    name: str
    base_url: str  # like http://127.0.0.1:8000/v1
    models: tuple[str, ...]  # model names it serves ("*" = any)
    hourly: Price | None = None  # self-hosted machine price; None for a paid API
    api_key: str | None = None

    def serves(self, model: str) -> bool:
        return model in self.models or "*" in self.models


@dataclass(frozen=True)
class Router:
    upstreams: Sequence[Upstream]

    def route(self, model: str) -> Upstream | None:
        exact = [u for u in self.upstreams if model in u.models]
        wildcard = [u for u in self.upstreams if "*" in u.models]
        found = exact or wildcard
        return found[0] if found else None

    def models(self) -> list[str]:
        return sorted({m for u in self.upstreams for m in u.models if m != "*"})

    def by_name(self) -> Mapping[str, Upstream]:
        return {u.name: u for u in self.upstreams}
