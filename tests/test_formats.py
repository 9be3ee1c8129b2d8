"""Unit tests of conformance.formats: grammar-edge tables and hypothesis properties."""

import functools
import ipaddress
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import formats
from conformance.formats import (
    did_method_specific_id,
    has_control_characters,
    is_absolute_uri,
    is_base58btc_multibase,
    is_bearer_token,
    is_did,
    is_email,
    is_lowercase_uuid,
    is_phone,
    is_uuid,
    is_vschar_token,
    uri_scheme,
)

FAST = settings(max_examples=200, deadline=None)

# ---------------------------------------------------------------------------
# RFC 9562 §4: UUID text form
# ---------------------------------------------------------------------------

UUID_VALID = [
    "00000000-0000-0000-0000-000000000000",  # nil UUID, §5.9
    "ffffffff-ffff-ffff-ffff-ffffffffffff",  # max UUID, §5.10
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",  # case-insensitive on input
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6",
    "f81D4fAE-7dec-11D0-a765-00A0c91e6BF6",  # mixed case
    "C232AB00-9414-11EC-B3C8-9F6BDECED846",  # RFC 9562 Appendix A.1 (v1)
    "5df41881-3aed-3515-88a7-2f4a814cf09e",  # A.2 (v3)
    "919108f7-52d1-4320-9bac-f847db4148a8",  # A.3 (v4)
    "2ed6657d-e927-568b-95e1-2665a8aea6a2",  # A.4 (v5)
    "1EC9414C-232A-6B00-B3C8-9F6BDECED846",  # A.5 (v6)
    "017F22E2-79B0-7CC3-98C4-DC0C0C07398F",  # A.6 (v7)
    "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0",  # B.1 (v8)
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # DNS namespace, §6.6
    "6ba7b811-9dad-11d1-80b4-00c04fd430c8",  # URL namespace
    "6ba7b814-9dad-11d1-80b4-00c04fd430c8",  # X.500 namespace
    "123e4567-e89b-12d3-a456-426614174000",
    "550e8400-e29b-41d4-a716-446655440000",
    "a0eebc99-9c0b-0ef8-bb6d-6bb9bd380a11",  # version 0: the text form does not care
    "00000000-0000-0000-c000-000000000000",  # other variant: the text form does not care
    "12345678-90ab-cdef-1234-567890abcdef",
    "abcdef01-2345-6789-abcd-ef0123456789",
]

UUID_INVALID = [
    "",
    "UUID",  # the placeholder of api.md's example
    "f81d4fae7dec11d0a76500a0c91e6bf6",  # hyphens missing
    "{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}",  # Microsoft braces
    "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",  # URN form, RFC 9562 §4 names it apart
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf",  # 11 digits in the last group
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6a",  # 13 digits in the last group
    "f81d4fa-e7dec-11d0-a765-00a0c91e6bf6",  # hyphen moved
    "f81d4fae--7dec-11d0-a765-00a0c91e6bf6",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6-",
    "f81d4fae-7dec-11d0-a765_00a0c91e6bf6",
    "f81d4fae 7dec 11d0 a765 00a0c91e6bf6",
    "f81d4fae:7dec:11d0:a765:00a0c91e6bf6",
    "g81d4fae-7dec-11d0-a765-00a0c91e6bf6",  # g is not HEXDIG
    "0x1d4fae-7dec-11d0-a765-00a0c91e6bf6",
    " f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6 ",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6\n",  # "$" would match before it
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6\x00",
    "\u200bf81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf\uff16",  # fullwidth 6
    "\u0660" * 8 + "-0000-0000-0000-000000000000",  # Arabic-Indic digits match \d
]


@pytest.mark.parametrize("value", UUID_VALID)
def test_is_uuid_accepts_the_text_form(value: str) -> None:
    assert is_uuid(value)


@pytest.mark.parametrize("value", UUID_INVALID)
def test_is_uuid_rejects_other_strings(value: str) -> None:
    assert not is_uuid(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", True),
        ("00000000-0000-0000-0000-000000000000", True),
        ("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", False),
        ("f81d4fae-7dec-11d0-A765-00a0c91e6bf6", False),
        ("UUID", False),
        ("f81d4fae7dec11d0a76500a0c91e6bf6", False),
    ],
)
def test_is_lowercase_uuid_requires_lower_case_hex(value: str, expected: bool) -> None:
    assert is_lowercase_uuid(value) is expected


_HEX = "0123456789abcdefABCDEF"


