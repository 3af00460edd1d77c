"""A corpus of malformed and hostile files: each gets its own specific error or warning, with rows."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zipfile

import pytest

from projects.ingest import CheckLimits, Format, IngestError, check_stream, formula_safe, write_fixed
from projects.ingest.records import read_records
from projects.ingest.sniff import SAMPLE_BYTES


def check(data: bytes, **kwargs):
    return check_stream(io.BytesIO(data), **kwargs)


def report(data: bytes, **kwargs) -> dict:
    return check(data, **kwargs)[1].report


def finding(data: bytes, code: str, **kwargs) -> dict:
    found = [f for f in report(data, **kwargs)["findings"] if f["code"] == code]
    assert found, f"no {code} finding"
    return found[0]


def error_of(data: bytes, **kwargs) -> IngestError:
    with pytest.raises(IngestError) as raised:
        check(data, **kwargs)
    return raised.value


def rows(*lines: str, header: str = "text,label") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


GOOD = [f"message number {i} about cards,{'card' if i % 2 else 'refund'}" for i in range(20)]


# --- files we cannot read at all --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t  ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n\n"])
def test_empty_file_is_refused_as_empty(data):
    assert error_of(data).code == "empty_file"


def test_header_only_says_there_are_no_data_rows():
    error = error_of(b"text,label\n")
    assert (error.code, error.row) == ("header_only", 1)


def test_a_file_with_one_column_says_it_needs_text_and_label():
    error = error_of(b"text\nhello there\nsecond line here\n")
    assert error.code == "one_column"
    assert "text column and a label column" in error.message


def test_a_missing_named_column_lists_the_columns_there_are():
    error = error_of(rows(*GOOD), text_column="utterance")
    assert (error.code, error.column) == ("missing_column", "utterance")
    assert "'text', 'label'" in error.message


def test_columns_that_cannot_be_guessed_ask_which_holds_the_text():
    error = error_of(rows("hello there,a", "bye now,b", header="foo,bar"))
    assert error.code == "missing_column"
    assert "Which column holds the text" in error.message


def test_duplicate_header_names_say_which_columns_clash():
    error = error_of(rows("a,b,c", "d,e,f", header="text,text,label"))
    assert (error.code, error.column) == ("duplicate_header", "text")
    assert "columns 1 and 2" in error.message


def test_unterminated_quote_names_the_row_where_it_starts():
    data = rows(*GOOD[:3], '"this quote never closes,card', *GOOD[3:6])
    error = error_of(data)
    assert (error.code, error.row) == ("unterminated_quote", 5)


@pytest.mark.parametrize("hint", [None, Format.CSV], ids=["sniffed", "format-given"])
def test_a_lone_carriage_return_in_an_unquoted_field_names_its_row(hint):
    # Without a hint this read as "one column"; with format=csv the csv module's error escaped (a 500).
    data = rows(*GOOD[:2], "a message split\rin two,card", *GOOD[2:6])

    error = error_of(data, format_hint=hint)

    assert (error.code, error.row) == ("line_break_in_field", 4)
    assert "double quotes" in error.message


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (gzip.compress(b"text,label\nhi,a\n", mtime=0), "gzip"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        (b"text,label\nhello\x00\x01\x02,card\n" + bytes(range(256)) * 4, "binary"),
    ],
)
def test_a_file_that_is_not_text_is_refused_with_what_it_is(data, what):
    error = error_of(data)
    assert error.code == "not_text"
    assert what in error.message
    assert "export it as CSV" in error.message


def test_an_excel_workbook_is_refused_as_a_zip_archive():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    error = error_of(buffer.getvalue())
    assert error.code == "not_text"
    assert ".xlsx" in error.message


def test_encoding_that_changes_mid_file_names_the_row():
    head = rows(*GOOD) + b"".join(f"filler text row {i},card\n".encode() for i in range(4000))
    assert len(head) > SAMPLE_BYTES
    data = head + "caf\xe9 in cp1252,refund\n".encode("cp1252")
    error = error_of(data)
    assert error.code == "invalid_encoding"
    assert error.row is not None and error.row > 4000


def test_a_field_over_two_million_characters_stops_the_check_with_its_row():
    data = rows(*GOOD[:2], "x" * (2 * 1024 * 1024 + 10) + ",card")
    error = error_of(data)
    assert (error.code, error.row) == ("field_too_large", 4)


# --- encodings and formats we read ----------------------------------------------------------------------


def test_utf8_with_bom_reads_the_first_header_cleanly():
    data = codecs.BOM_UTF8 + rows(*GOOD)
    layout, result = check(data)
    assert (layout.encoding, layout.columns[0], result.report["rows_usable"]) == ("utf-8-sig", "text", 20)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_reads_with_or_without_bom(codec):
    data = "\n".join(["text,label", *GOOD, "naïve café ☕,refund"]).encode(codec)
    layout, result = check(data)
    assert result.report["rows_usable"] == 21
    assert layout.encoding.startswith("utf-16")


def test_windows_1252_falls_back_and_says_so():
    data = "\n".join(["text,label", *GOOD, "\u201csmart quotes\u201d and caf\xe9,refund"]).encode("cp1252")
    layout, result = check(data)
    assert layout.encoding == "cp1252"
    notes = [f for f in result.report["findings"] if f["code"] == "encoding"]
    assert "read as Windows-1252" in notes[0]["message"]
    texts = [
        r.text
        for r in read_records(io.BytesIO(data), layout, text_column="text", label_column="label", multi_label=False)
    ]
    assert "\u201csmart quotes\u201d and caf\xe9" in texts


def test_tab_separated_file_with_commas_in_texts_is_read_as_tsv():
    data = rows(*(f"hello, world {i}\t{'a' if i % 2 else 'b'}" for i in range(10)), header="text\tlabel")
    layout, result = check(data)
    assert (layout.format, result.report["rows_usable"]) == (Format.TSV, 10)


def test_semicolon_separated_file_is_read():
    data = rows(*(f"bonjour {i};{'a' if i % 2 else 'b'}" for i in range(10)), header="text;label")
    layout, _ = check(data)
    assert layout.delimiter == ";"


def test_crlf_line_endings_are_read():
    data = rows(*GOOD).replace(b"\n", b"\r\n")
    assert report(data)["rows_usable"] == 20


def test_jsonl_with_label_lists_is_multi_label_and_bad_lines_are_named():
    lines = [json.dumps({"text": f"text {i}", "labels": ["a", "b"] if i % 2 else ["c"]}) for i in range(8)]
    lines.insert(3, "{not json")
    layout, result = check("\n".join(lines).encode())
    assert (layout.format, layout.multi_label) == (Format.JSONL, True)
    bad = next(f for f in result.report["findings"] if f["code"] == "invalid_json")
    assert bad["rows"] == [4]
    assert {label["name"] for label in result.report["labels"]} == {"a", "b", "c"}


def test_comprehend_headerless_label_first_file_is_recognised():
    lines = [
        f"{'BILLING' if i % 2 else 'SHIPPING|RETURNS'},my order number {i} has a long question about it"
        for i in range(12)
    ]
    layout, result = check(("\n".join(lines) + "\n").encode())
    assert layout.format == Format.COMPREHEND
    assert (layout.has_header, layout.multi_label, result.report["rows_usable"]) == (False, True, 12)


# --- rows we read but cannot use, and data problems -------------------------------------------------------


def test_ragged_rows_are_left_out_and_named():
    found = finding(rows(*GOOD[:4], "only one field", *GOOD[4:], "a,b,c,d"), "ragged_row")
    assert (found["rows"], found["count"]) == ([6, 23], 2)


def test_a_very_long_line_of_separators_is_a_ragged_row():
    found = finding(rows(*GOOD, "," * 100_000), "ragged_row")
    assert found["rows"] == [22]


def test_whitespace_only_texts_are_left_out_with_their_rows():
    found = finding(rows(*GOOD[:3], "   ,card", "\t,refund", *GOOD[3:]), "empty_text")
    assert (found["rows"], found["column"]) == ([5, 6], "text")


def test_a_file_of_only_whitespace_texts_has_no_usable_rows():
    result = report(rows("   ,card", "  ,refund"))
    assert result["status"] == "invalid"
    assert result["findings"][0]["code"] == "no_usable_rows"


def test_empty_labels_are_left_out_with_their_rows():
    found = finding(rows(*GOOD, "no label here,"), "empty_label")
    assert (found["rows"], found["column"]) == ([22], "label")


def test_one_label_only_blocks_training():
    result = report(rows(*(f"text {i},same" for i in range(10))))
    assert result["status"] == "invalid"
    assert [f["code"] for f in result["findings"] if f["severity"] == "error"] == ["one_label"]


def test_labels_with_one_example_block_training_and_are_named():
    result = report(rows(*GOOD, "lonely example,singleton"))
    errors = [f for f in result["findings"] if f["severity"] == "error"]
    assert errors[0]["code"] == "label_too_rare"
    assert "'singleton' (1)" in errors[0]["message"]


def test_labels_with_few_examples_warn_but_do_not_block():
    result = report(rows(*GOOD, *(f"rare {i},rare" for i in range(3))))
    assert result["status"] == "ready"
    assert any(f["code"] == "label_few_examples" for f in result["findings"])


def test_case_and_whitespace_label_variants_are_found_with_the_merge_proposed():
    data = rows(*GOOD, *(f"more {i},Card" for i in range(3)), "again, card ,refund".replace(", card", ",  card"))
    found = finding(data, "label_variants")
    assert "'Card' → 'card'" in found["message"]


def test_exact_and_conflicting_duplicates_name_their_rows():
    data = rows("same text,card", "other,refund", "same text,card", "clash,card", "x,refund", " clash ,refund", *GOOD)
    result = report(data)
    exact = next(f for f in result["findings"] if f["code"] == "duplicate_text")
    conflicting = next(f for f in result["findings"] if f["code"] == "conflicting_duplicate")
    assert exact["rows"] == [4]
    assert conflicting["rows"] == [5, 7]


def test_a_one_megabyte_text_is_read_and_warned_about():
    found = finding(rows(*GOOD, "y" * 1_000_000 + ",card"), "text_too_long")
    assert found["rows"] == [22]


def test_token_limit_share_is_measured_with_the_given_tokenizer():
    data = rows(*GOOD, *(f"{'word ' * 50},card" for _ in range(20)))
    result = report(
        data, count_tokens=lambda texts: [len(t.split()) for t in texts], limits=CheckLimits(token_limit=20)
    )
    assert result["truncated_share"] == 0.5
    assert any(f["code"] == "texts_truncated" for f in result["findings"])


def test_formula_payloads_are_kept_verbatim_and_escaped_on_export():
    payload = '=HYPERLINK("http://evil.example","click")'
    data = rows(*GOOD, f'"{payload.replace(chr(34), chr(34) * 2)}",card', "+1+1,refund", "@SUM(A1),card")
    layout, _result = check(data)
    texts = [
        r.text
        for r in read_records(io.BytesIO(data), layout, text_column="text", label_column="label", multi_label=False)
    ]
    assert payload in texts and "+1+1" in texts
    assert formula_safe(payload) == "'" + payload
    assert formula_safe("-5 degrees") == "'-5 degrees"
    assert formula_safe("plain") == "plain"


def test_suggested_split_is_the_split_rule_it_is_given():
    from training.engine.data import split_sizes

    split = report(rows(*GOOD), split_sizes=split_sizes)["suggested_split"]
    assert (split["train_rows"], split["validation_rows"]) == split_sizes([10, 10]) == (16, 4)
    assert report(rows(*GOOD))["suggested_split"] is None  # no rule given: no split stated


# --- the fix ------------------------------------------------------------------------------------------------


def test_fix_drops_duplicates_and_empty_rows_and_merges_label_variants():
    data = rows("same text,card", "same text,card", "clash,card", "clash,refund", "   ,card", "variant,Card", *GOOD)
    layout, result = check(data)
    out = io.StringIO()
    records = read_records(io.BytesIO(data), layout, text_column="text", label_column="label", multi_label=False)

    written = write_fixed(records, result, out, multi_label=False)

    fixed = out.getvalue().splitlines()
    assert fixed[0] == "text,label"
    assert fixed.count("same text,card") == 1
    assert not any(line.startswith("clash") for line in fixed)
    assert "variant,card" in fixed
    assert written == len(fixed) - 1 == 22
    _, again = check(out.getvalue().encode())
    assert not [f for f in again.report["findings"] if f["severity"] != "info"]


def test_more_rows_than_the_limit_stops_the_check():
    error = error_of(rows(*GOOD), limits=CheckLimits(max_rows=10))
    assert (error.code, error.row) == ("too_many_rows", 12)
