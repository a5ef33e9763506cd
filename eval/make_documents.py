"""Render the evaluation's licence texts to PDF with fpdf2 (see eval/PROVENANCE.md).

Run from the repository root: ``python -m eval.make_documents``.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent / "documents"
TEXTS = {"GPL-3": "gpl-3.0.pdf", "Apache-2.0": "apache-2.0.pdf", "MPL-2.0": "mpl-2.0.pdf"}


def render(text_path: Path, pdf_path: Path) -> int:
    """Write one text as a PDF (Times 11 pt, A4); returns the page count."""
    pdf = FPDF(format="A4")
    pdf.set_title(text_path.name)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Times", size=11)
    for paragraph in text_path.read_text(encoding="utf-8").split("\n\n"):
        pdf.multi_cell(0, 5, " ".join(paragraph.split()))
        pdf.ln(3)
    pdf.output(str(pdf_path))
    return pdf.pages_count


def main() -> None:
    """Render every evaluation document."""
    for text, pdf in TEXTS.items():
        pages = render(HERE / text, HERE / pdf)
        print(f"{pdf}: {pages} pages")


if __name__ == "__main__":
    main()
