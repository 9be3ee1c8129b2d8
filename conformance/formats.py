"""Format validators for the field checks (FT-*): one bool function per grammar, each citing it."""

import re

__all__ = [
    "did_method_specific_id",
    "has_control_characters",
    "is_absolute_uri",
    "is_base58btc_multibase",
    "is_bearer_token",
    "is_did",
    "is_email",
    "is_lowercase_uuid",
    "is_phone",
    "is_uuid",
    "is_vschar_token",
    "uri_scheme",
]

# Every character class below is spelled out in ASCII: \d and \w would also
# match non-ASCII digits and letters, which none of these grammars allow.
# Every pattern is applied with fullmatch: "$" would also match before a
# trailing newline.

_HEXDIG = "[0-9A-Fa-f]"

# RFC 9562 §4: UUID = 4hexOctet "-" 2hexOctet "-" 2hexOctet "-" 2hexOctet "-" 6hexOctet.
_UUID = re.compile(f"{_HEXDIG}{{8}}-{_HEXDIG}{{4}}-{_HEXDIG}{{4}}-{_HEXDIG}{{4}}-{_HEXDIG}{{12}}")
_LOWERCASE_UUID = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# E.164 digits written as E.123 international notation: "+" directly followed
# by the country code, groups separated by single spaces.
_PHONE_SHAPE = re.compile("[+][0-9]+(?: [0-9]+)*")

