"""Periodic SUSAR line listings, the DSUR cumulative tabulation, and their CSV/XLSX/PDF writers."""

from safety.listings.susar_listing import (
    cumulative_listing,
    cumulative_summary_tabulation,
    susar_line_listing,
)
from safety.listings.writers import ListingFile, ListingMeta, content_sha256, write_listing

__all__ = [
    "ListingFile", "ListingMeta", "content_sha256", "cumulative_listing", "cumulative_summary_tabulation",
    "susar_line_listing", "write_listing",
]
