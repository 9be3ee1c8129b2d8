"""A small element tree built with the standard library's HTML parser, for structure tests of
the HTML report (no regular expressions over markup)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    order: int   # position in the document: an element before another has a smaller order
    children: list[Element | str] = field(default_factory=list)

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, *, cls: str | None = None,
                 id: str | None = None) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag)
                and (cls is None or cls in e.attrs.get("class", "").split())
                and (id is None or e.attrs.get("id") == id)]

    def find(self, tag: str | None = None, *, cls: str | None = None,
             id: str | None = None) -> Element:
        found = self.find_all(tag, cls=cls, id=id)
        assert found, f"no <{tag or '*'} class={cls} id={id}>"
        return found[0]

    def strings(self) -> Iterator[str]:
        """Every text node and attribute value, one by one (a scan of each cannot run two
        neighbouring texts together)."""
        for element in self.iter():
            yield from element.attrs.values()
            yield from (c for c in element.children if isinstance(c, str))

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, 0)
        self.stack = [self.root]
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count += 1
        element = Element(tag, {k: v or "" for k, v in attrs}, self.count)
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):  # close up to the matching open element
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(markup: str) -> Element:
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root
