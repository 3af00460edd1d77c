"""Property-based: whatever texts and labels a customer has, writing them as a CSV/TSV/JSONL file and
reading it back gives the same texts and labels, exactly."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projects.ingest import Format, check_stream, read_records, sniff_stream

# Any text a person could type, with at least one visible character; no NUL, no lone surrogates.
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=200
).filter(lambda t: t.strip())
label = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="|[\x00"),
    min_size=1,
    max_size=20,
)
single_rows = st.lists(st.tuples(texts, st.tuples(label)), min_size=1, max_size=40)
multi_rows = st.lists(
    st.tuples(texts, st.lists(label, min_size=1, max_size=4, unique=True).map(tuple)), min_size=1, max_size=40
)


def as_delimited(rows, delimiter: str, encoding: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["text", "labels"])
    for text, labels in rows:
        writer.writerow([text, "|".join(labels)])
    return out.getvalue().encode(encoding)


def read_back(data: bytes, multi_label: bool, fmt: Format | None):
    stream = io.BytesIO(data)
    layout = sniff_stream(stream, format_hint=fmt)
    return [
        (r.text, r.labels)
        for r in read_records(stream, layout, text_column="text", label_column="labels", multi_label=multi_label)
    ]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=single_rows,
    fmt=st.sampled_from([(",", Format.CSV), ("\t", Format.TSV)]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_single_label_files_round_trip_exactly(rows, fmt, encoding):
    delimiter, hint = fmt
    assert read_back(as_delimited(rows, delimiter, encoding), False, hint) == [
        (t, (labels[0].strip(),)) for t, labels in rows
    ]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(rows=multi_rows)
def test_multi_label_files_round_trip_exactly(rows):
    expected = [(t, tuple(dict.fromkeys(x.strip() for x in labels))) for t, labels in rows]
    assert read_back(as_delimited(rows, ",", "utf-8"), True, Format.CSV) == expected


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(rows=multi_rows)
def test_jsonl_round_trips_exactly(rows):
    data = "\n".join(json.dumps({"text": t, "labels": list(labels)}) for t, labels in rows).encode()
    expected = [(t, tuple(dict.fromkeys(x.strip() for x in labels))) for t, labels in rows]
    assert read_back(data, True, Format.JSONL) == expected


plain_texts = st.text(alphabet=st.sampled_from("abcdefghij klmnop,.'\"!?\n"), min_size=1, max_size=80).filter(
    lambda t: t.strip()
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(plain_texts, st.tuples(st.sampled_from(["pos", "neg", "neutral"]))), min_size=2, max_size=40
    )
)
def test_auto_detection_reads_quoted_commas_and_newlines_as_written(rows):
    data = as_delimited(rows, ",", "utf-8")
    layout, result = check_stream(io.BytesIO(data))
    assert (layout.format, layout.delimiter) == (Format.CSV, ",")
    assert result.report["rows_usable"] == len(rows)
    assert read_back(data, False, None) == list(rows)
