"""The SSE reader and chunk classifier alone, in this process, on one core (no network).

- events/s: the mock's own 1,000-event chat stream (the `sse` workload's bytes), fed in 64 KiB
  chunks to `EventReader`, each event classified (`classify`, llmecon's default) or decoded
  (`decode_chunk`, `--parse full`), with LF, CRLF and CR line ends;
- a 50 MB event without a separator, fed in 64 KiB chunks: `EventReader` (each byte searched
  once; 64 MiB cap) against the stateless `split_events` (searches the whole buffer each time,
  as the gateway's relay did).

Run: .venv/bin/python benchmarks/sse_reader.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from llmecon.chunks import classify, decode_chunk
from llmecon.mock.payload import CHAT, parse_request, plan_stream
from llmecon.mock.settings import MockSettings
from llmecon.sse import EventReader, split_events

CHUNK = 65536


def mock_stream(tokens: int = 1000) -> bytes:
    settings = MockSettings(ttft_ms=0, itl_ms=0, output_tokens=tokens)
    body = b'{"model":"mock","stream":true,"messages":[{"role":"user","content":"hi"}]}'
    plan = plan_stream(CHAT, settings, parse_request(body, CHAT, tokens), "chatcmpl-mock-1")
    return b"".join(data for _, data in plan.events)


def events_per_s(stream: bytes, handle: Callable[[bytes], object], rounds: int) -> list[float]:
    rates = []
    for _ in range(rounds):
        reader, count = EventReader(), 0
        start = time.process_time()
        for _ in range(20):
            for at in range(0, len(stream), CHUNK):
                for event in reader.feed(stream[at : at + CHUNK]):
                    handle(event.data)
                    count += 1
        rates.append(count / (time.process_time() - start))
    return rates


def big_event_s(size: int, incremental: bool) -> float:
    piece = b"x" * CHUNK
    start = time.process_time()
    if incremental:
        reader = EventReader(max_event_bytes=64 * 1024 * 1024)
        reader.feed(b"data: ")
        for _ in range(size // CHUNK):
            reader.feed(piece)
        reader.feed(b"\n\n")
    else:
        buffer = bytearray(b"data: ")
        for _ in range(size // CHUNK):
            buffer += piece
            split_events(buffer)
        buffer += b"\n\n"
        split_events(buffer)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    load = os.getloadavg()
    print(f"CPU time of this process; load average {load[0]:.2f}; medians (min-max) of "
          f"{rounds} rounds of 20 streams\n")  # fmt: skip
    print("| reading | line ends | events/s (CPU time) |")
    print("|---|---|---:|")
    lf = mock_stream()
    for ending, name in ((b"\n", "LF"), (b"\r\n", "CRLF"), (b"\r", "CR")):
        stream = lf.replace(b"\n", ending)
        for label, handle in (("classify (default)", classify), ("decode (--parse full)",
                                                                   decode_chunk)):  # fmt: skip
            rates = events_per_s(stream, handle, rounds)
            print(f"| EventReader + {label} | {name} | {statistics.median(rates):,.0f} "
                  f"({min(rates):,.0f}-{max(rates):,.0f}) |")  # fmt: skip
    size = 50 * 1024 * 1024
    print("\n| a 50 MB event in 64 KiB chunks | CPU seconds |")
    print("|---|---:|")
    print(f"| EventReader (incremental) | {big_event_s(size, incremental=True):.3f} |")
    print(f"| split_events (stateless, rescans) | {big_event_s(size, incremental=False):.1f} |")


if __name__ == "__main__":
    main()
