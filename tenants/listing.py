"""One way every dashboard list pages: ``?page=`` with the other query parameters (search, filters) kept.

A view calls :func:`page_of` with its query set (already filtered and ordered) and puts the result in
its context as ``listing``; the template includes ``_pagination.html``. A page number that is not a
number, or past the end, shows the last page instead of a 404 (a list that shrank under a bookmark).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import QuerySet
    from django.http import HttpRequest

DEFAULT_PER_PAGE = 25


@dataclass(frozen=True)
class Listing:
    page: Page
    query: str
    """The request's other query parameters, url-encoded, to carry into the page links ('' or 'a=b&')."""

    @cached_property
    def items(self) -> Sequence[Any]:
        return list(self.page.object_list)

    @property
    def total(self) -> int:
        return self.page.paginator.count

    @property
    def paginated(self) -> bool:
        return self.page.paginator.num_pages > 1


def page_of(request: HttpRequest, items: QuerySet[Any] | Sequence[Any], *, per_page: int = DEFAULT_PER_PAGE) -> Listing:
    paginator = Paginator(items, per_page)
    page = paginator.get_page(request.GET.get("page"))
    others = request.GET.copy()
    others.pop("page", None)
    query = others.urlencode()
    return Listing(page=page, query=f"{query}&" if query else "")
