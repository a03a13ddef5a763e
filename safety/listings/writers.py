"""Write a listing frame as CSV, XLSX or PDF, and hash its content for the store.

Verbatim terms may hold anything (HTML, spreadsheet formulas). Text is always written as inert
text: in CSV and XLSX a cell starting (also after spaces) with = + - @ TAB or CR gets a single-quote prefix
(OWASP "CSV injection"), XLSX cells are written with write_string and formula/URL conversion off,
and the PDF renders plain text only (no markup) with a core font: characters outside latin-1 are
replaced by '?' (the PDF says how many cells and which rows), and no font file is shipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

Format = Literal["csv", "xlsx", "pdf"]
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ListingMeta:
    study: str
    data_cut: dt.date
    generated_at: dt.datetime
    title: str
    period: str = ""


@dataclass(frozen=True)
class ListingFile:
    path: Path
    sha256: str  # content hash: sha256 of the canonical CSV bytes (same for every format)
    rows: int
    pages: int | None  # PDF only
    format: str = "csv"
    file_sha256: str = ""
    params: dict[str, str] = field(default_factory=dict)


def inert_text(value: str) -> str:
    """The text a spreadsheet shows literally: a leading formula character gets a quote prefix, also
    after leading whitespace (' =1+2': spreadsheets that trim spaces on import would evaluate it)."""
    return "'" + value if value.startswith(_DANGEROUS_START) or value.lstrip().startswith(_DANGEROUS_START) else value


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "; ".join(_cell_text(v) for v in value)
    return str(value)


def _rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[_cell_text(v) for v in row] for row in frame.iter_rows()]


def canonical_csv(frame: pl.DataFrame) -> bytes:
    """UTF-8, comma, minimal quoting, \\n line ends, values as `_cell_text`: the hashed form."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(frame.columns)
    writer.writerows(_rows(frame))
    return buf.getvalue().encode("utf-8")


def content_sha256(frame: pl.DataFrame) -> str:
    return hashlib.sha256(canonical_csv(frame)).hexdigest()


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([inert_text(c) for c in frame.columns])
        for row in _rows(frame):
            writer.writerow([v if num else inert_text(v) for v, num in zip(row, numeric, strict=True)])


def _write_xlsx(frame: pl.DataFrame, path: Path, meta: ListingMeta) -> None:
    import xlsxwriter

    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(path), options) as wb:
        ws = wb.add_worksheet("Listing")
        bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDDDDD"})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        ws.write_string(0, 0, inert_text(f"{meta.study} - {meta.title}"))
        ws.write_string(1, 0, inert_text(f"Data cut {meta.data_cut.isoformat()}; period {meta.period or 'cumulative'}; "
                                         f"generated {meta.generated_at.isoformat(timespec='seconds')}"))
        header_row = 3
        for j, name in enumerate(frame.columns):
            ws.write_string(header_row, j, inert_text(name), bold)
        numeric = [dtype.is_numeric() for dtype in frame.dtypes]
        widths = [len(c) for c in frame.columns]
        for i, row in enumerate(frame.iter_rows(), start=header_row + 1):
            for j, value in enumerate(row):
                if value is not None and numeric[j] and not isinstance(value, bool):
                    ws.write_number(i, j, value)
                    text = str(value)
                else:
                    text = inert_text(_cell_text(value))
                    ws.write_string(i, j, text, wrap)
                widths[j] = max(widths[j], min(len(text), 60))
        for j, w in enumerate(widths):
            ws.set_column(j, j, min(max(w + 2, 8), 60))
        ws.freeze_panes(header_row + 1, 0)
        ws.autofilter(header_row, 0, header_row + frame.height, max(len(frame.columns) - 1, 0))


def _latin1(text: str) -> str:
    # Core PDF fonts only cover latin-1; replace the rest rather than fail on any verbatim term.
    return text.encode("latin-1", "replace").decode("latin-1")


