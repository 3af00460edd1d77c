"""The static files' storage with DEBUG off: WhiteNoise's compressed manifest storage, gzip only.

WhiteNoise adds Brotli copies wherever the ``brotli`` package happens to be installed. The image has no
brotli, so production serves gzip; the development tools bring it (locust's HTTP client needs it), and
there Brotli at its highest quality took ~4 minutes on two shared cores to compress the API docs' bundles
in ``collectstatic`` (the production static test) against seconds for gzip. Gzip everywhere keeps
development building what production builds.
"""

from __future__ import annotations

from typing import Any

from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


class GzipManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs: Any) -> Compressor:
        return Compressor(**{**kwargs, "use_brotli": False})
