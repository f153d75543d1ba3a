"""The ledger schema as an append-only list of named migrations, one SQL text per backend.

Never edit or reorder a migration that has shipped: append a new one. Each backend applies the
missing ones when it opens, in one transaction, and records each name in `schema_migrations`.
Names sort in order (`m001_...`, `m002_...`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from llmecon.ledger.partitions import M007_POSTGRES
from llmecon.ledger.rollup import backfill, daily_backfill


@dataclass(frozen=True)
class Migration:
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


SQLITE_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
)"""

POSTGRES_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""

_USAGE = """
CREATE TABLE usage (
    request_id TEXT PRIMARY KEY,
    started_at {time} NOT NULL,
    finished_at {time} NOT NULL,
    key_id TEXT,
    model TEXT NOT NULL,
    upstream TEXT NOT NULL,
    endpoint TEXT NOT NULL CHECK (endpoint IN ('chat', 'completions')),
    stream {bool} NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    prompt_tokens INTEGER CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER CHECK (completion_tokens >= 0),
    token_source TEXT NOT NULL CHECK (token_source IN ('upstream', 'gateway', 'none')),
    ttft_ms {real},
    latency_ms {real},
    self_hosted_nusd {money} CHECK (self_hosted_nusd >= 0),
    price_book TEXT NOT NULL
)"""

_COUNTERFACTUAL = """
CREATE TABLE counterfactual_cost (
    request_id TEXT NOT NULL REFERENCES usage (request_id),
    api TEXT NOT NULL,
    nusd {money} CHECK (nusd >= 0),
    PRIMARY KEY (request_id, api)
)"""

_IDLE = """
CREATE TABLE idle_cost (
    upstream TEXT NOT NULL,
    interval_start {time} NOT NULL,
    interval_end {time} NOT NULL,
    idle_nusd {money} NOT NULL CHECK (idle_nusd >= 0),
    busy_seconds {real} NOT NULL,
    allocated_nusd {money} NOT NULL CHECK (allocated_nusd >= 0),
    PRIMARY KEY (upstream, interval_start)
)"""

_INDEXES = (
    "CREATE INDEX usage_started_at ON usage (started_at)",
    "CREATE INDEX usage_unallocated ON usage (upstream, finished_at)"
    " WHERE self_hosted_nusd IS NULL",
    "CREATE INDEX idle_cost_interval_start ON idle_cost (interval_start)",
)

_API_KEYS = """
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at {time} NOT NULL,
    revoked_at {time}
)"""

# Column types: SQLite keeps money as INTEGER (64-bit) and times as ISO-8601 UTC text of fixed
# width, so text order is time order; PostgreSQL uses BIGINT and TIMESTAMPTZ.
_SQLITE_TYPES = {"time": "TEXT", "bool": "INTEGER", "real": "REAL", "money": "INTEGER"}
_POSTGRES_TYPES = {
    "time": "TIMESTAMPTZ",
    "bool": "BOOLEAN",
    "real": "DOUBLE PRECISION",
    "money": "BIGINT",
}


def _both(name: str, *statements: str) -> Migration:
    return Migration(
        name,
        tuple(sql.format(**_SQLITE_TYPES) for sql in statements),
        tuple(sql.format(**_POSTGRES_TYPES) for sql in statements),
    )


_METER_REPORT = """
CREATE TABLE meter_report (
    upstream TEXT NOT NULL,
    slot_start {time} NOT NULL,
    replica TEXT NOT NULL,
    slot_end {time} NOT NULL,
    metered_start_us BIGINT NOT NULL,
    metered_end_us BIGINT NOT NULL,
    hourly_nusd {money} NOT NULL CHECK (hourly_nusd >= 0),
    busy TEXT NOT NULL,
    final {bool} NOT NULL,
    PRIMARY KEY (upstream, slot_start, replica)
)"""

_COST_SHARE = """
CREATE TABLE cost_share (
    upstream TEXT NOT NULL,
    slot_start {time} NOT NULL,
    request_id TEXT NOT NULL,
    weight_us BIGINT NOT NULL CHECK (weight_us >= 0),
    nusd {money} CHECK (nusd >= 0),
    PRIMARY KEY (upstream, slot_start, request_id)
)"""

_METERING = (
    _METER_REPORT,
    _COST_SHARE,
    "CREATE INDEX cost_share_request ON cost_share (request_id)",
    "ALTER TABLE idle_cost ADD COLUMN metered_seconds {real}",
    "ALTER TABLE usage ADD COLUMN budget_price TEXT",
)
# intervals recorded before m004 were metered whole
_BACKFILL_SQLITE = (
    "UPDATE idle_cost SET metered_seconds ="
    " (julianday(interval_end) - julianday(interval_start)) * 86400.0"
)
_BACKFILL_POSTGRES = (
    "UPDATE idle_cost SET metered_seconds = EXTRACT(EPOCH FROM interval_end - interval_start)"
)

