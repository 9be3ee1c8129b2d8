"""The requirement catalogue, loaded once from catalogue.toml into frozen dataclasses."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

__all__ = ["Level", "Requirement", "catalogue", "catalogue_identity", "requirement",
           "source_links"]

CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")


class Level(str, Enum):
    """RFC 2119 level of a requirement: a MUST failure is `fail`, a SHOULD failure `warn`."""

    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    title: str
    source: str

    @property
    def family(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def label(self) -> str:
        """`[RT-05 MUST]`, the prefix of every message about this requirement."""
        return f"[{self.id} {self.level.value}]"


@cache
def catalogue() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    data = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {
        row["id"]: Requirement(row["id"], Level(row["level"]), row["title"], row["source"])
        for row in data["requirement"]
    }


@cache
def catalogue_identity() -> dict[str, int | str]:
    """`{"version": N, "sha256": ...}`: which catalogue judged a run (results.json, --version)."""
    raw = CATALOGUE_FILE.read_bytes()
    return {"version": int(tomllib.loads(raw.decode("utf-8"))["version"]),
            "sha256": hashlib.sha256(raw).hexdigest()}


@cache
def families() -> dict[str, str]:
    """Family code to family name (CT: contract and transport, ...)."""
    data = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {row["code"]: row["name"] for row in data["family"]}


def requirement(requirement_id: str) -> Requirement:
    """The catalogued requirement with this ID; KeyError names unknown IDs."""
    try:
        return catalogue()[requirement_id]
    except KeyError:
        raise KeyError(f"{requirement_id!r} is not in the requirement catalogue") from None


_RFC = re.compile(r"RFC (\d+)(?: §([0-9.]+)| App\. ([A-Z](?:\.\d+)?))?((?:, §[0-9.]+)*)")
_MORE = re.compile(r"§([0-9.]+)")


def source_links(source: str) -> list[tuple[str, str]]:
    """(text, URL) pairs for the RFC clauses cited in a source column, for the HTML report; a
    list of clauses after one RFC ("RFC 6749 §6, §10.4") links each to that RFC."""
    links = []
    for match in _RFC.finditer(source):
        number, section, appendix, more = match.groups()
        url = f"https://www.rfc-editor.org/rfc/rfc{number}"
        head = match.group(0)[:len(match.group(0)) - len(more)]
        if section:
            links.append((head, f"{url}#section-{section.rstrip('.')}"))
        elif appendix:
            links.append((head, f"{url}#appendix-{appendix}"))
        else:
            links.append((head, url))
        links += [(m.group(0), f"{url}#section-{m.group(1).rstrip('.')}")
                  for m in _MORE.finditer(more)]
    return links