@st.composite
def uuids(draw: st.DrawFn) -> str:
    groups = [draw(st.text(_HEX, min_size=n, max_size=n)) for n in (8, 4, 4, 4, 12)]
    return "-".join(groups)


@st.composite
def corrupted_uuids(draw: st.DrawFn) -> str:
    text = draw(uuids())
    index = draw(st.integers(0, len(text) - 1))
    if draw(st.booleans()):
        # A 37th character, whatever it is, leaves the 8-4-4-4-12 form.
        return text[:index] + draw(st.characters()) + text[index:]
    # A non-hex character for a digit, a digit for a hyphen.
    replacement = draw(st.sampled_from("gGzZx -_:" if text[index] != "-" else "0aF_:"))
    return text[:index] + replacement + text[index + 1 :]


@FAST
@given(uuids())
def test_is_uuid_accepts_generated_uuids(value: str) -> None:
    assert is_uuid(value)


@FAST
@given(corrupted_uuids())
def test_is_uuid_rejects_one_character_corruptions(value: str) -> None:
    assert not is_uuid(value)


# ---------------------------------------------------------------------------
# RFC 5322 §3.4.1 / RFC 6531 addresses, through email-validator
# ---------------------------------------------------------------------------

EMAIL_VALID = [
    "qa@example.com",
    "user+tag@sub.example.org",
    "\u00fc@ex\u00e4mple.de",  # RFC 6531 local part and IDN domain
    "x@example.test",  # RFC 6761 test domain
    "a@b.co",
    "first.last@example.com",
    "o'brien@example.ie",
    "!#$%&'*+-/=?^_`{|}~@example.com",  # every atext special
    "1234567890@example.com",
    "a_b@example.net",
    "user%host@example.com",
    "Abc@EXAMPLE.COM",
    "postmaster@example.com",
    "a@a-b.example.com",
    "x@xn--mller-kva.de",  # IDNA A-label
    "\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a",  # Chinese local part and domain
    "j\u00f6rg@example.de",
    "test@sub.sub.sub.example.io",
    "x" * 64 + "@example.com",  # RFC 5321 local-part limit
    "a@" + "b" * 63 + ".com",  # RFC 1035 label limit
    "a@example.c0m",  # a TLD with a letter
    "user@example.museum",
    # FT-03 judges syntax only (RFC 5322 §3.4.1), no deliverability policy:
    "qa@corp.local",  # RFC 6762 special-use domain, as in vendor sandboxes
    "a@x.invalid",  # RFC 6761 special-use domains
    "a@example.onion",
    "a@localhost",  # a domain without a dot is a dot-atom too
    "a@b",
    "a@1.2.3.4",
    '"john doe"@example.com',  # quoted-string local part (§3.2.4)
    '"a@b"@example.com',
    "a@[192.0.2.1]",  # domain-literal (§3.4.1)
    "a@[IPv6:2001:db8::1]",
]

EMAIL_INVALID = [
    "",
    "[email\u00a0protected]",  # api.md's mangled example
    "[email protected]",
    "plainaddress",
    "@example.com",
    "a@",
    "John <a@b.c>",  # display name
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example..com",
    "a@example.com.",
    " a@example.com",
    "a@example.com ",
    "a@example.com\n",
    "a b@example.com",
    "a@@example.com",
    "a@ex_ample.com",
    "a\x00@example.com",
    "a@b\u200b.com",
    "a@" + "b" * 64 + ".com",
    "mailto:a@example.com",
    "a@b@example.com",  # two "@" outside quotes
    "John Doe a@example.com",
    "a@example.local.",
    "a@.local",
    '"unterminated@example.com',
]


@pytest.mark.parametrize("value", EMAIL_VALID)
def test_is_email_accepts_valid_addresses(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize("value", EMAIL_INVALID)
def test_is_email_rejects_invalid_addresses(value: str) -> None:
    assert not is_email(value)


_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
_UTF8_LETTERS = "\u00fc\u00e9\u00f1\u00f8\u00df\u00e7\u00e5\u00e6\u7528\u6237"
_LDH = "abcdefghijklmnopqrstuvwxyz0123456789"
_RESERVED_TLDS = {"arpa", "invalid", "local", "localhost", "onion"}


@st.composite
def emails(draw: st.DrawFn) -> str:
    # dot-atom-text = 1*atext *("." 1*atext), RFC 5322 §3.2.3; RFC 6531 adds UTF-8.
    atoms = draw(st.lists(st.text(_ATEXT + _UTF8_LETTERS, min_size=1, max_size=10), min_size=1, max_size=3))
    # Domain labels: letter-digit-hyphen, no hyphen at either end (RFC 1035 §2.3.1).
    labels = draw(
        st.lists(
            st.lists(st.text(_LDH, min_size=1, max_size=6), min_size=1, max_size=3).map("-".join),
            min_size=1,
            max_size=3,
        )
    )
    tld = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8).filter(lambda t: t not in _RESERVED_TLDS))
    return ".".join(atoms) + "@" + ".".join([*labels, tld])


