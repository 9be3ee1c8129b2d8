"""The pytest plugin: options, markers, target parametrisation, outcome mapping and reports.

It is inert unless the run collects the suite's checks (conformance/checks), so the suite's
own self-tests can run in the same environment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import importlib.util
import secrets
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import conformance
from conformance.model.catalogue import Level, Requirement, requirement
from conformance.model.errors import CannotEvaluate, TargetDown, UsageError
from conformance.model.redact import SECRETS
from conformance.model.results import CheckResult, Outcome, RequirementResult, Results, SkipKind
from conformance.model.unjudged import unjudged
from conformance.model.violations import Violation
from conformance.report import (
    STYLE_FILE,
    Expected,
    RunView,
    Section,
    render_summary,
    unexpected_only,
)
from conformance.run.check_context import (
    PASS_NOTE,
    PASS_UNJUDGED,
    HypothesisSettings,
    KindedSkip,
    set_hypothesis,
)
from conformance.run.critical_path import CheckCalls, critical_path
from conformance.run.options import RunSettings, add_options, settings_from
from conformance.run.overlap import Overlap
from conformance.run.run_record import run_record
from conformance.run.target import TargetSession
from conformance.run.target_config import TargetConfig, over_transports
from conformance.transport.client import CURRENT_CHECK
from conformance.transport.factory import WEB_TRANSPORTS
from conformance.transport.settings import ChannelSettings
from conformance.transport.throttle import Throttling
from conformance.transport.tokens import NeedsFreshTokens, TokenSourceSpec

if TYPE_CHECKING:
    from conformance.nightly.expectations import ExpectedFailures, Judgement

CHECKS_DIR = Path(__file__).resolve().parent.parent / "checks"
PACKAGE_DIR = CHECKS_DIR.parent


@dataclass
class ConformanceRun:
    """Everything one run of the suite holds: settings, target sessions, results."""

    settings: RunSettings
    sessions: dict[str, TargetSession]
    results: Results
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC)
                            .strftime("%Y-%m-%dT%H:%M:%SZ"))
    started: float = field(default_factory=time.monotonic)
    server: Any = None   # the embedded ReferenceServer, when no --target was given
    throttling: dict[str, Throttling] = field(default_factory=dict)  # per target label
    calls: dict[str, list[CheckCalls]] = field(default_factory=dict)  # per target label
    duration_s: float | None = None  # set when the session finishes
    history_html: str = ""   # --history: the trend fragment, once the run is appended
    overlap: Overlap | None = None  # runs the checks of a phase side by side (issue 17)
    expected: ExpectedFailures | None = None   # --expected-failures, read at configure time
    judgement: Judgement | None = None   # ... and judged once the run is over

    def close(self) -> None:
        if self.overlap is not None:
            self.overlap.close()
        for session in self.sessions.values():
            session.close()
        if self.server is not None:
            self.server.stop()


RUN = pytest.StashKey[ConformanceRun]()
REQUIREMENT = pytest.StashKey[Requirement]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser.getgroup("userapi-conformance", "userapi-conformance suite").addoption,
                pytest=True)


def _collects_checks(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path in (PACKAGE_DIR, CHECKS_DIR) or CHECKS_DIR in path.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers",
                            "requirement(id): the catalogue requirement a check enforces")
    config.addinivalue_line("markers", "must: checks of MUST requirements")
    config.addinivalue_line("markers", "should: checks of SHOULD requirements")
    config.addinivalue_line("markers", "fields: runs after the ordinary checks (see RUN_PHASES)")
    config.addinivalue_line("markers", "late: runs after the ordinary checks (see RUN_PHASES)")
    config.addinivalue_line("markers", "liveness: runs after the fuzz campaign (see RUN_PHASES)")
    config.addinivalue_line("markers", "last: runs after every other check (see RUN_PHASES)")
    config.addinivalue_line("markers", "early: runs before every other check (see RUN_PHASES)")
    config.addinivalue_line("markers", "expiry: runs after the fuzz campaign (see RUN_PHASES)")
    if not _collects_checks(config):
        return
    try:
        if getattr(config.option, "metadata", None):
            raise UsageError("--metadata under pytest belongs to pytest-metadata (it would show "
                             "the values in the HTML report); use --conformance-metadata KEY=VALUE")
        settings, expected = validated_settings(config.getoption)
        settings.report_dir.mkdir(parents=True, exist_ok=True)
    except UsageError as error:
        pytest.exit(f"conformance: usage error: {error}", returncode=2)
    except OSError as error:
        pytest.exit(f"conformance: usage error: --report-dir: {error}", returncode=2)
    if getattr(config.option, "htmlpath", "") is None:  # pytest-html present, no --html given
        config.option.htmlpath = str(settings.report_dir / "conformance.html")
        config.option.self_contained_html = True
    if isinstance(getattr(config.option, "css", None), list):  # pytest-html: our page's style
        # A new list: argparse's default one would grow with every in-process run.
        config.option.css = [*config.option.css, str(STYLE_FILE)]
    if not config.option.xmlpath:
        config.option.xmlpath = str(settings.report_dir / "junit.xml")
    worker_input = getattr(config, "workerinput", None)  # set on pytest-xdist workers
    config.stash[RUN] = _start_run(settings, float(config.getoption("conformance_reuse_grace")),
                                   worker_input.get(EMBEDDED) if worker_input else None)
    config.stash[RUN].expected = expected


def validated_settings(get: Callable[[str], Any]) -> tuple[RunSettings, ExpectedFailures | None]:
    """The run's settings (conformance.run.options), and what the features judge of them before
    any check runs: the reference server's fault and flavour names, the expected-failures file
    (read here, once) and the history database. UsageError names the first problem."""
    settings = settings_from(get)
    web = sorted({t for t in settings.transports if t in WEB_TRANSPORTS} | {
        t.transport for t in settings.targets if t.transport in WEB_TRANSPORTS})
    # The web transports' client, and for the embedded server its web face: the `web` extra.
    needed = ("httpx", "envoy", "connectrpc") if settings.embedded else ("httpx",)
    missing = [name for name in needed if web and importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"--transport {','.join(web)} needs the `web` extra (pip install "
                         f"'userapi-conformance[web]'): {', '.join(missing)} is not installed")
    if settings.reference_faults or settings.reference_flavors:
        # Importing the fault table imports the whole reference server (its package does):
        # only a run that names a fault or flavour pays for it here.
        from conformance.reference.faults import unknown_switches

        problem = unknown_switches(settings.reference_faults, settings.reference_flavors)
        if problem:
            raise UsageError(problem)
    expected = None
    if settings.expected_failures:
        from conformance.nightly.expectations import load
        expected = load(settings.expected_failures)
    if settings.history:
        from conformance.nightly.history import check_history
        check_history(settings.history)
    return settings, expected


# With pytest-xdist the controller starts the one embedded server and tells the workers
# where it is, so every worker collects the same test ids and certifies the same target.
EMBEDDED = "conformance_embedded"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    run = node.config.stash.get(RUN, None)
    if run is not None and run.server is not None:
        node.workerinput[EMBEDDED] = {"address": run.server.address,
                                      "email": run.server.options.email,
                                      "password": run.server.options.password,
                                      "reuse_grace": run.server.options.reuse_grace,
                                      "web_url": run.server.web_url,
                                      "web_origin": run.server.options.web_origin}


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before pytest-xdist's own choice
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With -n N, every check of one target on one worker (see conformance.run.parallel)."""
    run = config.stash.get(RUN, None)
    if run is None or config.getvalue("dist") == "each":
        return None
    from conformance.run.parallel import TargetScheduling
    return TargetScheduling(config, log, list(run.sessions))


