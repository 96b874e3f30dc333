"""The tables of an HTML page, parsed with the standard library's HTMLParser (entities decoded)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Table:
    caption: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    # per body row, per cell: the texts of its <li> items
    items: list[list[list[str]]] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.headings: list[str] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._item: list[str] | None = None
        self._caption: list[str] | None = None
        self._heading: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(Table())
        elif tag == "caption":
            self._caption = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self.tables and not self._in_head:
            self.tables[-1].rows.append([])
            self.tables[-1].items.append([])
        elif tag in ("td", "th"):
            self._cell = []
            if not self._in_head:
                self.tables[-1].items[-1].append([])
        elif tag == "li" and self._cell is not None:
            self._item = []
        elif tag == "h2":
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self.tables[-1].caption = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.tables[-1].header if self._in_head else self.tables[-1].rows[-1]).append(text)
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.tables[-1].items[-1][-1].append(" ".join("".join(self._item).split()))
            self._item = None
        elif tag == "h2":
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        for part in (self._cell, self._item, self._caption, self._heading):
            if part is not None:
                part.append(data)


def parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser


def table(html: str, caption_start: str) -> Table:
    (found,) = [t for t in parse(html).tables if t.caption.startswith(caption_start)]
    return found


def section_text(html: str, heading: str) -> str:
    """The page's text from the h2 `heading` to the next h2 (or the end), whitespace collapsed."""
    start = html.index(f"<h2>{heading}")
    end = html.find("<h2>", start + 4)
    return " ".join("".join(parse(html[start:end if end != -1 else None]).text).split())
