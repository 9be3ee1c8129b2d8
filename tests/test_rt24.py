"""RT-24 against servers that trust identity metadata: the culprit header is named and shown in
the reproduce line (the token redacted); a refusal of the headers together but of none alone
passes, a refusal caused by one header fails (the catalogue: the answer never changes)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any, cast

from conformance.checks import test_rt as rt_checks
from conformance.model.contract import GET_ME_METHOD, pb
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import redact
from conformance.model.status import Status
from conformance.model.violations import Violation
from conformance.reference import ReferenceServer
from conformance.run.check_context import PASS_NOTE
from conformance.transport.client import Reply, UserApiClient
from conformance.transport.tokens import TokenPair

OWNER = "1f0e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
TOKEN = "a-live-access-token-0123456789"
IDENTITY_METADATA = rt_checks.IDENTITY_METADATA
OTHER_EMAIL = rt_checks.OTHER_EMAIL


def test_the_fault_is_named_by_its_header_and_reproduced_with_it(run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", "RT-24",
                    "--reference-fault", "get-me-trusts-identity-header")
    assert run.tripped() == {"RT-24"}, run.stdout[-2000:]
    texts = [failure.text or "" for failure in
             ElementTree.parse(run.report_dir / "junit.xml").iter("failure")]
    assert len(texts) == 1
    received = next(line for line in texts[0].splitlines() if line.startswith("Received:"))
    # only the header the fault trusts, and the user it names
    assert received.count("` got ") == 1 and f"`x-forwarded-email: {OTHER_EMAIL}`" in received
    assert f"email {OTHER_EMAIL}" in received
    assert f"-H 'x-forwarded-email: {OTHER_EMAIL}'" in texts[0]
    assert "-H 'authorization: Bearer <token sha256:" in texts[0]


def test_made_up_metadata_is_shown_but_an_issued_token_in_it_is_not(
        client: UserApiClient, reference: ReferenceServer) -> None:
    login = client.login(reference.options.email, reference.options.password)
    assert login.ok and login.response is not None
    issued = login.response.auth_token.token
    reply = client.get_me(f"Bearer {issued}", made_up=(("x-user", OTHER_EMAIL),
                                                       ("x-note", f"see {issued}")))
    assert reply.ok
    assert f"-H 'x-user: {OTHER_EMAIL}'" in reply.reproduce
    assert f"-H 'x-note: see {redact(issued)}'" in reply.reproduce
    assert issued not in reply.reproduce


# The check's judgement, on made-up answers -----------------------------------------------------
def _answer(uuid: str | None, code: Status = Status.OK,
            ) -> Reply[pb.GetMeResponse]:
    response = pb.GetMeResponse(user=pb.User(uuid=uuid)) if uuid is not None else None
    return Reply(GET_ME_METHOD, code, "" if response else "identity header refused", response,
                 0.0, "grpcurl ...")


@dataclass
class FakeTarget:
    """A target whose GetMe answer is chosen by the identity headers a call carries."""

    answer: Any  # (tuple of metadata keys) -> Reply
    calls: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def client(self) -> FakeTarget:
        return self

    def fresh_tokens(self) -> TokenPair:
        return TokenPair(refresh_token="rt", access_token=TOKEN)

    def get_me(self, authorization: str | None, *, secret: bool = True,
               made_up: tuple[tuple[str, str], ...] = ()) -> Reply[pb.GetMeResponse]:
        assert authorization == f"Bearer {TOKEN}"
        keys = tuple(key for key, _ in made_up)
        self.calls.append(keys)
        return cast(Reply[pb.GetMeResponse], self.answer(keys))


@dataclass
class FakeNode:
    user_properties: list[tuple[str, object]] = field(default_factory=list)


def _judge(answer: Any) -> tuple[FakeTarget, FakeNode, Exception | None]:
    target, node = FakeTarget(answer), FakeNode()
    try:
        check = rt_checks.test_rt24_identity_metadata_never_changes_the_user
        check(cast(Any, target), cast(Any, type("Request", (), {"node": node})()))
    except (Violation, CannotEvaluate) as error:
        return target, node, error
    return target, node, None


def test_a_server_that_ignores_the_headers_costs_two_calls() -> None:
    target, _, error = _judge(lambda keys: _answer(OWNER))
    assert error is None and len(target.calls) == 2


def test_headers_refused_together_but_harmless_alone_pass_with_a_note() -> None:
    every = len(IDENTITY_METADATA)
    target, node, error = _judge(lambda keys: _answer(
        None, Status.INVALID_ARGUMENT) if len(keys) == every else _answer(OWNER))
    assert error is None
    assert len(target.calls) == 2 + every
    note = str(dict(node.user_properties)[PASS_NOTE])
    assert "each alone leaves GetMe's answer unchanged" in note


def test_a_refusal_caused_by_one_header_fails_and_names_it() -> None:
    _, _, error = _judge(lambda keys: _answer(
        None, Status.PERMISSION_DENIED) if "x-remote-user" in keys else _answer(OWNER))
    assert isinstance(error, Violation)
    assert error.title == "Identity metadata made GetMe refuse a valid access token"
    assert error.received.startswith(f"`x-remote-user: {OTHER_EMAIL}` got PERMISSION_DENIED")
    assert error.received.count("` got ") == 1


def test_another_user_is_impersonation() -> None:
    other = "9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9"
    _, _, error = _judge(lambda keys: _answer(other) if "x-user-id" in keys else _answer(OWNER))
    assert isinstance(error, Violation)
    assert error.title == "Identity metadata changed GetMe's user"
    assert f"OK with another user: uuid {other}" in error.received


def test_a_target_that_stopped_answering_is_not_judged() -> None:
    _, _, error = _judge(lambda keys: _answer(None, Status.UNAVAILABLE) if keys
                         else _answer(OWNER))
    assert isinstance(error, CannotEvaluate)
