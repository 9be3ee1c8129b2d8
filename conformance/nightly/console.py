"""The console's section of an --expected-failures run: expected and unexpected outcomes apart,
the entries that went unused or expired, and a paste-ready entry per unexpected failure."""

from __future__ import annotations

from conformance.nightly.expectations import Entry, Judgement, paste_ready

__all__ = ["expectation_lines"]


def _entry(entry: Entry) -> str:
    ticket = f" [{entry.ticket}]" if entry.ticket else ""
    return f"entry {entry.number} ({entry.requirement} {entry.outcome} on {entry.target}{ticket})"


def expectation_lines(judgement: Judgement, outcomes: dict[str, list[tuple[str, str]]],
                      ) -> list[str]:
    lines: list[str] = []
    for target, rows in outcomes.items():
        outcome_of = dict(rows)
        expected = [(rid, e) for (t, rid), e in judgement.matched.items() if t == target]
        unexpected = judgement.unexpected.get(target, [])
        lines.append(f"{target}: {len(expected)} expected, {len(unexpected)} unexpected")
        for rid, entry in expected:
            ticket = f" [{entry.ticket}]" if entry.ticket else ""
            lines.append(f"  expected    {outcome_of[rid]:5} {rid}: {entry.reason}{ticket}")
        for rid in unexpected:
            lines.append(f"  UNEXPECTED  {outcome_of[rid]:5} {rid}")
    for entry in judgement.unused:
        lines.append(f"{judgement.file}: {_entry(entry)} matched nothing: the expected failure "
                     "did not happen; remove the entry")
    for entry in judgement.expired:
        assert entry.expires is not None
        lines.append(f"{judgement.file}: {_entry(entry)} expired on {entry.expires.isoformat()}:"
                     " fix the deviation, or agree a new date")
    pasted = [paste_ready(target, rid, dict(outcomes[target])[rid])
              for target, ids in judgement.unexpected.items() for rid in ids]
    if pasted:
        lines.append(f"paste-ready entries for the unexpected failures (into {judgement.file}):")
        for block in pasted:
            lines.extend(["", *block.splitlines()])
        lines.append("")
    lines.append(f"exit status {judgement.exit_status} (with {judgement.file})")
    return lines
