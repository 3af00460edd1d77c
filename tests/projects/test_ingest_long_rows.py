"""A long text is read the same wherever it is in the file: the sniffer reads past a first row longer than
its sample, so a long first row gets the same ``text_too_long`` warning as one further down."""

from __future__ import annotations

import io
import json

import pytest

from projects.ingest import SAMPLE_BYTES, Format, IngestError, check_stream, sniff_stream, whole_lines

SHORT = [f"message number {i} about cards,{'card' if i % 2 else 'refund'}" for i in range(20)]


def csv_with_long_text(at: int, text: str) -> bytes:
    """Rows of short texts with ``text`` as data row ``at`` (the file's row ``at + 1``)."""
    lines = list(SHORT)
    lines.insert(at - 1, f"{text},card")
    return ("\n".join(["text,label", *lines]) + "\n").encode()


def findings(data: bytes) -> dict[str, dict]:
    _, result = check_stream(io.BytesIO(data))
    return {f["code"]: f for f in result.report["findings"]}


@pytest.mark.parametrize("text", ["x" * 70_000, "é" * 50_000], ids=["70k-ascii", "50k-two-byte"])
@pytest.mark.parametrize("at", [1, 12], ids=["first-row", "row-12"])
def test_a_long_text_warns_as_too_long_wherever_it_is(at, text):
    data = csv_with_long_text(at, text)
    assert len(data) > SAMPLE_BYTES  # longer than the sniffer's first sample

    found = findings(data)

    assert found["text_too_long"]["rows"] == [at + 1]
    assert "header_only" not in found


def test_a_long_first_json_line_is_read_whole():
    lines = [{"text": "y" * 80_000, "label": "card"}] + [{"text": f"t {i}", "label": "refund"} for i in range(10)]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()

    layout = sniff_stream(io.BytesIO(data))
    found = findings(data)

    assert (layout.format, layout.text_column, layout.label_column) == (Format.JSONL, "text", "label")
    assert found["text_too_long"]["rows"] == [1]


def test_the_sample_of_a_part_of_a_file_is_never_taken_for_the_whole_file():
    # The first 100 kB of a file whose first data row goes on: a preview's part, not a header-only file.
    data = csv_with_long_text(1, "z" * 300_000)[:100_000]

    with pytest.raises(IngestError) as raised:
        sniff_stream(io.BytesIO(data), partial=True)

    assert raised.value.code == "header_only"
    assert type(raised.value).__name__ == "SampleTooShort"


def test_whole_lines_cuts_at_the_last_line_end_of_the_encoding():
    text = "text,label\nhello,a\nunfinished"
    assert whole_lines(text.encode("utf-8"), "utf-8") == b"text,label\nhello,a\n"
    utf16 = text.encode("utf-16")  # with its BOM
    assert whole_lines(utf16, "utf-16").decode("utf-16") == "text,label\nhello,a\n"
    be = text.encode("utf-16-be")
    assert whole_lines(be, "utf-16-be").decode("utf-16-be") == "text,label\nhello,a\n"