def _start_run(settings: RunSettings, reuse_grace: float,
               embedded: dict[str, Any] | None) -> ConformanceRun:
    targets = list(settings.targets)
    server = None
    if settings.embedded:
        if embedded is None:
            server = _start_reference(settings, reuse_grace)
            embedded = {"address": server.address, "email": server.options.email,
                        "password": server.options.password,
                        "reuse_grace": server.options.reuse_grace,
                        "web_url": server.web_url, "web_origin": server.options.web_origin}
        # The embedded server's window (--reuse-grace, or a flavour's) is declared to the checks,
        # and so is the origin its CORS policy allows (WB-03, WB-04).
        one = TargetConfig(ChannelSettings(embedded["address"], plaintext=True,
                                           deadline=settings.deadline),
                           TokenSourceSpec("embedded", email=embedded["email"]),
                           embedded["reuse_grace"], settings.expiry_leeway,
                           settings.max_inflight, web_url=embedded["web_url"],
                           web_origin=embedded["web_origin"] if embedded["web_url"] else None)
        targets = over_transports(one, settings.transports, False, "--transport")
    password = embedded["password"] if embedded else None
    sessions = {t.label: TargetSession(t, settings.profile, password) for t in targets}
    return ConformanceRun(settings, sessions, Results(list(sessions), settings.only),
                          server=server, overlap=Overlap(sessions, _run_phase, _target_label,
                                                         PHASE_NAMES))


