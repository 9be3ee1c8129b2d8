"""The HTML report as a browser shows it: a faulty run and a two-target run rendered in headless
Chromium, asserted on the rendered DOM, each with a screenshot left in its report dir.

No browser is a failure, never a skip: `make test` installs Debian's chromium
(tools/ensure-chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.model.catalogue import catalogue
from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.store import hash_token
from conformance.report.browser import BrowserMissing, chromium, dump_dom, print_pdf, screenshot
from tests.helpers.html_tree import Element, parse
from tests.test_catalogue import PENDING

PASSWORD = "Br0wser-Passw0rd-value"
# Runs of token characters in the rendered text, each hashed to compare with what was issued.
TOKEN_RUN = re.compile(r"[A-Za-z0-9_.~+/=-]{16,}")


@pytest.fixture(autouse=True)
def browser() -> str:
    try:
        return chromium()
    except BrowserMissing as error:
        pytest.fail(f"the browser tests need Chromium: {error}")


def _issued(server: ReferenceServer) -> set[str]:
    """The SHA-256 of every token the server issued (it keeps nothing else of them)."""
    rows = server.servicer.store._db.execute(
        "SELECT token_hash FROM refresh_tokens UNION SELECT token_hash FROM access_tokens")
    return {row[0] for row in rows}


def _rendered(report_dir: Path) -> Element:
    page = report_dir / "conformance.html"
    screenshot(page, report_dir / "conformance.png")
    dom = dump_dom(page)
    return parse(dom)


def _assert_no_secret(page: Element, issued: set[str]) -> None:
    strings = list(page.strings())
    assert not [text for text in strings if PASSWORD in text]
    assert issued and not [run for text in strings for run in TOKEN_RUN.findall(text)
                           if hash_token(run) in issued]


def _login(address: str) -> list[str]:
    return ["--target", address, "--plaintext", "--login-email", "qa@example.com",
            "--login-password-env", "QA_PASSWORD"]


@pytest.fixture
def faulty() -> Iterator[ReferenceServer]:
    with ReferenceServer(ServerOptions(password=PASSWORD, faults=frozenset(
            {"unknown-refresh-token-permission-denied"}))) as server:
        yield server


def test_faulty_run_shows_verdict_and_the_failure_before_the_full_table(
        run_suite: Any, faulty: ReferenceServer) -> None:
    run = run_suite(*_login(faulty.address), "--profile", "quick",
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 1
    page = _rendered(run.report_dir)
    assert (run.report_dir / "conformance.png").stat().st_size > 10_000
    pdf = print_pdf(run.report_dir / "conformance.html", run.report_dir / "conformance.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    # Self-contained: nothing is fetched (no external script, style sheet, image or frame).
    fetched = [e.attrs.get("src") or e.attrs.get("href") for e in page.iter()
               if (e.tag in ("script", "img", "iframe", "video", "source") and e.attrs.get("src"))
               or e.tag == "link"]
    assert fetched == [], fetched
    badge = page.find(cls="cf-target").find(cls="cf-badge")
    assert badge.text == "\u2717 non-conformant"
    action = page.find("article", id="cf-action-t0-RT-05")
    fields = {dt.text: dd for dt, dd in zip(action.find_all("dt"), action.find_all("dd"),
                                            strict=True)}
    assert "UNAUTHENTICATED" in fields["Expected"].text
    assert "PERMISSION_DENIED" in fields["Received"].text
    assert fields["Reproduce"].find("pre").text.startswith("grpcurl ")
    full_table = page.find("table", cls="cf-requirements")
    checks_table = page.find("table", id="results-table")
    assert fields["Received"].order < full_table.order < checks_table.order
    # pytest-html's scripts ran: its per-check table has a row per check.
    # (more checks than requirements with checks: catalogue v3's pending ones have none yet)
    assert len(checks_table.find_all("tbody", cls="results-table-row")) > \
        len(catalogue()) - len(PENDING)
    fz01 = page.find("tr", id="cf-row-t0-FZ-01")
    assert "tokens tried" in fz01.text
    _assert_no_secret(page, _issued(faulty))


def test_two_target_run_has_a_matrix_cell_per_requirement_and_target(
        run_suite: Any, faulty: ReferenceServer, tmp_path: Path) -> None:
    with ReferenceServer(ServerOptions(password=PASSWORD)) as good:
        targets = tmp_path / "targets.toml"
        targets.write_text("".join(
            f'[[target]]\naddress = "{s.address}"\nplaintext = true\nlogin_email = '
            f'"qa@example.com"\nlogin_password_env = "QA_PASSWORD"\n' for s in (good, faulty)))
        run = run_suite("--targets-file", str(targets), "--profile", "quick",
                        "--only", "CT-01,RT-05,RT-07", env={"QA_PASSWORD": PASSWORD})
        issued = _issued(good) | _issued(faulty)
    assert run.exit_code == 1
    page = _rendered(run.report_dir)
    badges = {card.find("code").text: card.find(cls="cf-badge").text
              for card in page.find_all(cls="cf-target")}
    assert badges == {good.address: "\u2713 conformant", faulty.address: "\u2717 non-conformant"}
    cells = page.find("table", cls="cf-matrix").find_all("td", cls="cf-cell")
    assert len(cells) == len(catalogue()) * 2
    ids = {e.attrs["id"] for e in page.iter() if "id" in e.attrs}
    links = [cell.find("a").attrs["href"].removeprefix("#") for cell in cells]
    assert set(links) <= ids
    assert "cf-action-t1-RT-05" in links and "cf-row-t0-RT-05" in links
    _assert_no_secret(page, issued)