# m005: the usage table takes embeddings and responses rows. PostgreSQL replaces the CHECK;
# SQLite cannot alter one, so the table is rebuilt, its child table (counterfactual_cost) set
# aside and put back around it so no foreign key is ever broken.
ENDPOINT_CHECK = "endpoint IN ('chat', 'completions', 'embeddings', 'responses')"
_USAGE_M005 = (
    _USAGE.replace("usage (", "usage_m005 (", 1)
    .replace("endpoint IN ('chat', 'completions')", ENDPOINT_CHECK)
    .replace("price_book TEXT NOT NULL\n)", "price_book TEXT NOT NULL,\n    budget_price TEXT\n)")
)
_ENDPOINTS_SQLITE = (
    "CREATE TABLE counterfactual_m005 AS SELECT * FROM counterfactual_cost",
    "DROP TABLE counterfactual_cost",
    _USAGE_M005.format(**_SQLITE_TYPES),
    "INSERT INTO usage_m005 SELECT * FROM usage",
    "DROP TABLE usage",
    "ALTER TABLE usage_m005 RENAME TO usage",
    *_INDEXES[:2],
    _COUNTERFACTUAL.format(**_SQLITE_TYPES),
    "INSERT INTO counterfactual_cost SELECT * FROM counterfactual_m005",
    "DROP TABLE counterfactual_m005",
)
_ENDPOINTS_POSTGRES = (
    "ALTER TABLE usage DROP CONSTRAINT usage_endpoint_check",
    f"ALTER TABLE usage ADD CONSTRAINT usage_endpoint_check CHECK ({ENDPOINT_CHECK})",
)
# hourly roll-ups of raw rows that `prune` removed (llmecon.ledger.rollup)
_USAGE_HOURLY = """
CREATE TABLE usage_hourly (
    hour {time} NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    upstream TEXT NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    self_hosted_nusd {money} NOT NULL,
    unallocated BIGINT NOT NULL,
    PRIMARY KEY (hour, key_id, model, upstream)
)"""
_COUNTERFACTUAL_HOURLY = """
CREATE TABLE counterfactual_hourly (
    hour {time} NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    upstream TEXT NOT NULL,
    api TEXT NOT NULL,
    nusd {money} NOT NULL,
    unpriced BIGINT NOT NULL,
    PRIMARY KEY (hour, key_id, model, upstream, api)
)"""
_ROLLUP = (_USAGE_HOURLY, _COUNTERFACTUAL_HOURLY)
_DAILY = tuple(sql.replace("_hourly (", "_daily (", 1) for sql in _ROLLUP)

MIGRATIONS: tuple[Migration, ...] = (
    _both("m001_usage", _USAGE, _COUNTERFACTUAL, _IDLE, *_INDEXES),
    _both("m002_api_keys", _API_KEYS),
    _both(
        "m003_key_limits",
        "ALTER TABLE api_keys ADD COLUMN requests_per_minute INTEGER",
        "ALTER TABLE api_keys ADD COLUMN tokens_per_minute INTEGER",
        "ALTER TABLE api_keys ADD COLUMN budget_day_nusd {money}",
        "ALTER TABLE api_keys ADD COLUMN budget_month_nusd {money}",
    ),
    Migration(
        "m004_metering",
        (*(sql.format(**_SQLITE_TYPES) for sql in _METERING), _BACKFILL_SQLITE),
        (*(sql.format(**_POSTGRES_TYPES) for sql in _METERING), _BACKFILL_POSTGRES),
    ),
    Migration("m005_endpoints", _ENDPOINTS_SQLITE, _ENDPOINTS_POSTGRES),
    _both("m006_rollup", *_ROLLUP),
    # roll-ups kept as rows land (ledger.live_rollup): the rows stored so far are added once;
    # PostgreSQL's usage and counterfactual_cost become partitioned by day (ledger.partitions)
    # and daily roll-ups (their `hour` is the day's first) answer whole days
    Migration(
        "m007_partitions_live_rollups",
        (
            *(sql.format(**_SQLITE_TYPES) for sql in _DAILY),
            *backfill("substr(u.started_at, 1, 13) || ':00:00.000000+00:00'"),
            *daily_backfill("substr({}, 1, 10) || 'T00:00:00.000000+00:00'"),
        ),
        (
            *M007_POSTGRES,
            *(sql.format(**_POSTGRES_TYPES) for sql in _DAILY),
            *backfill("date_trunc('hour', u.started_at)"),
            *daily_backfill("date_trunc('day', {})"),
        ),
    ),
)


def pending(applied: Collection[str]) -> list[Migration]:
    """The migrations not yet in `applied`, in order."""
    return [migration for migration in MIGRATIONS if migration.name not in applied]
