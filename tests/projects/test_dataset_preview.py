"""The upload page's preview: it refuses what the upload refuses (the same checks, run on what the preview
has of the file), says whether the refusal blocks the upload, and never ships or shows a whole long cell."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from projects.services.datasets import PREVIEW_CELL_CHARS, PREVIEW_MAX_BYTES
from tenants.models import Role
from tests.factories import GOOD_LINES, REFUSED, named_csv, rows, stored_files


def url(name: str, tenant, project, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs={"tenant_slug": tenant.slug, "project_id": project.pk, **kwargs})


@pytest.fixture
def member(client, tenant, member_of):
    client.force_login(member_of(tenant, Role.MEMBER).user)
    return client


def preview(client, tenant, project, data: bytes, *, size: int | None = None, **fields):
    """What the page's script does: post the file's first ``PREVIEW_MAX_BYTES`` with the file's size."""
    body = {"file": named_csv(data[:PREVIEW_MAX_BYTES], "f.csv"), "size": str(len(data) if size is None else size)}
    return client.post(url("dataset-preview", tenant, project), {**body, **fields}, HTTP_ACCEPT="application/json")


def upload(client, tenant, project, data: bytes, **fields):
    return client.post(
        url("dataset-list", tenant, project),
        {"file": named_csv(data, "f.csv"), **fields},
        HTTP_ACCEPT="application/json",
    )


# What the preview cannot see: a field over 2 MiB lies past the part of the file the preview reads.
SEEN = [r for r in REFUSED if r.name != "field over 2 MiB"]


@pytest.mark.parametrize("refused", SEEN, ids=[r.name for r in SEEN])
def test_the_preview_refuses_what_the_upload_refuses(member, tenant, project, refused):
    answer = preview(member, tenant, project, refused.data, **refused.fields)
    uploaded = upload(member, tenant, project, refused.data, **refused.fields)

    body = answer.json()
    found = body["error"] if answer.status_code != 200 else body["refused"]
    assert uploaded.status_code == refused.status
    assert found is not None, "the preview let through what the upload refuses"
    assert (found["code"], found["row"]) == (uploaded.json()["error"]["code"], uploaded.json()["error"]["row"])
    assert found.get("blocking", True)
    assert stored_files(tenant) == []


def test_a_file_without_a_label_column_shows_its_columns_and_blocks_until_one_is_chosen(member, tenant, project):
    data = rows("hello there,a", "bye now,b", header="text,code")

    guessed = preview(member, tenant, project, data).json()
    same = preview(member, tenant, project, data, text_column="text", label_column="text").json()
    chosen = preview(member, tenant, project, data, text_column="text", label_column="code").json()

    assert guessed["columns"] == ["text", "code"] and guessed["label_column"] is None
    assert guessed["refused"]["code"] == "missing_column"
    assert same["refused"]["code"] == "same_column"
    assert chosen["refused"] is None and chosen["label_column"] == "code"


def test_an_unterminated_quote_in_a_whole_small_file_is_refused_at_preview(member, tenant, project):
    data = rows(*GOOD_LINES[:3], '"never closed,card', *GOOD_LINES[3:6])

    body = preview(member, tenant, project, data).json()

    assert (body["refused"]["code"], body["refused"]["row"]) == ("unterminated_quote", 5)


def test_a_quote_open_where_the_previewed_part_ends_is_not_judged(member, tenant, project):
    # Multi-line quoted texts: the part of the file the preview has ends inside one, which closes later.
    line = '"first line of a review\nsecond line of it, with a comma\nthird",card'
    data = ("text,label\n" + "\n".join([line] * 40_000) + "\n").encode()
    assert len(data) > PREVIEW_MAX_BYTES

    body = preview(member, tenant, project, data).json()

    assert body["partial"] is True and body["refused"] is None
    assert upload(member, tenant, project, data).status_code == 200


def test_a_preview_of_a_too_large_file_is_refused_like_its_upload(member, tenant, project, settings):
    settings.DATASET_MAX_UPLOAD_MB = 1

    response = preview(member, tenant, project, rows(*GOOD_LINES), size=5 * 1024 * 1024)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_long_cells_are_cut_in_the_preview_with_their_length(member, tenant, project):
    data = rows("x" * 52_000 + ",card", *GOOD_LINES)

    response = preview(member, tenant, project, data)

    body = response.json()
    assert len(response.content) < 10_000  # not the 52,000 characters
    first = body["preview"][0]
    assert len(first[0]) == PREVIEW_CELL_CHARS and first[0].endswith("…")
    assert body["preview_chars"][0] == [52_000, 4]
    assert body["preview"][1] == GOOD_LINES[0].split(",")  # short cells as they are
    assert body["refused"] is None


def test_a_first_row_longer_than_the_preview_says_so_without_blocking_the_upload(member, tenant, project):
    data = rows("y" * (PREVIEW_MAX_BYTES + 10) + ",card", *GOOD_LINES)

    response = preview(member, tenant, project, data)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "preview_incomplete"
    assert response.json()["error"]["blocking"] is False
    assert upload(member, tenant, project, data).status_code == 200


@override_settings(DATASET_INLINE_CHECK_MB=10)
def test_a_long_first_row_uploads_with_the_too_long_warning(member, tenant, project):
    data = rows("z" * 70_000 + ",card", *GOOD_LINES)

    body = upload(member, tenant, project, data).json()

    assert body["status"] == "ready"
    page = member.get(body["url"]).content.decode()
    assert 'data-code="text_too_long"' in page