# RFC 3986 Appendix A, the productions that absolute-URI (§4.3) reaches.
_PCT_ENCODED = f"%{_HEXDIG}{_HEXDIG}"
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCHAR = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT_ENCODED})"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_USERINFO = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT_ENCODED})*"
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4ADDRESS = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = f"{_HEXDIG}{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4ADDRESS})"
_IPV6ADDRESS = "(?:" + "|".join(
    [
        f"(?:{_H16}:){{6}}{_LS32}",
        f"::(?:{_H16}:){{5}}{_LS32}",
        f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
) + ")"
# ABNF quoted strings are case-insensitive (RFC 5234 §2.3), so "v" is [vV].
_IPVFUTURE = rf"[vV]{_HEXDIG}+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_IP_LITERAL = rf"\[(?:{_IPV6ADDRESS}|{_IPVFUTURE})\]"
_REG_NAME = f"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT_ENCODED})*"
_HOST = f"(?:{_IP_LITERAL}|{_IPV4ADDRESS}|{_REG_NAME})"
_AUTHORITY = f"(?:{_USERINFO}@)?{_HOST}(?::[0-9]*)?"
_SEGMENT = f"{_PCHAR}*"
_SEGMENT_NZ = f"{_PCHAR}+"
_PATH_ABEMPTY = f"(?:/{_SEGMENT})*"
_PATH_ABSOLUTE = f"/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
_PATH_ROOTLESS = f"{_SEGMENT_NZ}(?:/{_SEGMENT})*"
_HIER_PART = f"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS}|)"
_QUERY = f"(?:{_PCHAR}|[/?])*"
_ABSOLUTE_URI = re.compile(f"({_SCHEME}):{_HIER_PART}(?:[?]{_QUERY})?")

# W3C DID Core 1.0 §3.1, written by hand: no maintained Python library
# implements exactly this ABNF (the ones found accept DID URLs, or upper case
# method names, or no pct-encoding).
# method-specific-id = *( *idchar ":" ) 1*idchar is the same language as
# *( idchar / ":" ) idchar: colons anywhere, the last character an idchar.
_IDCHAR = f"(?:[A-Za-z0-9._-]|{_PCT_ENCODED})"
_DID = re.compile(f"did:([a-z0-9]+):((?:{_IDCHAR}|:)*{_IDCHAR})")

# The base58btc alphabet leaves out 0, O, I and l; "z" is its multibase prefix.
_BASE58BTC_MULTIBASE = re.compile("z[1-9A-HJ-NP-Za-km-z]+")

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

# RFC 6749 Appendix A: VSCHAR = %x20-7E; refresh-token = 1*VSCHAR (A.17).
_VSCHAR_TOKEN = re.compile("[\x20-\x7e]+")

_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def is_uuid(value: object) -> bool:
    """Tell whether ``value`` is a UUID in the text form of RFC 9562 §4.

    Grammar: 8-4-4-4-12 hexadecimal digits separated by hyphens, any case
    ("case insensitive on input"). Braces, a ``urn:uuid:`` prefix or missing
    hyphens are not this form. Version and variant bits are not checked: the
    nil and max UUIDs (§5.9, §5.10) are UUIDs too.
    """
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def is_lowercase_uuid(value: object) -> bool:
    """Tell whether ``value`` is a UUID text form in lower case (RFC 9562 §4).

    RFC 9562 §4: hexadecimal values "a" through "f" are output as lower case.
    """
    return isinstance(value, str) and _LOWERCASE_UUID.fullmatch(value) is not None


def is_email(value: object) -> bool:
    """Tell whether ``value`` is a syntactically valid e-mail address (FT-03).

    Grammar: RFC 5322 §3.4.1 ``addr-spec = local-part "@" domain``,
    internationalized per RFC 6531, as parsed by ``email-validator`` with
    every deliverability policy off: quoted local parts (``"a b"@x.org``),
    domain literals (``a@[192.0.2.1]``), domains without a dot
    (``user@localhost``) and special-use domains (``qa@corp.local``) are
    valid syntax. Not an addr-spec: a display name (``John <a@b.c>``), no
    "@", two "@" outside quotes, unquoted spaces or controls, empty labels.
    """
    if not isinstance(value, str):
        return False
    # Imported on first use (as phonenumbers below): a run that judges no field never needs it.
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(
            _without_special_use_tld(value),
            check_deliverability=False,
            test_environment=True,
            globally_deliverable=False,
            allow_smtputf8=True,
            allow_empty_local=False,
            allow_display_name=False,
            allow_quoted_local=True,
            allow_domain_literal=True,
        )
    except EmailNotValidError:
        return False
    return True


def _without_special_use_tld(address: str) -> str:
    # email-validator rejects special-use names (RFC 6761: .local, .localhost,
    # .invalid, ...) whatever its options: a policy about deliverability, not
    # syntax. Such a final label is an ordinary LDH label, so the address is
    # judged with it replaced by "test", which test_environment allows.
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    local, at, domain = address.rpartition("@")
    head, dot, last = domain.rpartition(".")
    if at and last.lower() in SPECIAL_USE_DOMAIN_NAMES:
        return f"{local}@{head}{dot}test"
    return address


def is_phone(value: object) -> bool:
    """Tell whether ``value`` is an international phone number (ITU-T E.164, E.123).

    Grammar: "+" directly followed by the country code and the national
    significant number, digits only, optionally grouped by single spaces
    (E.123 §2.5: only spaces separate groups in the international notation,
    so hyphens, dots and parentheses are rejected). The number must have a
    possible full length for its country code (``phonenumbers``; numbers
    that are only dialable locally are not a full E.164 number), and the
    digits must be the E.164 number itself: no trunk prefix such as the 0 in
    ``+44 020 ...``.
    """
    if not isinstance(value, str) or _PHONE_SHAPE.fullmatch(value) is None:
        return False
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164 == value.replace(" ", "")


def is_absolute_uri(value: object) -> bool:
    """Tell whether ``value`` is an absolute URI (RFC 3986 §4.3).

    Grammar: ``absolute-URI = scheme ":" hier-part [ "?" query ]`` with the
    productions of RFC 3986 Appendix A. A fragment (``#...``) is rejected:
    §4.3 defines the absolute form as the one without a fragment, and FT-07
    cites §4.3. Only the generic syntax is checked (``http://`` with an empty
    host passes, as the grammar allows); characters outside the grammar
    (space, controls, non-ASCII, ``"<>\\^`{|}``) and a "%" not followed by two
    hexadecimal digits are rejected.
    """
    return isinstance(value, str) and _ABSOLUTE_URI.fullmatch(value) is not None


def uri_scheme(value: object) -> str | None:
    """Return the lower-cased scheme of an absolute URI (RFC 3986 §3.1), else None.

    Schemes are case-insensitive (§3.1), hence the lower case.
    """
    if not isinstance(value, str):
        return None
    match = _ABSOLUTE_URI.fullmatch(value)
    return match.group(1).lower() if match else None


def is_did(value: object) -> bool:
    """Tell whether ``value`` is a DID (W3C DID Core 1.0 §3.1).

    Grammar::

        did                = "did:" method-name ":" method-specific-id
        method-name        = 1*method-char
        method-char        = %x61-7A / DIGIT
        method-specific-id = *( *idchar ":" ) 1*idchar
        idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
        pct-encoded        = "%" HEXDIG HEXDIG

    "did:" is lower case only (§3.1: the scheme name MUST be an ASCII lower
    case string). A DID URL (path "/", query "?", fragment "#") is not a DID.
    """
    return isinstance(value, str) and _DID.fullmatch(value) is not None


def did_method_specific_id(did: object) -> str | None:
    """Return the method-specific-id of a DID (W3C DID Core 1.0 §3.1), else None."""
    if not isinstance(did, str):
        return None
    match = _DID.fullmatch(did)
    return match.group(2) if match else None


def is_base58btc_multibase(value: object) -> bool:
    """Tell whether ``value`` is multibase base58btc: "z" and 1+ base58btc characters.

    Grammar: the multibase prefix "z" followed by the Bitcoin base58 alphabet
    ``123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz``
    (draft-multiformats-multibase; no 0, O, I or l).
    """
    return isinstance(value, str) and _BASE58BTC_MULTIBASE.fullmatch(value) is not None


def is_bearer_token(value: object) -> bool:
    """Tell whether ``value`` matches the Bearer credential syntax (RFC 6750 §2.1).

    Grammar: ``b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
    "/" ) *"="``. JWTs (base64url segments joined by ".") match.
    """
    return isinstance(value, str) and _B64TOKEN.fullmatch(value) is not None


def is_vschar_token(value: object) -> bool:
    """Tell whether ``value`` matches ``1*VSCHAR`` (RFC 6749 Appendix A.17).

    Grammar: ``refresh-token = 1*VSCHAR``, ``VSCHAR = %x20-7E``. The space
    (%x20) is a VSCHAR; the empty string, controls, DEL and non-ASCII are not.
    """
    return isinstance(value, str) and _VSCHAR_TOKEN.fullmatch(value) is not None


def has_control_characters(value: object) -> bool:
    """Tell whether ``value`` holds a control character U+0000-U+001F or U+007F (FT-12).

    These are the C0 controls and DEL of US-ASCII (RFC 20); C1 controls are
    not part of FT-12. A non-str value holds none.
    """
    return isinstance(value, str) and _CONTROL_CHARACTER.search(value) is not None
