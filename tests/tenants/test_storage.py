from __future__ import annotations

import uuid

import pytest

from tenants.storage import tenant_file_path

TENANT = uuid.UUID("6f1c3a52-8f4e-4a0e-9d3b-0a4c3b2f1e00")


def test_files_live_under_the_tenants_uuid():
    assert tenant_file_path(TENANT, "datasets", "train.csv") == f"tenants/{TENANT}/datasets/train.csv"


@pytest.mark.parametrize("part", ["..", ".", "", "a/b", "..\\x", "bad\x00name"])
def test_a_path_component_that_could_escape_the_tenants_folder_is_refused(part):
    with pytest.raises(ValueError, match="Unsafe path component"):
        tenant_file_path(TENANT, part)


def test_a_tenant_id_that_is_not_a_uuid_is_refused():
    with pytest.raises(ValueError):
        tenant_file_path("../other", "x")
