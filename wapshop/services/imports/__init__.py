"""CSV import and export of products and deals, as Chinese spreadsheets save them: UTF-8 with
or without a BOM, or GBK. Headers may be the Chinese ones we export or English field names.

An import checks every row and reports each bad one by line and column. It is all or nothing:
the caller commits only when the report is clean and it is not a dry run, and rolls back
otherwise (deal rows are checked by writing them, because a row may clash with an earlier one)."""

from wapshop.services.csvfiles import FileRefused
from wapshop.services.imports.catalog_sheet import PRODUCT_COLUMNS, import_products, product_rows
from wapshop.services.imports.deal_sheet import DEAL_COLUMNS, deal_rows, import_deals
from wapshop.services.imports.sheets import Report, TooSlow, count_rows

__all__ = [
    "COLUMNS",
    "KINDS",
    "FileRefused",
    "Report",
    "TooSlow",
    "count_rows",
    "deal_rows",
    "import_deals",
    "import_file",
    "import_products",
    "product_rows",
]

KINDS = ("products", "deals")
COLUMNS = {"products": PRODUCT_COLUMNS, "deals": DEAL_COLUMNS}


def import_file(kind: str, data: bytes, actor, dry_run: bool, progress=None) -> Report:
    """import_products or import_deals by kind. Raises FileRefused."""
    importer = import_products if kind == "products" else import_deals
    return importer(data, actor, dry_run, progress)
