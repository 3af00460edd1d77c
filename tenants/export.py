"""A tenant's data export: one zip archive its owner downloads.

The kernel knows nothing of the apps above it, so each app adds its own part: from its
``AppConfig.ready()`` it calls ``register(name, writer, description=..., summary=...)``, and the writer
``writer(tenant, archive)`` adds its files through ``ExportArchive`` (JSON, CSV, stored files copied in
blocks). ``tenant_export`` builds the archive in a temporary file, never in memory, with a README.txt and a
manifest.json listing every file, and records the ``tenant.exported`` audit event.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from tenants.models import AuditAction, Tenant
from tenants.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Writer = Callable[[Tenant, "ExportArchive"], None]
Summary = Callable[[Tenant], str]

_COPY_BLOCK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class ExportPart:
    """One app's part of the archive."""

    name: str
    description: str
    writer: Writer
    summary: Summary | None = None


_parts: dict[str, ExportPart] = {}


def register(name: str, writer: Writer, *, description: str, summary: Summary | None = None) -> None:
    """Add a part to every export (called from an app's ``ready()``; registering a name again replaces it)."""
    _parts[name] = ExportPart(name=name, description=description, writer=writer, summary=summary)


def parts() -> list[ExportPart]:
    """The registered parts, in the order the apps registered them."""
    return list(_parts.values())


def safe_name(name: str, *, fallback: str = "file") -> str:
    """One path component fit for an archive: no folders, no dot-names, no control characters."""
    cleaned = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return cleaned[:150] or fallback


class ExportArchive:
    """The zip being written; every file added is listed in the manifest."""

    def __init__(self, zip_file: zipfile.ZipFile) -> None:
        self._zip = zip_file
        self.files: list[dict[str, Any]] = []
        self.missing: list[str] = []
        self.part = ""

    def _check(self, path: str) -> str:
        segments = path.split("/")
        if any(not s or s in (".", "..") or "\\" in s or "\x00" in s for s in segments):
            raise ValueError(f"Unsafe path {path!r} in the export archive.")
        return path

    def _listed(self, path: str, size: int, description: str) -> None:
        self.files.append({"path": path, "part": self.part, "bytes": size, "description": description})

    def add_bytes(self, path: str, data: bytes, *, description: str = "") -> None:
        self._zip.writestr(self._check(path), data)
        self._listed(path, len(data), description)

    def add_json(self, path: str, data: Any, *, description: str = "") -> None:
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)
        self.add_bytes(path, (text + "\n").encode(), description=description)

    def add_csv(
        self, path: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, description: str = ""
    ) -> None:
        """Rows written as they come (a queryset's ``iterator()`` never sits whole in memory)."""
        with self._entry(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            writer.writerows(rows)
            text.flush()
            text.detach()
        self._listed(path, self._zip.getinfo(path).file_size, description)

    def add_stored(self, path: str, stored_name: str, *, description: str = "") -> bool:
        """Copy a file from storage in blocks; a file gone from storage is noted in the manifest instead."""
        try:
            source = default_storage.open(stored_name, "rb")
        except FileNotFoundError:
            self.missing.append(path)
            return False
        with source, self._entry(path) as target:
            shutil.copyfileobj(source, target, _COPY_BLOCK)
        self._listed(path, self._zip.getinfo(path).file_size, description)
        return True

    @contextmanager
    def _entry(self, path: str) -> Iterator[IO[bytes]]:
        info = zipfile.ZipInfo(self._check(path), date_time=timezone.now().timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(info, "w", force_zip64=True) as entry:
            yield entry


def archive_name(tenant: Tenant) -> str:
    """``<slug>-export-<YYYY-MM-DD>.zip``."""
    return f"{tenant.slug}-export-{timezone.now().date().isoformat()}.zip"


def _readme(tenant: Tenant, created: str) -> str:
    lines = [
        f"Data export of {tenant.name} ({tenant.slug}), made {created} UTC.",
        "",
        "What it holds:",
        *(f"- {part.name}: {part.description}" for part in parts()),
        "",
        "manifest.json lists every file with its size. Model weights are not included.",
    ]
    return "\n".join(lines) + "\n"


def write_archive(tenant: Tenant, destination: IO[bytes]) -> dict[str, Any]:
    """Write the whole archive of ``tenant`` to ``destination``; returns its manifest."""
    created = timezone.now().replace(microsecond=0)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zip_file:
        archive = ExportArchive(zip_file)
        archive.add_bytes("README.txt", _readme(tenant, created.strftime("%Y-%m-%d %H:%M")).encode())
        for part in parts():
            archive.part = part.name
            part.writer(tenant, archive)
        manifest = {
            "organization": {"name": tenant.name, "slug": tenant.slug, "id": str(tenant.pk)},
            "created_at": created.isoformat(),
            "parts": [{"name": p.name, "description": p.description} for p in parts()],
            "files": archive.files,
            "missing_files": archive.missing,
        }
        archive.part = ""
        archive.add_json("manifest.json", manifest)
    return manifest


def tenant_export(*, tenant: Tenant, actor: User | None, ip_address: str | None = None) -> IO[bytes]:
    """The archive of ``tenant`` in a temporary file, rewound and ready to send; records the audit event.

    The caller closes the file (a ``FileResponse`` does once sent); closing deletes it.
    """
    destination = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115  (handed on to the response)
    try:
        manifest = write_archive(tenant, destination)
        size = destination.tell()
        destination.seek(0)
    except BaseException:
        destination.close()
        raise
    audit_record(
        tenant=tenant,
        action=AuditAction.TENANT_EXPORTED,
        actor=actor,
        target_label=archive_name(tenant),
        ip_address=ip_address,
        files=len(manifest["files"]),
        bytes=size,
    )
    return destination
