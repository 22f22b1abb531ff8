"""Pages by cursor, in id order: stable while rows are added, and as fast on page 1,000
as on page 1 (a WHERE id > n, never an OFFSET)."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "pk"  # the id; a risk row's primary key is its customer
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500  # a larger page_size is cut to this, never an error