def _write_pdf(frame: pl.DataFrame, path: Path, meta: ListingMeta) -> tuple[int, int]:
    """Pages, and the number of cells whose text had characters outside latin-1 (printed as '?')."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    rows = _rows(frame)
    # the PDF says which rows lost characters: a reader must not take '?' for the verbatim text
    lossy_rows = [i for i, r in enumerate(rows, start=1) if any(_latin1(v) != v for v in r)]
    n_lossy = sum(_latin1(v) != v for r in rows for v in r) + sum(_latin1(c) != c for c in frame.columns)
    notice = (f"   {n_lossy} cell(s) with characters outside latin-1 shown as '?' (note at end)"
              if n_lossy else "")

    class _Listing(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", "B", 9)
            self.cell(0, 5, _latin1(f"{meta.study} - {meta.title}"), new_x="LMARGIN", new_y="NEXT")
            self.set_font("helvetica", "", 7)
            self.cell(0, 4, _latin1(f"Data cut: {meta.data_cut.isoformat()}   Period: {meta.period or 'cumulative'}   "
                                    f"Generated: {meta.generated_at.isoformat(timespec='seconds')}") + notice,
                      new_x="LMARGIN", new_y="NEXT")
            self.ln(1)

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("helvetica", "", 7)
            self.cell(0, 5, _latin1(f"{meta.study}   data cut {meta.data_cut.isoformat()}   "
                                    f"generated {meta.generated_at.isoformat(timespec='seconds')}"), align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    # A line listing has ~30 columns: on A4 some would be narrower than one character, which fpdf
    # refuses; wide listings go on A3 landscape, and every column keeps a readable minimum width.
    page = "A4" if frame.width <= 18 else "A3"
    pdf = _Listing(orientation="L", unit="mm", format=page)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(8, 8, 8)
    pdf.add_page()
    pdf.set_font("helvetica", "", 5.5)
    # Column widths proportional to content length, within bounds, filling the page width.
    lengths = [max([len(c), *(min(len(r[j]), 80) for r in rows)]) for j, c in enumerate(frame.columns)]
    weights = [min(max(n, 6), 40) for n in lengths]
    widths = _column_widths(weights, pdf.epw, minimum=min(9.0, pdf.epw / max(len(weights), 1)))
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=2.6, markdown=False,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(221, 221, 221)),
                   repeat_headings=1) as table:
        table.row([_latin1(c) for c in frame.columns])
        for r in rows:
            table.row([_latin1(v) for v in r])
    if not rows:
        pdf.cell(0, 5, "No records.")
    if n_lossy:
        pdf.ln(2)
        pdf.set_font("helvetica", "", 7)
        shown = ", ".join(map(str, lossy_rows[:50])) + (", ..." if len(lossy_rows) > 50 else "")
        pdf.multi_cell(0, 4, f"Note: {n_lossy} cell(s) hold characters outside latin-1 that this PDF's core font "
                             f"cannot show; they are printed as '?' (listing rows {shown or 'none: column names'}). "
                             "The CSV and XLSX of this listing carry the full text.")
    pdf.output(str(path))
    return pdf.pages_count, n_lossy


def _column_widths(weights: list[int], page_width: float, minimum: float) -> tuple[float, ...]:
    """Widths proportional to content, none below `minimum`, filling `page_width` exactly."""
    widths = [0.0] * len(weights)
    free, flexible = page_width, list(range(len(weights)))
    while flexible:
        total = sum(weights[j] for j in flexible) or 1
        narrow = [j for j in flexible if weights[j] / total * free < minimum]
        if not narrow:
            for j in flexible:
                widths[j] = weights[j] / total * free
            break
        for j in narrow:
            widths[j] = minimum
        free -= minimum * len(narrow)
        flexible = [j for j in flexible if j not in narrow]
    return tuple(widths)


def write_listing(frame: pl.DataFrame, path: Path | str, fmt: Format, meta: ListingMeta) -> ListingFile:
    """Write `frame` to `path` as csv, xlsx or pdf; return hashes, row and page counts, parameters."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pages, n_lossy = None, 0
    if fmt == "csv":
        _write_csv(frame, out)
    elif fmt == "xlsx":
        _write_xlsx(frame, out, meta)
    elif fmt == "pdf":
        pages, n_lossy = _write_pdf(frame, out, meta)
    else:
        raise ValueError(f"unknown listing format {fmt!r}: expected csv, xlsx or pdf")
    params = {
        "study": meta.study, "title": meta.title, "period": meta.period, "data_cut": meta.data_cut.isoformat(),
        "generated_at": meta.generated_at.isoformat(timespec="seconds"), "format": fmt,
        "pdf_font": "helvetica core font, latin-1 with '?' replacement" if fmt == "pdf" else "",
        "pdf_cells_with_replaced_characters": str(n_lossy) if fmt == "pdf" else "",
    }
    return ListingFile(out, content_sha256(frame), frame.height, pages, fmt,
                       hashlib.sha256(out.read_bytes()).hexdigest(), params)
