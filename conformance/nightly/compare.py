"""`python -m conformance compare OLD.json NEW.json [--json]`: what changed between two runs, per
target, after the OpenID conformance suite's compare-results script and Schemathesis's baseline.

A requirement whose outcome's severity grew (pass = skip < warn < error < fail) has `regressed`,
one whose severity fell has `improved`, one in only one file is `added` or `removed`; pass and
skip are of one severity, so a change between them is no difference. Results judged by
different catalogue versions compare on the IDs both know, and say so. Exit 0: no difference;
1: a regression; 16: differences, none a regression (the OpenID suite's "differences found");
2: an input is unreadable. The history's "changes since the previous run" is this comparison.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.model.catalogue import catalogue
from conformance.model.command_parser import CommandParser

__all__ = ["Change", "CompareError", "Comparison", "compare_documents", "main", "read_results"]

# The embedded reference server listens on a new free port every run: runs of it are runs of one
# target, named so (results.json's run record tells it by its token source).
EMBEDDED = "(embedded reference server)"
SEVERITY = {"pass": 0, "skip": 0, "warn": 1, "error": 2, "fail": 3}
EXIT_SAME, EXIT_REGRESSED, EXIT_UNREADABLE, EXIT_DIFFERENT = 0, 1, 2, 16


class CompareError(Exception):
    """An input is not a results.json document: exit 2 with this one-line message."""


@dataclass(frozen=True)
class Change:
    id: str
    level: str
    old: str | None
    new: str | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "regressed" if SEVERITY[self.new] > SEVERITY[self.old] else "improved"

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "old": self.old, "new": self.new,
                "change": self.kind}


@dataclass(frozen=True)
class TargetComparison:
    target: str
    old_verdict: str | None
    new_verdict: str | None
    changes: tuple[Change, ...]

    @property
    def status(self) -> str:
        if self.old_verdict is None:
            return "added"
        if self.new_verdict is None:
            return "removed"
        return "changed" if self.changes or self.old_verdict != self.new_verdict else "same"

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "status": self.status,
                "verdict": {"old": self.old_verdict, "new": self.new_verdict},
                "changes": [c.as_json() for c in self.changes]}


def _version(version: int | None) -> str:
    # A results.json of a suite older than its catalogue record has no version to show.
    return "(no version recorded)" if version is None else f"v{version}"


@dataclass(frozen=True)
class Comparison:
    old_catalogue: int | None
    new_catalogue: int | None
    targets: tuple[TargetComparison, ...]

    @property
    def shared_ids_only(self) -> bool:
        return self.old_catalogue != self.new_catalogue

    @property
    def exit_status(self) -> int:
        changes = [c for t in self.targets for c in t.changes]
        if any(c.kind == "regressed" for c in changes):
            return EXIT_REGRESSED
        return EXIT_DIFFERENT if any(t.status != "same" for t in self.targets) else EXIT_SAME

    def catalogue_note(self) -> str:
        if not self.shared_ids_only:
            return f"catalogue v{self.new_catalogue} (both)"
        return (f"catalogue {_version(self.old_catalogue)} (OLD) and "
                f"{_version(self.new_catalogue)} (NEW) differ: compared on the requirement IDs "
                "both know")

    def as_json(self) -> dict[str, Any]:
        return {"catalogue": {"old": self.old_catalogue, "new": self.new_catalogue,
                              "shared_ids_only": self.shared_ids_only,
                              "note": self.catalogue_note()},
                "targets": [t.as_json() for t in self.targets],
                "exit_status": self.exit_status}

    def lines(self) -> Iterator[str]:
        yield self.catalogue_note()
        for t in self.targets:
            if t.status == "added":
                yield f"{t.target}: added ({t.new_verdict}; {len(t.changes)} requirements)"
                continue
            if t.status == "removed":
                yield f"{t.target}: removed (was {t.old_verdict})"
                continue
            verdict = f"{t.old_verdict} -> {t.new_verdict}" if t.old_verdict != t.new_verdict \
                else f"{t.new_verdict} (unchanged)"
            yield f"{t.target}: {verdict}"
            for c in t.changes:
                yield f"  {c.kind:9} {c.id} {c.level:6} {c.old or '-'} -> {c.new or '-'}"
        summary = {EXIT_SAME: "no differences", EXIT_REGRESSED: "regression found",
                   EXIT_DIFFERENT: "differences found, no regression"}
        yield summary[self.exit_status]


def target_name(document: dict[str, Any], label: str) -> str:
    """The name a target is compared and kept in the history by: its label, or EMBEDDED."""
    sources = (document.get("run") or {}).get("token_sources") or {}
    kind = (sources.get(label) or {}).get("kind") if isinstance(sources, dict) else None
    return EMBEDDED if kind == "embedded" else label


def _outcomes(target: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {row["id"]: (row["outcome"], row.get("level", "")) for row in target["requirements"]}


def _ordered(ids: set[str]) -> list[str]:
    known = [rid for rid in catalogue() if rid in ids]
    return known + sorted(ids - set(known))


def compare_documents(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    """Compare two results.json documents (validated by read_results, or the history's)."""
    old_version = old.get("catalogue", {}).get("version")
    new_version = new.get("catalogue", {}).get("version")
    shared_only = old_version != new_version
    olds = {target_name(old, t["target"]): t for t in old["targets"]}
    news = {target_name(new, t["target"]): t for t in new["targets"]}
    labels = list(olds) + [label for label in news if label not in olds]
    targets = []
    for label in labels:
        before = _outcomes(olds[label]) if label in olds else {}
        after = _outcomes(news[label]) if label in news else {}
        ids = set(before) & set(after) if shared_only and before and after \
            else set(before) | set(after)
        changes = []
        for rid in _ordered(ids):
            was, now = before.get(rid), after.get(rid)
            if was and now and SEVERITY[was[0]] == SEVERITY[now[0]]:
                continue
            level = (now or was or ("", ""))[1]
            changes.append(Change(rid, level, was[0] if was else None, now[0] if now else None))
        targets.append(TargetComparison(label, olds[label]["verdict"] if label in olds else None,
                                        news[label]["verdict"] if label in news else None,
                                        tuple(changes)))
    return Comparison(old_version, new_version, tuple(targets))


def read_results(path: str) -> dict[str, Any]:
    """A results.json document, its shape checked as far as compare reads it."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CompareError(f"{path}: cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CompareError(f"{path}: not JSON: {error}") from None
    except RecursionError:
        raise CompareError(f"{path}: not JSON this suite reads (nested too deeply)") from None
    try:
        targets = document["targets"]
        assert isinstance(targets, list)
        for target in targets:
            assert isinstance(target["target"], str) and isinstance(target["verdict"], str)
            for row in target["requirements"]:
                assert isinstance(row["id"], str) and row["outcome"] in SEVERITY
                assert isinstance(row.get("level", ""), str)
        version = document.get("catalogue", {}).get("version")
        assert version is None or isinstance(version, int)
        # target_name reads the run record's token sources: objects, when present.
        run = document.get("run") or {}
        assert isinstance(run, dict)
        sources = run.get("token_sources") or {}
        assert isinstance(sources, dict) and all(isinstance(s, dict) for s in sources.values())
    except (AssertionError, KeyError, TypeError, AttributeError):
        raise CompareError(f"{path}: not a results.json document (targets, each with target, "
                           "verdict and requirements with id and outcome)") from None
    return dict(document)


def main(argv: list[str]) -> int:
    parser = CommandParser(
        "compare",
        description="What changed between two runs' results.json, per target. "
        "Exit 0: no difference; 1: a regression; 16: differences, none a "
        "regression; 2: unreadable input.")
    parser.add_argument("old", metavar="OLD.json")
    parser.add_argument("new", metavar="NEW.json")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args(argv)
    try:
        comparison = compare_documents(read_results(args.old), read_results(args.new))
    except CompareError as error:
        print(f"conformance: compare: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(comparison.as_json(), indent=2))
    else:
        for line in comparison.lines():
            print(line)
    return comparison.exit_status
