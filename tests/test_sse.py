"""The SSE reader against the WHATWG spec's examples, line ends, chunking and size caps; the
chunk classifier against a full JSON decode on adversarial chunks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmecon.chunks import (
    END,
    ERROR,
    MALFORMED,
    OTHER,
    TEXT,
    classify,
    decode_chunk,
    error_of,
    usage_of,
)
from llmecon.sse import (
    Event,
    EventReader,
    EventTooLargeError,
    encode_event,
    has_text,
    split_events,
)


def _read(stream: bytes, sizes: int | None = None) -> list[Event]:
    reader = EventReader()
    if sizes is None:
        return reader.feed(stream)
    events = []
    for at in range(0, len(stream), sizes):
        events += reader.feed(stream[at : at + sizes])
    return events


# The examples of "9.2.6 Interpreting an event stream" (WHATWG HTML), and what they dispatch.
SPEC_EXAMPLES = [
    (b"data: YHOO\ndata: +2\ndata: 10\n\n", [Event(b"YHOO\n+2\n10")]),
    (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        b"data:  third event\n\n",
        [Event(b"first event", id=b"1"), Event(b"second event"), Event(b" third event")],
    ),
    (b"data\n\ndata\ndata\n\ndata:", [Event(b""), Event(b"\n")]),
    (b"data:test\n\ndata: test\n\n", [Event(b"test"), Event(b"test")]),
    (
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        [Event(b"73857293", b"add"), Event(b"2153", b"remove"), Event(b"113411", b"add")],
    ),
]


@pytest.mark.parametrize(("stream", "expected"), SPEC_EXAMPLES)
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_spec_examples_with_every_line_ending(
    stream: bytes, expected: list[Event], ending: bytes
) -> None:
    stream = stream.replace(b"\n", ending)
    assert _read(stream) == expected
    for size in (1, 2, 3, 7):  # every split point, a CRLF cut in two included
        assert _read(stream, size) == expected


def test_id_persists_and_retry_and_unknown_fields() -> None:
    reader = EventReader()
    events = reader.feed(b"id: 7\nretry: 1500\nfoo: bar\ndata: a\n\ndata: b\n\nretry: x1\n\n")
    assert events == [Event(b"a", id=b"7"), Event(b"b", id=b"7")]  # the last event ID stays
    assert reader.retry == 1500  # "x1" is not all digits: ignored
    assert reader.feed(b"id: a\x00b\ndata: c\n\n") == [Event(b"c", id=b"7")]  # NUL: ignored


def test_event_type_without_data_is_not_dispatched_and_is_reset() -> None:
    assert _read(b"event: ping\n\ndata: x\n\n") == [Event(b"x")]
    assert _read(b"event: a\n: comment\ndata: x\n\n") == [Event(b"x", b"a")]


def test_any_bytes_like_input_gives_bytes() -> None:
    reader = EventReader()
    (event,) = reader.feed(bytearray(b"data: a\n")) + reader.feed(memoryview(b"\n"))
    assert type(event.data) is bytes and event.data == b"a"


def test_bom_and_a_final_event_without_blank_line() -> None:
    assert _read(b"\xef\xbb\xbfdata: x\n\ndata: never") == [Event(b"x")]


def test_openai_stream_in_crlf_split_everywhere() -> None:
    chunk = b'{"choices":[{"delta":{"content":"hi"}}]}'
    stream = (b"data: " + chunk + b"\r\n\r\n") * 3 + b"data: [DONE]\r\n\r\n"
    for size in range(1, 12):
        assert [e.data for e in _read(stream, size)] == [chunk] * 3 + [b"[DONE]"]


def test_size_cap_raises_and_never_buffers_past_it() -> None:
    reader = EventReader(max_event_bytes=1000)
    reader.feed(b"data: " + b"x" * 500)
    with pytest.raises(EventTooLargeError, match="1,000 bytes"):
        reader.feed(b"x" * 600)
    with pytest.raises(EventTooLargeError):
        EventReader(max_event_bytes=10).feed(b"data: " + b"y" * 20 + b"\n\n")
    assert EventReader(max_event_bytes=100).feed(b"data: ok\n\n" * 50) == [Event(b"ok")] * 50


def test_split_events_consumes_complete_events_from_the_buffer() -> None:
    buffer = bytearray(
        b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
        b'data: {"choices":[{"delta":{"content": "hi"}}]}\r\n\r\ndata: [DO'
    )
    events = split_events(buffer)
    assert [has_text(e) for e in events] == [False, True]
    assert bytes(buffer) == b"data: [DO"
    buffer += b"NE]\r"  # a CR at the end may be half of a CRLF: kept as CR
    assert split_events(buffer) == []
    buffer += b"\n\r\n"
    assert split_events(buffer) == [b"[DONE]"]
    assert buffer == b""


def test_encode_event_round_trips_multi_line_data() -> None:
    wire = encode_event(b"a\nb", b"update")
    assert wire == b"event: update\ndata: a\ndata: b\n\n"
    assert _read(wire) == [Event(b"a\nb", b"update")]


# --- classification: exactly what a full decode says -----------------------------------------

ADVERSARIAL = [
    b'{"choices":[{"delta":{"content":"hi"}}]}',
    b'{"choices":[{"delta":{"role":"assistant","content":""}}]}',
    b'{"choices":[{"delta":{"content":null}}]}',
    b'{"choices":[{"delta":{}}],"usage":{"completion_tokens":3}}',
    b'{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}',
    b'{"choices":[{"text":"x","index":0}]}',
    b'{"choices":[{"text":"","index":0}]}',
    # content in odd places
    b'{"choices":[{"delta":{"content":""}}],"x":{"content":"hi"}}',
    b'{"content":"hi","choices":[{"delta":{"content":""}}]}',
    b'{"choices":[{"delta":{"content":"","logprobs":{"content":[{"token":"a"}]}}}]}',
    b'{"choices":[{"logprobs":{"content":"a"},"delta":{"content":""}}]}',
    b'{"choices":[{"delta":{"content":""},"message":{"content":"late"}}]}',
    b'{"choices":[{"delta":{"content":"","content":"dup"}}]}',
    b'{"choices":[{"delta":{"content":"dup","content":""}}]}',
    b'{"choices":{"delta":{"content":"not a list"}}}',
    b'{"choices":["content"]}',
    b'{"choices":[{"delta":{"text":"","content":"" }}],"text":"x"}',
    b'{"choices":[{"delta":{"content":"a"}},{"delta":{"content":""}}]}',
    b'{"choices":[{"delta":{"content":""}},{"delta":{"content":"b"}}]}',
    b'{"choices":[{"delta": {"content" :  "spaced"}}]}',
    b'{ "choices" : [ { "delta" : { "content" : "" } } ] }',
    # escaped quotes and keys that only look like content
    b'{"choices":[{"delta":{"content":"say \\"hi\\""}}]}',
    b'{"choices":[{"delta":{"my\\"content":"x","content":""}}]}',
    b'{"choices":[{"delta":{"content":"\\"content\\":\\"x\\""}}]}',
    b'{"choices":[{"delta":{"cont\\u0065nt":"escaped key"}}]}',
    b'{"choices":[{"delta":{"content":"\\u0000"}}]}',
    b'{"choices":[{"delta":{"content":"\\\\"}}]}',
    b'{"a":"\\\\","choices":[{"delta":{"content":""}}]}',
    b'{"choices":[{"delta":{"x":"\\"content\\": \\"y","content":""}}]}',
    # unicode
    '{"choices":[{"delta":{"content":"héllo ✓"}}]}'.encode(),
    '{"choices":[{"delta":{"contént":"x","content":""}}]}'.encode(),
    b'{"choices":[{"delta":{"content":"\\ud83d\\ude00"}}]}',
    b'{"choices":[{"delta":{"content":"\xff"}}]}',  # not UTF-8
    # tool calls and reasoning
    b'{"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"function":'
    b'{"arguments":"{\\"content\\": \\"x\\"}"}}]}}]}',
    b'{"choices":[{"delta":{"tool_calls":[{"function":{"name":"f","arguments":""}}]}}]}',
    b'{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{}"}}]}}]}',
    b'{"choices":[{"delta":{"reasoning_content":"hmm","content":""}}]}',
    # errors streamed by the server
    b'{"error":{"message":"upstream broke","type":"upstream_error"}}',
    b'{"error":{"message":"x"},"choices":[{"delta":{"content":"hi"}}]}',
    b'{"error":"not an object"}',
    b'{"object":"error","error":{"content":"x"}}',
    # malformed
    b'{"choices":[{"delta":{"content":"a\tb"}}]}',
    b'{"choices":[{"delta":{"content":"hi"}}]',
    b'{"choices":[{"delta":{"content":"hi"}}]}}',
    b'["content"]',
    b"mock fault: this event is not JSON",
    b"",
    b'{"a":"content":"x"}',
    b'{"choices":[{"delta":{"content":"x"}}]} trailing',
    b"[" * 100_000,
    b"[DONE]",
]


def _reference(payload: bytes) -> str:
    return decode_chunk(payload).kind


@pytest.mark.parametrize("payload", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_classification_equals_a_full_decode(payload: bytes) -> None:
    assert classify(payload) == _reference(payload)
    assert classify(payload) == classify(payload)  # the remembered template agrees


def test_reference_kinds() -> None:
    assert [_reference(p) for p in ADVERSARIAL[:3]] == [TEXT, OTHER, OTHER]
    assert _reference(b"[DONE]") == END
    assert _reference(b'{"error":{"message":"upstream broke"}}') == ERROR
    assert error_of(b'{"error":{"message":"upstream broke"}}') == "upstream broke"
    assert _reference(b'{"choices":[{"delta":{"content":"a\tb"}}]}') == MALFORMED
    assert usage_of(ADVERSARIAL[4]) == {"prompt_tokens": 1, "completion_tokens": 2}
    assert usage_of(b'{"\\u0075sage":{"completion_tokens":1}}') == {"completion_tokens": 1}
    assert usage_of(ADVERSARIAL[0]) is None


_TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _TEXTS)
_KEYS = st.sampled_from(
    [
        "content",
        "text",
        "role",
        "delta",
        "message",
        "choices",
        "usage",
        "tool_calls",
        "function",
        "arguments",
        "reasoning_content",
        "x",
    ]
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12,
)


def _encodings(document: Any) -> list[bytes]:
    return [
        json.dumps(document).encode(),
        json.dumps(document, ensure_ascii=False).encode(),
        json.dumps(document, separators=(",", ":")).encode(),
    ]


@settings(max_examples=400, deadline=None)
@given(
    content=st.one_of(st.none(), _TEXTS),
    extra=st.dictionaries(_KEYS, _JSON, max_size=3),
    delta_extra=st.dictionaries(_KEYS, _JSON, max_size=2),
)
def test_classification_equals_a_full_decode_on_generated_chunks(
    content: str | None, extra: dict[str, Any], delta_extra: dict[str, Any]
) -> None:
    delta = {**delta_extra, "content": content}
    document = {"id": "c1", **extra, "choices": [{"index": 0, "delta": delta}]}
    for payload in _encodings(document):
        assert classify(payload) == _reference(payload), payload
        cut = payload[: len(payload) // 2]
        assert classify(cut) == _reference(cut) == MALFORMED