def _start_reference(settings: RunSettings, reuse_grace: float) -> Any:
    """The embedded reference server, with its web port when a web transport is asked for."""
    from conformance.reference import ReferenceServer, ServerOptions

    options = ServerOptions(password=secrets.token_urlsafe(18), faults=settings.reference_faults,
                            flavors=settings.reference_flavors, reuse_grace=reuse_grace)
    if any(name in WEB_TRANSPORTS for name in settings.transports):
        options = dataclasses.replace(options, web_port=0,
                                      web_origin=settings.web_origin or options.web_origin)
    return ReferenceServer(options).start()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        run.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    run = metafunc.config.stash.get(RUN, None)
    if run is not None and "target" in metafunc.fixturenames:
        labels = list(run.sessions)
        metafunc.parametrize("target", labels, indirect=True, ids=labels)


@pytest.fixture
def target(request: pytest.FixtureRequest) -> TargetSession:
    """The target under test; its preflight runs once, and failing it makes every check `error`."""
    session = request.config.stash[RUN].sessions[request.param]
    session.ensure_evaluable()
    return session


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        marks = [m for m in item.iter_markers("requirement")]
        if len(marks) != 1 or len(marks[0].args) != 1:
            raise pytest.UsageError(f"suite error: {item.nodeid} must carry exactly one "
                                    "@pytest.mark.requirement(ID)")
        try:
            req = requirement(marks[0].args[0])
        except KeyError as error:
            raise pytest.UsageError(f"suite error: {item.nodeid}: {error}") from None
        item.stash[REQUIREMENT] = req
        item.add_marker(req.level.value.lower())
        label = _target_label(item)
        item.user_properties += [("requirement", req.id), ("level", req.level.value),
                                 ("source", req.source), ("target", str(label))]
        (selected if run.settings.only is None or req.id in run.settings.only
         else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    items.sort(key=_run_phase)  # stable: file order is kept within a phase


# Checks run in phases, whatever their module's name: `fields` ones (FT, CT-03, CT-04: rules on
# every response the suite sees) after the ordinary checks, so that they judge the responses of
# RT's chains and races too; `late` ones (the fuzz campaign, which may damage a target) after
# those, so that a crash is not reported against other requirements; `liveness` (FZ-05: the
# target still serves) after the campaign; `last` ones (FZ-04, FZ-08: scans of every call of the
# run) after everything. RT-21 starts its clock in an `early` check, before all others, and
# judges the token in an `expiry` one, after the fuzz campaign: its wait for an access token to
# expire overlaps the run instead of adding to it. Phases are barriers: the checks of one phase
# overlap (conformance.run.overlap), never those of two.
RUN_PHASES = ("fields", "late", "liveness", "expiry", "last")
EARLY = "early"
PHASE_NAMES = {-1: EARLY, 0: "ordinary", **{n: name for n, name in enumerate(RUN_PHASES, 1)}}


def _run_phase(item: pytest.Item) -> int:
    if item.get_closest_marker(EARLY):
        return -1
    return max((RUN_PHASES.index(m.name) + 1 for m in item.iter_markers()
                if m.name in RUN_PHASES), default=0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    req = item.stash.get(REQUIREMENT, None)
    if req is None:
        return report
    outcome, message = _classify(report, call, req)
    if outcome is Outcome.WARN:
        # A SHOULD failure is reported like an expected failure: visible, not failing the run.
        report.outcome, report.wasxfail = "skipped", message
    elif outcome is Outcome.SKIP and isinstance(report.longrepr, tuple) and isinstance(
            call.excinfo.value if call.excinfo else None, KindedSkip):
        report.longrepr = (*report.longrepr[:2], f"Skipped: {message}")  # not the class's name
    elif outcome is Outcome.SKIP and report.failed:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {message}")
    elif message and report.failed:
        report.longrepr = message
    if call.when == "teardown":
        # The calls this check made (client.CURRENT_CHECK names it in every record, whichever
        # thread made them): RPCs for the RPC economy in results.json and the benchmark.
        session = _session_of(item)
        if session is not None:
            calls = session.client.log.of(item.nodeid)
            report.conformance_rpcs = len(calls)  # type: ignore[attr-defined]
            # What login throttling cost this check (summed per target, for results.json).
            cost = session.throttling(item.nodeid)
            report.conformance_throttling = [cost.refusals, cost.waited_s]  # type: ignore[attr-defined]
            # Its calls' times and phase, for the critical path (conformance.run.critical_path).
            report.conformance_calls = [  # type: ignore[attr-defined]
                _run_phase(item), session.client.log.used_sample(item.nodeid),
                [[r.started, r.ended, r.in_sample] for r in calls]]
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, TargetDown):
        report.conformance_cause = error.cause  # type: ignore[attr-defined]
    if isinstance(error, Violation):  # its parts, laid out by the HTML report
        report.conformance_fields = error.fields()  # type: ignore[attr-defined]
    report.conformance_outcome = outcome.value  # type: ignore[attr-defined]
    report.conformance_message = message  # type: ignore[attr-defined]
    if outcome is Outcome.SKIP:
        report.conformance_skip_kind = _skip_kind(error).value  # type: ignore[attr-defined]
    if outcome is Outcome.PASS:  # a pass that left part of its rule unjudged (partly_judged)
        report.conformance_unjudged = bool(  # type: ignore[attr-defined]
            dict(report.user_properties).get(PASS_UNJUDGED))
    return report


def _skip_kind(error: BaseException | None) -> SkipKind:
    """A skip's kind: as the check raised it (check_context), not-judged for a static token
    source that cannot mint another token, else not-applicable."""
    if isinstance(error, KindedSkip):
        return error.kind
    if isinstance(error, NeedsFreshTokens):
        return SkipKind.NOT_JUDGED
    return SkipKind.NOT_APPLICABLE


def _session_of(item: pytest.Item) -> TargetSession | None:
    run = item.config.stash.get(RUN, None)
    label = _target_label(item)
    return run.sessions.get(label) if run is not None and label else None


def _target_label(item: pytest.Item) -> str | None:
    """The target a check item runs against (its `target` parameter)."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("target") if callspec is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None,
                            ) -> Generator[None, object, object]:
    """The calls made while pytest runs a check are that check's; the first check of a phase
    starts the phase's checks side by side (conformance.run.overlap)."""
    run = item.config.stash.get(RUN, None)
    if run is None or _session_of(item) is None:
        return (yield)
    if run.overlap is not None:
        run.overlap.before(item, item.session.items)
    token = CURRENT_CHECK.set(item.nodeid)
    try:
        return (yield)
    finally:
        CURRENT_CHECK.reset(token)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A check whose body ran ahead ends as it did then (conformance.run.overlap)."""
    run = pyfuncitem.config.stash.get(RUN, None)
    if run is None or run.overlap is None or _session_of(pyfuncitem) is None:
        return None
    return True if run.overlap.call(pyfuncitem) else None


# A passing check's word on what it judged (e.g. a class it could not compare): the message of
# its result. Set with `pass_note`.
def _classify(report: pytest.TestReport, call: pytest.CallInfo[None], req: Requirement,
              ) -> tuple[Outcome, str]:
    if report.passed:
        return Outcome.PASS, SECRETS.scrub(str(dict(report.user_properties).get(PASS_NOTE, "")))
    error = call.excinfo.value if call.excinfo else None
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if isinstance(error, KindedSkip):  # its reason alone, not "module.KindedSkip: reason"
            reason = error.msg
        return Outcome.SKIP, SECRETS.scrub(reason.removeprefix("Skipped: "))
    if isinstance(error, Violation):
        return (Outcome.FAIL if req.level is Level.MUST else Outcome.WARN), error.render(req)
    if isinstance(error, NeedsFreshTokens):
        return Outcome.SKIP, str(error)
    if isinstance(error, CannotEvaluate):
        return Outcome.ERROR, SECRETS.scrub(f"{req.label} could not be evaluated: {error}")
    # Anything else is the suite's own fault, and says so.
    text = SECRETS.scrub(str(report.longrepr))
    return Outcome.ERROR, f"{req.label} suite error ({report.when}): {text}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcome = getattr(report, "conformance_outcome", None)
    run = _current_run()
    if outcome is None or run is None:
        return
    props = dict(report.user_properties)
    rpcs = getattr(report, "conformance_rpcs", None)
    if rpcs is not None:
        run.results.count_rpcs(str(props["target"]), str(props["requirement"]), rpcs)
    cost = getattr(report, "conformance_throttling", None)  # a list: it crosses from xdist workers
    if cost is not None:
        label = str(props["target"])
        run.throttling[label] = run.throttling.get(label, Throttling()) + Throttling(*cost)
    timed = getattr(report, "conformance_calls", None)
    if timed is not None:
        phase, uses_sample, calls = timed
        run.calls.setdefault(str(props["target"]), []).append(CheckCalls(
            report.nodeid, phase, tuple((s, e, bool(b)) for s, e, b in calls), uses_sample))
    cause = getattr(report, "conformance_cause", None)
    if cause:
        run.results.causes.setdefault(str(props["target"]), cause)
    figures = {name: float(str(props[name])) for name in FIGURES if name in props}
    if figures:
        run.results.record_figures(str(props["target"]), str(props["requirement"]), figures)
    run.results.record(report.nodeid, CheckResult(
        report.nodeid.split("::")[-1], str(props["target"]), str(props["requirement"]),
        Outcome(outcome), getattr(report, "conformance_message", ""),
        dict(getattr(report, "conformance_fields", {})),
        SkipKind(kind) if (kind := getattr(report, "conformance_skip_kind", None)) else None,
        bool(getattr(report, "conformance_unjudged", False))))


# What a check measured, recorded with its results for the HTML report (FZ-01's campaign).
FIGURES = ("fuzz_tokens", "fuzz_distinct", "fuzz_seconds")


_CONFIG: list[pytest.Config] = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG[:] = [session.config]
    run = _current_run()
    set_hypothesis(HypothesisSettings(
        _hypothesis_seed(session.config),
        run.settings.report_dir / "hypothesis" if run is not None else None))


def _current_run() -> ConformanceRun | None:
    return _CONFIG[0].stash.get(RUN, None) if _CONFIG else None


def _hypothesis_seed(config: pytest.Config) -> str | None:
    seed = config.getoption("--hypothesis-seed", None)
    return None if seed is None else str(seed)


@pytest.hookimpl(tryfirst=True)  # before pytest-html renders the summary from these results
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or hasattr(session.config, "workerinput"):
        return
    extra: dict[str, dict[str, Any]] = {}
    for label, target in run.sessions.items():
        extra[label] = {"transport": target.transport}
        if run.server is not None:
            # How the embedded server was run, and whether it crashed (a suite bug, or a fault
            # that works by crashing): the self-tests read this.
            extra[label]["reference_server"] = {
                "faults": sorted(run.server.options.faults),
                "flavors": sorted(run.server.options.flavors),
                "unhandled_exceptions": run.server.servicer.unhandled_exceptions}
    for label in run.results.targets:
        cost = run.throttling.get(label, Throttling())
        extra.setdefault(label, {})["throttling"] = {"refusals": cost.refusals,
                                                     "waited_s": round(cost.waited_s, 3)}
        extra[label]["critical_path"] = critical_path(run.calls.get(label, []), PHASE_NAMES)
        if run.overlap is not None and label in run.overlap.by_target:
            extra[label]["overlap"] = run.overlap.by_target[label].record()
    run.duration_s = time.monotonic() - run.started
    if run.expected is not None:
        from conformance.nightly.expectations import judge
        run.judgement = judge(run.expected, run.results.outcomes(), dt.date.today())
        run.results.expectations = run.judgement
    document = run.results.write_json(
        run.settings.report_dir / "results.json", suite_version=conformance.__version__,
        profile=run.settings.profile.name, started_at=run.started_at,
        duration_s=run.duration_s, extra=extra,
        run=run_record(run.settings, [s.config for s in run.sessions.values()],
                       _hypothesis_seed(session.config)))
    if run.settings.history:
        from conformance.nightly.html import history_of_run
        try:
            run.history_html = history_of_run(run.settings.history, document)
        except UsageError as error:
            print(f"conformance: usage error: {error}", file=sys.stderr)
            session.exitstatus = 2
            return
    for label, cause in run.results.causes.items():
        print(f"conformance: error: target {label} could not be evaluated: {cause}",
              file=sys.stderr)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                      pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = run.results.exit_code()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("conformance verdict")
    for label in run.results.targets:
        counts = run.results.counts(label)
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        write(f"{label}: {run.results.verdict(label).value} ({summary})")
        cost = run.throttling.get(label)
        if cost is not None and cost.refusals:
            write(f"  throttled: {cost.refusals} logins refused (RESOURCE_EXHAUSTED or "
                  f"UNAVAILABLE), {cost.waited_s:.1f} s spent waiting and pacing logins")
        overlap = run.overlap.by_target.get(label) if run.overlap is not None else None
        if overlap is not None and overlap.serial_from:
            write(f"  overlap: the checks disturbed one another ({overlap.why}): judged one "
                  f"after another from the {overlap.serial_from} phase on")
        elif overlap is not None and overlap.rerun_alone:
            count = len(overlap.rerun_alone)
            write(f"  overlap: {count} {'check' if count == 1 else 'checks'} that did not pass "
                  "side by side ran again alone and ended the same")
        if label in run.results.causes:
            write(f"  could not be evaluated: {run.results.causes[label]}")
            continue
        for row in run.results.requirements(label):
            if row.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
                write(_row_line(row.outcome.value.upper(), row))
        for line in _not_judged_lines(run.results, label):
            write(line)
    if run.judgement is not None:
        from conformance.nightly.console import expectation_lines
        terminalreporter.section("expected failures")
        for line in expectation_lines(run.judgement, run.results.outcomes()):
            write(line)
    write(f"reports: {run.settings.report_dir}/ (conformance.html, junit.xml, results.json)")


def _row_line(word: str, row: RequirementResult) -> str:
    return f"  {word:5} {row.requirement.id} {row.requirement.level.value:6} {row.headline}"


def _not_judged_lines(results: Results, label: str) -> list[str]:
    """What the target's run left unjudged (conformance.model.unjudged), after its failures:
    a line per MUST and per partial pass; the LD family and the pending MUSTs a line each."""
    left = unjudged(results, label)
    return [*(_row_line(word.upper(), row) for word, row in left.rows()),
            *(f"  NOT JUDGED {ids}: {why}" for ids, why in left.groups())]


# pytest-html integration (optional hooks: the plugin works without pytest-html) -------------
@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: Any) -> None:
    report.title = "userapi-conformance report"


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    cells[1:1] = [f'<th class="sortable" data-column-type="{name.lower()}">{name}</th>'
                  for name in ("Requirement", "Level", "Source", "Target")]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: pytest.TestReport, cells: list[str]) -> None:
    props = dict(getattr(report, "user_properties", ()))  # a collection error's report has none
    cells[1:1] = [f"<td>{html.escape(str(props.get(name, '')))}</td>"
                  for name in ("requirement", "level", "source", "target")]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(prefix: list[str], summary: list[str], postfix: list[str],
                                session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        prefix.append(render_summary(_report_view(run), _nightly_sections(run),
                                     _waived(run.judgement)))


def _nightly_sections(run: ConformanceRun) -> list[Section]:
    """--expected-failures and --history add their sections after "What needs action"."""
    sections = []
    if run.judgement is not None:
        from conformance.nightly.html import expectations_fragment
        sections.append(Section("nm-expectations", "Expected failures", expectations_fragment(
            run.judgement, run.results.outcomes())))
    if run.history_html:
        sections.append(Section("nm-history", "History", run.history_html))
    return sections


def _waived(judgement: Judgement | None) -> Expected:
    """Actions an --expected-failures entry matched are listed apart, as waived."""
    if judgement is None:
        return unexpected_only
    return lambda target, row: (target, row.requirement.id) in judgement.matched


def _report_view(run: ConformanceRun) -> RunView:
    """What the HTML report draws: the results model and the run's facts beside it."""
    return RunView(
        run.results, run.settings.profile.name, conformance.__version__, run.started_at,
        run.duration_s if run.duration_s is not None else time.monotonic() - run.started,
        token_kinds={label: s.config.tokens.kind for label, s in run.sessions.items()},
        throttling={label: (cost.refusals, cost.waited_s)
                    for label, cost in run.throttling.items()})