def _inserted(strategy: st.SearchStrategy[str], characters: str) -> st.SearchStrategy[str]:
    """Strings of ``strategy`` with one character of ``characters`` inserted anywhere."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        text = draw(strategy)
        index = draw(st.integers(0, len(text)))
        return text[:index] + draw(st.sampled_from(characters)) + text[index:]

    return build()


@FAST
@given(emails())
def test_is_email_accepts_generated_addresses(value: str) -> None:
    assert is_email(value)


@FAST
@given(_inserted(emails(), " \t\n\x00\x1f\x7f@,;<>[]\\\u200b"))
def test_is_email_rejects_one_character_corruptions(value: str) -> None:
    assert not is_email(value)


# ---------------------------------------------------------------------------
# ITU-T E.164 numbers in E.123 international notation
# ---------------------------------------------------------------------------

PHONE_VALID = [
    "+1 555 555 5555",  # api.md's example
    "+14155550123",  # E.164 without grouping
    "+1 415 555 0123",
    "+1 4 1 5 5 5 5 0 1 2 3",  # grouping is free
    "+44 20 7946 0958",
    "+33 1 23 45 67 89",
    "+49 30 123456",
    "+49 30 12345678",
    "+81 3 1234 5678",
    "+61 2 9876 5432",
    "+91 98765 43210",
    "+86 10 1234 5678",
    "+55 11 91234 5678",
    "+7 495 123 45 67",
    "+39 06 1234 5678",  # Italian leading zero belongs to the number
    "+34 912 345 678",
    "+31 20 123 4567",
    "+46 8 123 456 78",
    "+41 44 668 18 00",
    "+353 1 234 5678",
    "+27 21 123 4567",
    "+65 6123 4567",
    "+800 1234 5678",  # non-geographic (international freephone)
    "+358 9 1234567",
    "+54 9 11 1234 5678",
]

PHONE_INVALID = [
    "",
    "555 555 5555",  # national notation
    "(415) 555-0123",
    "+1",
    "+999 1234",  # unassigned country code
    "+0 123 456 789",
    "0044 20 7946 0958",  # dialling prefix instead of "+"
    "+1-415-555-0123",  # E.123: only spaces in the international notation
    "+1.415.555.0123",
    "+1 (415) 555 0123",
    "+44 (0)20 7946 0958",
    "+44 020 7946 0958",  # trunk prefix is not part of the E.164 number
    "+1 415 555 0123 ext. 5",
    "+1 800 FLOWERS",
    " +14155550123",
    "+14155550123 ",
    "+1  415 555 0123",
    "+ 1 415 555 0123",
    "++14155550123",
    "+14155550123\n",
    "+1\t415 555 0123",
    "+1 555 5555",  # only dialable locally
    "+1415555012345678",  # too long
    "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff12\uff13",  # fullwidth digits
    "tel:+14155550123",
]


@pytest.mark.parametrize("value", PHONE_VALID)
def test_is_phone_accepts_international_numbers(value: str) -> None:
    assert is_phone(value)


@pytest.mark.parametrize("value", PHONE_INVALID)
def test_is_phone_rejects_other_strings(value: str) -> None:
    assert not is_phone(value)


@functools.cache
def _example_numbers() -> list[str]:
    # Possible-ness depends on the country's number plan, which only
    # phonenumbers' metadata knows; its example numbers are the seeds.
    kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    found = [phonenumbers.example_number_for_type(region, kind) for region in sorted(phonenumbers.SUPPORTED_REGIONS) for kind in kinds]
    found += [phonenumbers.example_number_for_non_geo_entity(code) for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    return [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164) for n in found if n is not None]


@st.composite
def phones(draw: st.DrawFn) -> str:
    e164 = draw(st.sampled_from(_example_numbers()))
    # Any last three digits keep the length, and so the number possible.
    digits = e164[1:-3] + draw(st.text("0123456789", min_size=3, max_size=3))
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=len(digits) - 1)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    return "+" + " ".join(groups)


@st.composite
def corrupted_phones(draw: st.DrawFn) -> str:
    text = draw(phones())
    if draw(st.booleans()):
        return text[1:] if draw(st.booleans()) else "00" + text[1:]  # the "+" gone
    index = draw(st.integers(0, len(text)))
    return text[:index] + draw(st.sampled_from("-.()/#*xa\t\x00")) + text[index:]


@FAST
@given(phones())
def test_is_phone_accepts_generated_numbers(value: str) -> None:
    assert is_phone(value)


@FAST
@given(corrupted_phones())
def test_is_phone_rejects_one_character_corruptions(value: str) -> None:
    assert not is_phone(value)


# ---------------------------------------------------------------------------
# RFC 3986 §4.3 absolute-URI
# ---------------------------------------------------------------------------

URI_VALID = [
    "https://cdn.example.com/a.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "http://[::1]:8080/x",
    "urn:isbn:0451450523",
    "https://cdn.example.com/a.png?size=64&fmt=webp",
    "https://example.com",
    "https://example.com/",
    "mailto:qa@example.com",
    "file:///etc/hosts",  # empty host
    "ftp://user:pass@ftp.example.com:21/pub/",
    "http://192.0.2.1/avatar.png",
    "ldap://[2001:db8::7]/c=GB?objectClass?one",  # RFC 3986 §1.1.2
    "news:comp.infosystems.www.servers.unix",
    "tel:+1-816-555-1212",
    "telnet://192.0.2.16:80/",
    "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
    "https://example.com/%E2%82%AC.png",
    "http://[v7.fe80::1+zone]/",  # IPvFuture
    "http://[::ffff:192.0.2.128]/",  # IPv6 with an IPv4 tail
    "http://[2001:0db8:0000:0000:0000:ff00:0042:8329]/",
    "s3+https://bucket/key",
    "X-Custom.scheme-1:opaque",  # scheme characters, upper case
    "https://example.com:/",  # empty port
    "http://",  # the grammar allows an empty reg-name
    "a:",  # path-empty
    "https://example.com/a?",  # empty query
    "http://example.com/?q=a/b?c",  # "/" and "?" in the query
    "http://256.1.1.1/",  # not an IPv4address, but a valid reg-name
    "data:,",
]

URI_INVALID = [
    "",
    "AVATAR_URL",  # api.md's placeholder
    "/avatars/1.png",  # relative reference
    "//cdn/x.png",  # network-path reference
    "avatar.png",
    "https://cdn.example.com/a.png#frag",  # a fragment: a URI, not an absolute-URI
    "https://example.com/a b.png",
    " https://example.com/",
    "https://example.com/\n",
    "https://example.com/%",
    "https://example.com/%2",
    "https://example.com/%zz",
    "1http://example.com",  # scheme starts with ALPHA
    "-http://x",
    "+x:y",
    ":no-scheme",
    "ht tp://x",
    "https://exa mple.com",
    "https://example.com/\u00e4.png",  # an IRI, not a URI
    "https://example.com/<script>",
    "https://example.com/a\\b",
    "https://example.com/{id}",
    "https://example.com/a|b",
    "https://example.com/a^b",
    "https://example.com/`",
    "C:\\Users\\a.png",
    "http://[::1",
    "http://[1:2:3:4:5:6:7:8:9]/",
    "http://[::g]/",
    "https://example.com:80a/",
    "https://user@host@example.com/",
    "http://ex\x00ample.com/",
    'https://example.com/"',
]


@pytest.mark.parametrize("value", URI_VALID)
def test_is_absolute_uri_accepts_absolute_uris(value: str) -> None:
    assert is_absolute_uri(value)


@pytest.mark.parametrize("value", URI_INVALID)
def test_is_absolute_uri_rejects_other_strings(value: str) -> None:
    assert not is_absolute_uri(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://cdn.example.com/a.png", "https"),
        ("HTTPS://cdn.example.com/a.png", "https"),
        ("data:image/png;base64,iVBORw0KGgo=", "data"),
        ("Data:,", "data"),
        ("http://[::1]:8080/x", "http"),
        ("urn:isbn:0451450523", "urn"),
        ("AVATAR_URL", None),
        ("https://cdn.example.com/a.png#frag", None),
        ("", None),
        (None, None),
    ],
)
def test_uri_scheme_returns_the_lower_case_scheme(value: object, expected: str | None) -> None:
    assert uri_scheme(value) == expected


_ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGIT = "0123456789"
_UNRESERVED = _ALPHA + _DIGIT + "-._~"
_SUB_DELIMS = "!$&'()*+,;="

_pct_encoded = st.tuples(st.sampled_from(_DIGIT + "abcdefABCDEF"), st.sampled_from(_DIGIT + "abcdefABCDEF")).map(lambda h: "%" + "".join(h))


def _star(alphabet: str, *, min_size: int = 0, max_size: int = 8, pct: bool = True) -> st.SearchStrategy[str]:
    """*( one of alphabet / pct-encoded ), as ABNF repetition."""
    unit = st.one_of(st.sampled_from(alphabet), _pct_encoded) if pct else st.sampled_from(alphabet)
    return st.lists(unit, min_size=min_size, max_size=max_size).map("".join)


_pchar_alphabet = _UNRESERVED + _SUB_DELIMS + ":@"
_segment = _star(_pchar_alphabet)
_segment_nz = _star(_pchar_alphabet, min_size=1)
_dec_octet = st.integers(0, 255).map(str)
_ipv4 = st.lists(_dec_octet, min_size=4, max_size=4).map(".".join)
_ipv6 = st.integers(0, 2**128 - 1).flatmap(
    lambda n: st.sampled_from([ipaddress.IPv6Address(n).compressed, ipaddress.IPv6Address(n).exploded])
)
_ipvfuture = st.builds(
    lambda v, h, rest: f"{v}{h}.{rest}",
    st.sampled_from("vV"),
    st.text(_DIGIT + "abcdefABCDEF", min_size=1, max_size=3),
    _star(_UNRESERVED + _SUB_DELIMS + ":", min_size=1, pct=False),
)
_host = st.one_of(_ipv4, _star(_UNRESERVED + _SUB_DELIMS), _ipv6.map("[{}]".format), _ipvfuture.map("[{}]".format))
_authority = st.builds(
    lambda userinfo, host, port: (f"{userinfo}@" if userinfo is not None else "") + host + (f":{port}" if port is not None else ""),
    st.none() | _star(_UNRESERVED + _SUB_DELIMS + ":"),
    _host,
    st.none() | st.text(_DIGIT, max_size=5),
)
_path_tail = st.lists(_segment, max_size=3).map(lambda segments: "".join("/" + s for s in segments))
_hier_part = st.one_of(
    st.builds(lambda a, p: f"//{a}{p}", _authority, _path_tail),  # "//" authority path-abempty
    st.just("/") | st.builds(lambda s, p: f"/{s}{p}", _segment_nz, _path_tail),  # path-absolute
    st.builds(lambda s, p: s + p, _segment_nz, _path_tail),  # path-rootless
    st.just(""),  # path-empty
)
_scheme = st.builds(lambda first, rest: first + rest, st.sampled_from(_ALPHA), st.text(_ALPHA + _DIGIT + "+-.", max_size=6))
absolute_uris = st.builds(
    lambda scheme, hier, query: f"{scheme}:{hier}" + (f"?{query}" if query is not None else ""),
    _scheme,
    _hier_part,
    st.none() | _star(_pchar_alphabet + "/?"),
)

# Never in an absolute-URI, wherever inserted: outside the ABNF's characters, or "#".
_NOT_URI_CHARACTERS = ' "<>\\^`{|}#\x00\x1f\x7f\u00e4'


@st.composite
def corrupted_uris(draw: st.DrawFn) -> str:
    text = draw(absolute_uris)
    index = draw(st.integers(0, len(text)))
    if draw(st.booleans()):
        return text[:index] + draw(st.sampled_from(_NOT_URI_CHARACTERS)) + text[index:]
    return text[:index] + "%" + draw(st.sampled_from("gGzZ%/ ")) + text[index:]  # a non-hex after "%"


@FAST
@given(absolute_uris)
def test_is_absolute_uri_accepts_generated_uris(value: str) -> None:
    assert is_absolute_uri(value)


@FAST
@given(corrupted_uris())
def test_is_absolute_uri_rejects_one_character_corruptions(value: str) -> None:
    assert not is_absolute_uri(value)


# ---------------------------------------------------------------------------
# W3C DID Core 1.0 §3.1 DID syntax
# ---------------------------------------------------------------------------

# A long-form did:ion: the short-form suffix, then the base64url of its
# initial state (a JSON delta), all idchars.
ION_LONG_FORM = (
    "did:ion:EiClkZMDxPKqC9c-umQfTkR8vvZ9JPhl_xLDI9Nfk38w5w:"
    "eyJkZWx0YSI6eyJwYXRjaGVzIjpbeyJhY3Rpb24iOiJyZXBsYWNlIiwiZG9jdW1lbnQiOnsicHVibGljS2V5cyI6W3siaWQiOiJr"
    "ZXktMSIsInB1YmxpY0tleUp3ayI6eyJjcnYiOiJzZWNwMjU2azEiLCJrdHkiOiJFQyIsIngiOiJZZTFfOXloSHpYWmdkeDViR2VL"
    "X3NFdlJVaEx2RDZyVFIyWGMwUWtWWTJJIiwieSI6InVEa0FzOWxLLWoweTZtQ0RSekRwVUpYaVNhT3dQUnR1Wm1JRHVJUHJ6MncifSwi"
    "cHVycG9zZXMiOlsiYXV0aGVudGljYXRpb24iXSwidHlwZSI6IkVjZHNhU2VjcDI1NmsxVmVyaWZpY2F0aW9uS2V5MjAxOSJ9XX19XSwi"
    "dXBkYXRlQ29tbWl0bWVudCI6IkVpREtJa3dxTzY5SVBHM3BPbEhrZGI4Nm5ZdDBhTnhTSFp1MnItYmhFem5qZEEifSwic3VmZml4RGF0"
    "YSI6eyJkZWx0YUhhc2giOiJFaUNmRFdSbllsY0Q5RUdBM2RfNVoxQUh1LWlZcU1iSjluZmlxZHo1UzhWRGJnIiwicmVjb3ZlcnlDb21t"
    "aXRtZW50IjoiRWlCZk9aZE10VTZPQnc4UGs4NzlRdFotMkotOUZiYmpTWnlvYUFfYnFENHpoQSJ9fQ"
)

DID_VALID = [
    "did:example:123456789abcdefghi",  # DID Core §3.1 example
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:web:example.com",
    "did:web:example.com%3A8443:user:alice",  # pct-encoded port, colon-separated path
    ION_LONG_FORM,
    "did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a",
    "did:ethr:0xb9c5714089478a327f09197987f16f9e5d936e8a",
    "did:ethr:sepolia:0xb9c5714089478a327f09197987f16f9e5d936e8a",
    "did:sov:WRfXPg8dantKVubE3HX8pw",
    "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "did:ebsi:zyhE5cJ7VVqYT4gZmoKadFt",
    "did:cheqd:mainnet:zF7rhDBfUt9d1gJPjx7s1JXfUY7oVWkY",
    "did:peer:0z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
    "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAifQ",
    "did:example::a",  # *idchar may be empty before a ":"
    "did:example:a::b",
    "did:example:%41%42",
    "did:example:%e2%82%ac",  # HEXDIG is case-insensitive
    "did:example:A.B-C_D",
    "did:1:1",  # method-name may be digits only
    "did:a1b2:x",
    "did:example:" + "a" * 500,
]

DID_INVALID = [
    "",
    "did:method-name:zDIDMultibase58Encoded",  # api.md's placeholder: "-" in the method
    "did:method-name:zabc",
    "did:Example:1",  # method-char is lower case
    "did:exa_mple:1",
    "DID:example:1",  # the scheme is lower case (§3.1)
    "Did:example:1",
    "did::1",  # empty method
    "did:example:",  # empty method-specific-id
    "did:example:abc:",  # must end with an idchar
    "did:example::",
    "did:example",
    "did:",
    "did:example:a%2",  # truncated pct-encoded
    "did:example:a%2G",
    "did:example:a%",
    "did:example:a/b",  # DID URL: path
    "did:example:a/",
    "did:example:a?x",  # DID URL: query
    "did:example:a#k",  # DID URL: fragment
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:example:a;service=x",
    "did:example:a=b",
    "did:example:a@b",
    "did:example:a b",
    " did:example:1",
    "did:example:1 ",
    "did:example:1\n",
    "did:example:\u00e4",
    "urn:example:1",
]


@pytest.mark.parametrize("value", DID_VALID)
def test_is_did_accepts_dids(value: str) -> None:
    assert is_did(value)


@pytest.mark.parametrize("value", DID_INVALID)
def test_is_did_rejects_other_strings(value: str) -> None:
    assert not is_did(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("did:example:123456789abcdefghi", "123456789abcdefghi"),
        ("did:web:example.com%3A8443:user:alice", "example.com%3A8443:user:alice"),
        ("did:key:z6Mkabc", "z6Mkabc"),
        ("did:example::a", ":a"),
        ("did:method-name:zabc", None),
        ("did:example:a#k", None),
        (None, None),
    ],
)
def test_did_method_specific_id_returns_the_id_of_a_did(value: object, expected: str | None) -> None:
    assert did_method_specific_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", True),
        ("z1", True),
        ("z123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", True),
        ("zDIDMultibase58Encoded", False),  # I and l are not base58btc
        ("z", False),
        ("z0", False),
        ("zO", False),
        ("zI", False),
        ("zl", False),
        ("z6Mk+abc", False),
        ("Z6Mkabc", False),  # "Z" is base58flickr's prefix
        ("6Mkabc", False),
        ("z6Mkabc\n", False),
        ("", False),
    ],
)
def test_is_base58btc_multibase_requires_the_base58btc_alphabet(value: str, expected: bool) -> None:
    assert is_base58btc_multibase(value) is expected


_idchar = st.one_of(st.sampled_from(_ALPHA + _DIGIT + "._-"), _pct_encoded)


@st.composite
def dids(draw: st.DrawFn) -> str:
    method = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8))
    # method-specific-id = *( *idchar ":" ) 1*idchar
    heads = draw(st.lists(st.lists(_idchar, max_size=6).map("".join), max_size=3))
    last = "".join(draw(st.lists(_idchar, min_size=1, max_size=12)))
    return f"did:{method}:" + "".join(h + ":" for h in heads) + last


@st.composite
def corrupted_dids(draw: st.DrawFn) -> str:
    text = draw(dids())
    index = draw(st.integers(0, len(text)))
    choice = draw(st.integers(0, 2))
    if choice == 0:  # a character that no DID holds: DID URL delimiters, space, controls, ...
        return text[:index] + draw(st.sampled_from(" /?#;=@\x00\x1f\x7f\n\u00e4")) + text[index:]
    if choice == 1:  # a "%" without two HEXDIG
        return text[:index] + "%" + draw(st.sampled_from("gG:/%")) + text[index:]
    return text + ":"  # a method-specific-id ending in ":"


@FAST
@given(dids())
def test_is_did_accepts_generated_dids(value: str) -> None:
    assert is_did(value)


@FAST
@given(corrupted_dids())
def test_is_did_rejects_one_character_corruptions(value: str) -> None:
    assert not is_did(value)


# ---------------------------------------------------------------------------
# RFC 6750 §2.1 b64token
# ---------------------------------------------------------------------------

BEARER_VALID = [
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",  # a JWT
    "mF_9.B5f-4.1JqM",  # RFC 6750 §2.1 example
    "TOKEN",
    "a",
    "A=",
    "abc==",
    "a====",  # any number of trailing "="
    "a+b/c=",
    "dGVzdA==",  # base64
    "dGVzdA",  # base64url
    "~",
    "-",
    ".",
    "_",
    "+",
    "/",
    "a.b.c",
    "a~b~c",
    "0123456789",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "x" * 4096,
]

BEARER_INVALID = [
    "",
    "=",  # 1* before the padding
    "==",
    "a=b",  # "=" only at the end
    "a=.",
    "a b",
    " abc",
    "abc ",
    "abc\n",
    "Bearer abc",
    "a,b",
    "a;b",
    "a:b",
    'a"b',
    "a@b",
    "a%20b",
    "a\tb",
    "a\x00",
    "\u00e9",
    "a\\b",
    "a(b)",
    "a{}",
    "a?b",
    "a#b",
    "a!b",
    "a*b",
]


@pytest.mark.parametrize("value", BEARER_VALID)
def test_is_bearer_token_accepts_b64tokens(value: str) -> None:
    assert is_bearer_token(value)


@pytest.mark.parametrize("value", BEARER_INVALID)
def test_is_bearer_token_rejects_other_strings(value: str) -> None:
    assert not is_bearer_token(value)


_B64TOKEN_CHARACTERS = _ALPHA + _DIGIT + "-._~+/"
b64tokens = st.builds(
    lambda body, padding: body + "=" * padding,
    st.text(_B64TOKEN_CHARACTERS, min_size=1, max_size=64),
    st.integers(0, 3),
)


@st.composite
def corrupted_b64tokens(draw: st.DrawFn) -> str:
    text = draw(b64tokens)
    if draw(st.booleans()):
        index = draw(st.integers(0, len(text)))
        return text[:index] + draw(st.sampled_from(' \t\n\x00\x7f",;:@()<>[]\\{}?!#$%&*\u00e9')) + text[index:]
    # An "=" before the last token character.
    last = len(text.rstrip("=")) - 1
    index = draw(st.integers(0, last))
    return text[:index] + "=" + text[index:]


@FAST
@given(b64tokens)
def test_is_bearer_token_accepts_generated_tokens(value: str) -> None:
    assert is_bearer_token(value)


@FAST
@given(corrupted_b64tokens())
def test_is_bearer_token_rejects_one_character_corruptions(value: str) -> None:
    assert not is_bearer_token(value)


# ---------------------------------------------------------------------------
# RFC 6749 Appendix A.17 1*VSCHAR
# ---------------------------------------------------------------------------

_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))

VSCHAR_VALID = [
    "REFRESH_TOKEN",
    " ",  # %x20 is a VSCHAR
    "a b",
    "  leading",
    "trailing  ",
    "~",
    "!",
    '"',
    "\\",
    "{}",
    "=",
    "1",
    "%00",
    "\\n",  # a backslash and an n
    "<script>",
    "eyJhbGciOiJIUzI1NiJ9.e30.sig",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    _PRINTABLE_ASCII,
    "x" * 10000,
    "a:b;c,d",
]

VSCHAR_INVALID = [
    "",
    "\x00",
    "\t",
    "\n",
    "token\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1f",
    "\x7f",
    "tok\x7fen",
    "a\x00b",
    "\x80",
    "\u00e9",
    "\u20ac",
    "\u00a0",  # no-break space
    "\u2028",
    "\u200b",
    "\ufeffabc",
    "\uff41",  # fullwidth a
    "\U0001f600",
]


@pytest.mark.parametrize("value", VSCHAR_VALID)
def test_is_vschar_token_accepts_visible_ascii(value: str) -> None:
    assert is_vschar_token(value)


@pytest.mark.parametrize("value", VSCHAR_INVALID)
def test_is_vschar_token_rejects_other_strings(value: str) -> None:
    assert not is_vschar_token(value)


vschar_tokens = st.text(_PRINTABLE_ASCII, min_size=1, max_size=64)
_NOT_VSCHAR = "".join(chr(c) for c in range(0x20)) + "\x7f\x80\x9f\u00a0\u00e9\u2028\ufeff\U0001f600"


@FAST
@given(vschar_tokens)
def test_is_vschar_token_accepts_generated_tokens(value: str) -> None:
    assert is_vschar_token(value)


@FAST
@given(_inserted(vschar_tokens, _NOT_VSCHAR))
def test_is_vschar_token_rejects_one_character_corruptions(value: str) -> None:
    assert not is_vschar_token(value)


# ---------------------------------------------------------------------------
# FT-12 control characters, and the shared contract of every validator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("John", False),
        ("", False),
        ("caf\u00e9 \u00fc \u7528", False),
        ("\x80\x9f", False),  # C1 controls are outside FT-12
        ("a b~", False),
        ("\x00", True),
        ("a\tb", True),
        ("line\n", True),
        ("\r", True),
        ("\x1b[31m", True),
        ("\x1f", True),
        ("del\x7f", True),
    ],
)
def test_has_control_characters_finds_c0_and_del(value: str, expected: bool) -> None:
    assert has_control_characters(value) is expected


BOOL_VALIDATORS: list[Callable[[object], bool]] = [
    is_uuid,
    is_lowercase_uuid,
    is_email,
    is_phone,
    is_absolute_uri,
    is_did,
    is_base58btc_multibase,
    is_bearer_token,
    is_vschar_token,
    has_control_characters,
]


@pytest.mark.parametrize("validator", BOOL_VALIDATORS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", [None, 0, 1.5, b"qa@example.com", ["did:example:1"], {"a": 1}])
def test_validators_return_false_for_non_strings(validator: Callable[[object], bool], value: object) -> None:
    assert validator(value) is False


def test_public_surface_is_declared_and_documented() -> None:
    for name in formats.__all__:
        function = getattr(formats, name)
        assert function.__doc__, f"{name} has no docstring"
    assert set(formats.__all__) >= {f.__name__ for f in BOOL_VALIDATORS} | {"uri_scheme", "did_method_specific_id"}
