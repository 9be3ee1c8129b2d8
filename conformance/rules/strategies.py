"""Hypothesis strategies for malformed refresh tokens (FZ-01), tagged with their family.

Every string is surrogate-free: a gRPC `string` field must be valid UTF-8, and a surrogate would
make the suite's own client fail instead of testing the target.
"""

from __future__ import annotations

import base64
import json
import string
import urllib.parse
from collections.abc import Callable

from hypothesis import strategies as st

from conformance.rules.lookalike import character_class, lookalike

__all__ = ["FAMILIES", "Tagged", "family_examples", "malformed_tokens", "near_misses",
           "padded_variants", "tagged_tokens"]

Tagged = tuple[str, str]   # (family, token)

# The families, in the order the fuzz check's docstring lists them. `lookalike` needs a live token.
FAMILIES: dict[str, str] = {
    "blank": "empty or white space only",
    "control": "control characters, NUL among them",
    "non-ascii": "non-ASCII and invalid-looking Unicode (BOM, noncharacters, bidi overrides)",
    "long": "very long (up to the profile's fuzz_max_length)",
    "injection": "SQL, NoSQL and LDAP injection shapes",
    "path-format": "path traversal, format-string and template shapes",
    "jwt-garbage": "JWT-shaped garbage (dot-separated base64url segments)",
    "jwt-alg-none": "unsigned JWTs (`alg: none`)",
    "base64": "base64 and base64url noise",
    "lookalike": "shaped like the server's own tokens (same length and character classes)",
}

VSCHAR = "".join(chr(c) for c in range(0x20, 0x7F))       # RFC 6749 App. A: %x20-7E
WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u1680\u2000\u2009\u2028\u2029\u202f\u3000"
# NUL first: shrinking goes to it, and it is the character most likely to upset a server.
CONTROL = "\x00" + "".join(chr(c) for c in [*range(0x01, 0x20), 0x7F, *range(0x80, 0xA0)])
UNICODE_ODDITIES = (
    "\ufeff", "\ufffe", "\uffff", "\ufffd", "\u202e", "\u200b", "\u200d", "\u0301", "\ue000",
    "\U0010ffff", "\U0001f600", "\u0130", "\u00df", "\ufb00", "\u01c5", "\u0131", "\u212a",
)

INJECTIONS = (
    # SQL
    "' OR '1'='1", "' OR 1=1--", '" OR ""="', "'; DROP TABLE refresh_tokens;--",
    "1' UNION SELECT token_hash FROM refresh_tokens--", "admin'--", "') OR ('a'='a",
    "'||pg_sleep(5)--", "' AND SLEEP(5)#",
    # NoSQL
    '{"$ne": null}', '{"$gt": ""}', "[$ne]=1", "';return true;var x='", '{"$where": "1"}',
    # LDAP
    "*", "*)(uid=*))(|(uid=*", "admin)(&)", "*)(|(objectClass=*)",
)
PATHS_AND_FORMATS = (
    "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "/dev/zero", "/proc/self/environ",
    "file:///etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "....//....//etc/passwd",
    "%s%s%s%s%n", "%x%x%x%x", "%99999999s", "{0}{1}", "{token.__class__.__init__.__globals__}",
    "${jndi:ldap://127.0.0.1:1/a}", "{{7*7}}", "#{7*7}", "%(refresh_token)s", "$(id)", "`id`",
)
ALG_NONE_HEADERS = ({"alg": "none"}, {"alg": "none", "typ": "JWT"}, {"alg": "None"},
                    {"alg": "NONE"}, {"alg": "nOnE", "typ": "JWT"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(value: object) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def _text(alphabet: str | st.SearchStrategy[str], *, min_size: int = 0, max_size: int = 24,
          ) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


# Each family draws few hypothesis choices per token: each choice costs about 0.05 ms, and a
# token of many (optional dictionary keys, a character at a time) cost as much to draw as a call
# to a fast server takes, which bounds FZ-01's throughput. So a family picks whole pieces
# (sampled_from over precomputed shapes) and splices with one side text instead of two.
SIDE = string.ascii_letters + string.digits + "-_"


def _around(middle: str, side: str) -> str:
    """`middle` inside `side`, split at its half: token-like text on both sides, or none."""
    half = len(side) // 2
    return side[:half] + middle + side[half:]


def _spliced(middle: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`middle` with optional token-like text around it (shrinks to `middle` alone)."""
    return st.tuples(middle, _text(SIDE, max_size=32)).map(lambda pair: _around(*pair))


def _blank() -> st.SearchStrategy[str]:
    return _text(WHITESPACE, max_size=16)  # the empty string is its simplest example


def _control() -> st.SearchStrategy[str]:
    return _spliced(_text(CONTROL, min_size=1, max_size=4))


def _non_ascii() -> st.SearchStrategy[str]:
    """One of the odd code points, then any non-ASCII run: a text over a mixed alphabet would
    cost a choice per character."""
    any_non_ascii = st.characters(min_codepoint=0x80, codec="utf-8")  # no surrogate
    return _spliced(st.tuples(st.sampled_from(UNICODE_ODDITIES), _text(any_non_ascii, max_size=7))
                    .map("".join))


def _long(unit_alphabet: str, max_length: int) -> st.SearchStrategy[str]:
    """Built by repetition: hypothesis itself would refuse to generate megabyte strings."""
    min_length = min(1025, max_length)

    def build(unit: str, length: int) -> str:
        return (unit * (length // len(unit) + 1))[:length]
    return st.builds(build, _text(unit_alphabet, min_size=1, max_size=8),
                     st.integers(min_value=min_length, max_value=max_length))


def _from_list(items: tuple[str, ...]) -> st.SearchStrategy[str]:
    return _spliced(st.sampled_from(items))


JWT_HEADERS = tuple(_json_segment({"alg": alg, **extra})
                    for alg in ("HS256", "RS256", "ES256", "", "x")
                    for extra in ({}, {"typ": "JWT"}, {"kid": "../../dev/null"},
                                  {"typ": "JWT", "kid": "1"}))
CLAIM_KEYS = ((), ("sub",), ("exp",), ("sub", "exp"))


def _claims(keys: tuple[str, ...], sub: str, exp: int) -> str:
    values = {"sub": sub, "exp": exp}
    return _json_segment({key: values[key] for key in keys})


def _jwt_garbage() -> st.SearchStrategy[str]:
    signed_looking = st.tuples(
        st.sampled_from(JWT_HEADERS), st.sampled_from(CLAIM_KEYS), _text(VSCHAR, max_size=12),
        st.integers(0, 2**32), st.binary(max_size=64),
    ).map(lambda p: f"{p[0]}.{_claims(p[1], p[2], p[3])}.{_b64url(p[4])}")

    def segments(text: str, count: int) -> str:
        return ".".join(text[i * len(text) // count:(i + 1) * len(text) // count]
                        for i in range(count))
    random_segments = st.tuples(_text(SIDE, max_size=120), st.integers(2, 5)) \
        .map(lambda pair: segments(*pair))
    return signed_looking | random_segments


# The first segment of an unsigned JWT, dot included.
ALG_NONE_PREFIXES = tuple(_json_segment(header) + "." for header in ALG_NONE_HEADERS)
ALG_NONE_EXTRAS = ((), ("iat",), ("jti",), ("iat", "jti"))


def _jwt_alg_none() -> st.SearchStrategy[str]:
    def build(prefix: str, sub: str, exp: int, extras: tuple[str, ...], dot: str) -> str:
        optional = {"iat": exp - 3600, "jti": sub[::-1]}
        claims = {"sub": sub, "exp": exp, **{key: optional[key] for key in extras}}
        return f"{prefix}{_json_segment(claims)}{dot}"
    return st.builds(build, st.sampled_from(ALG_NONE_PREFIXES),
                     _text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=36),
                     st.integers(3600, 2**32), st.sampled_from(ALG_NONE_EXTRAS),
                     st.sampled_from((".", "")))


def _base64_noise() -> st.SearchStrategy[str]:
    encoders: tuple[Callable[[bytes], bytes], ...] = (
        base64.b64encode, base64.urlsafe_b64encode,
        lambda data: base64.urlsafe_b64encode(data).rstrip(b"="))
    return st.tuples(st.binary(min_size=1, max_size=96), st.sampled_from(encoders)) \
        .map(lambda pair: pair[1](pair[0]).decode("ascii"))


def _classes_of(token: str) -> list[str]:
    return [character_class(char) or char for char in token]


def _lookalike(live: str) -> st.SearchStrategy[str]:
    """Same length; each letter or digit replaced by one of its class, other characters kept
    (as conformance.rules.lookalike does), or any character of the live token's own alphabet.

    Drawn as one byte string mapped onto the alphabets: one choice per example instead of one
    per character, the most expensive family otherwise (FZ-01's throughput)."""
    classes = _classes_of(live)
    alphabet = "".join(sorted(set(live)))
    raw = st.binary(min_size=len(live), max_size=len(live))

    def per_position(data: bytes) -> str:
        return "".join(cls[byte % len(cls)] for cls, byte in zip(classes, data, strict=True))

    def same_alphabet(data: bytes) -> str:
        return "".join(alphabet[byte % len(alphabet)] for byte in data)

    return (raw.map(per_position) | raw.map(same_alphabet)).filter(lambda token: token != live)


def tagged_tokens(live: str | None, max_length: int) -> st.SearchStrategy[Tagged]:
    """(family, token) pairs, one family drawn uniformly per example (st.one_of), so that even a
    short run reaches every family. `live` (a token the target issued, never itself generated)
    gives the lookalike family its shape; without it that family is left out."""
    unit_alphabet = "".join(sorted(set(live))) if live else VSCHAR
    families: dict[str, st.SearchStrategy[str]] = {
        "blank": _blank(),
        "control": _control(),
        "non-ascii": _non_ascii(),
        "long": _long(unit_alphabet, max_length),
        "injection": _from_list(INJECTIONS),
        "path-format": _from_list(PATHS_AND_FORMATS),
        "jwt-garbage": _jwt_garbage(),
        "jwt-alg-none": _jwt_alg_none(),
        "base64": _base64_noise(),
    }
    if live:
        families["lookalike"] = _lookalike(live)
    return st.one_of(*(strategy.map(_tag(name)) for name, strategy in families.items()))


def _tag(family: str) -> Callable[[str], Tagged]:
    return lambda token: (family, token)


def malformed_tokens(live: str | None, max_length: int) -> st.SearchStrategy[str]:
    return tagged_tokens(live, max_length).map(lambda pair: pair[1])


def family_examples(live: str | None, max_length: int) -> list[Tagged]:
    """One plain example per family (two where the family has two distinct dangers), run before
    anything generated so that the smallest budget still presents every family."""
    examples: list[Tagged] = [
        ("blank", ""), ("blank", " \t"),
        ("control", "\x00"), ("control", "abc\r\ndef"),
        ("non-ascii", "\u00e9"), ("non-ascii", "\ufeff\u202etoken\U0001f600"),
        ("long", "A" * min(max_length, 8192)),
        ("injection", "' OR '1'='1"), ("injection", '{"$ne": null}'),
        ("path-format", "../../../../etc/passwd"), ("path-format", "%s%s%s%s%n"),
        ("jwt-garbage", f"{_json_segment({'alg': 'HS256'})}.{_json_segment({})}.c2ln"),
        ("jwt-alg-none", f"{_json_segment(ALG_NONE_HEADERS[1])}.{_json_segment({'sub': 'x'})}."),
        ("base64", base64.b64encode(bytes(range(0xF0, 0x100))).decode()),
    ]
    if live:
        examples.append(("lookalike", lookalike(live)))
    return examples


# Near-misses of a live token (FZ-02, FZ-03): deterministic, each described for the report. ----
def _other_in_class(char: str) -> str:
    """Another character of the same class, half the class away (a->n, Z->M, 9->4): the token
    keeps its shape, so only an exact comparison tells it apart."""
    cls = character_class(char)
    return cls[(cls.index(char) + len(cls) // 2) % len(cls)]


def _alnum_index_near(token: str, index: int) -> int | None:
    """The letter or digit closest to `index` (JWT dots and separators are not changed)."""
    candidates = [i for i, char in enumerate(token) if char.isascii() and char.isalnum()]
    return min(candidates, key=lambda i: (abs(i - index), i)) if candidates else None


def _jwt_parts(token: str) -> tuple[dict[str, object], str, str] | None:
    """(header, payload segment, signature) of a JWS compact token, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        return None
    return (header, parts[1], parts[2]) if isinstance(header, dict) and "alg" in header else None


def near_misses(token: str) -> list[tuple[str, str]]:
    """(description, variant) pairs of `token`: truncated, extended, one character changed at the
    start, middle and end, case swapped, followed by a NUL, one character fullwidth; for a JWT
    also signature stripped and `alg: none`; for any other token its last character changed
    and, in a base64 alphabet, the encodings a decoder reads as the same bytes."""
    out: list[tuple[str, str]] = []
    if len(token) > 1:
        out += [("truncated by its last character", token[:-1]),
                ("truncated by its first character", token[1:])]
    if len(token) > 3:
        out.append(("truncated to its first half", token[:len(token) // 2]))
    filler = next((c for c in token if c.isascii() and c.isalnum()), "A")
    out += [("extended by one character at the end", token + filler),
            ("extended by one character at the start", filler + token)]
    # Near the end is the last character but one: the last may carry base64 padding bits, which
    # a lenient decoder ignores (RFC 4648 §3.5), so changing them may leave the decoded bytes,
    # a JWT's signature among them, the same: a new encoding of the same token.
    for where, index in (("start", 0), ("middle", len(token) // 2), ("end", len(token) - 2)):
        found = _alnum_index_near(token[:-1] if where == "end" else token, index)
        if found is not None:
            changed = token[:found] + _other_in_class(token[found]) + token[found + 1:]
            out.append((f"with one character changed near the {where} (position {found})",
                        changed))
    out.append(("with its case swapped", token.swapcase()))
    # What a server reading the token through a C string, a Unicode normaliser or a base64
    # decoder would take for the token itself (the table in FZ-02's docstring).
    out.append(("followed by a NUL and more characters (CWE-158)", token + NUL_TAIL))
    found = _alnum_index_near(token, 0)
    if found is not None:
        out.append((f"with one character in its fullwidth form (position {found}), which "
                    "Unicode NFKC maps back", token[:found] + _fullwidth(token[found])
                    + token[found + 1:]))
    jwt = _jwt_parts(token)
    if jwt is None:  # a JWT's libraries read these as its own signature: not for a JWT
        out += _base64_near_misses(token) + _last_character_near_miss(token)
    else:
        header, payload, _ = jwt
        head = token.split(".")[0]
        out += [("with its JWT signature stripped", f"{head}.{payload}."),
                ("with its JWT signature and last dot stripped", f"{head}.{payload}"),
                ("re-encoded as an unsigned JWT (alg: none)",
                 f"{_json_segment({**header, 'alg': 'none'})}.{payload}.")]
    return _distinct(token, out)


NUL_TAIL = "\x00AAAA"
BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
BASE64 = BASE64URL[:62] + "+/"
_OTHER_ALPHABET = str.maketrans("-_+/", "+/-_")


def _fullwidth(char: str) -> str:
    """The fullwidth form of a printable ASCII character (U+FF01 to U+FF5E): NFKC's inverse."""
    return chr(ord(char) + 0xFEE0)


def _base64_near_misses(token: str) -> list[tuple[str, str]]:
    """A token in a base64 alphabet as other strings a decoder reads as the same bytes: with its
    padding, in the other alphabet (`-_` and `+/` swapped), with characters a non-validating
    decoder skips (RFC 4648 §3.3, §3.5, §5). Not for a JWT, whose standard libraries decode
    the signature that leniently: their servers accept the variant, and it is the same
    signature."""
    if not _is_base64(token):
        return []
    out: list[tuple[str, str]] = []
    padding = -len(token) % 4
    if padding in (1, 2):  # 4k+3 or 4k+2 characters: a decoder adds = or ==
        out.append((f"padded with {'=' * padding} to a multiple of four (base64)",
                    token + "=" * padding))
    out.append(("in the other base64 alphabet (- _ and + / swapped)",
                token.translate(_OTHER_ALPHABET)))
    # Four, so that a decoder skipping them still pads what remains as it pads the token.
    middle = len(token) // 2
    out.append(("with four characters outside the base64 alphabet inserted (....)",
                token[:middle] + "...." + token[middle:]))
    return out


def _last_character_near_miss(token: str) -> list[tuple[str, str]]:
    """The last character changed: only its spare bits where it has any (4k+3 or 4k+2 base64
    characters: 2 or 4), which a lenient decoder ignores (a non-canonical encoding); half its
    class away otherwise (a server that compares all but the last character)."""
    if _is_base64(token) and -len(token) % 4 in (1, 2):
        alphabet = BASE64 if any(char in "+/" for char in token) else BASE64URL
        index = alphabet.index(token[-1]) ^ 1  # the lowest bit: always a spare one
        return [("with its last character's spare base64 bits set (a non-canonical encoding)",
                 token[:-1] + alphabet[index])]
    if token[-1:].isascii() and token[-1:].isalnum():
        return [("with its last character changed", token[:-1] + _other_in_class(token[-1]))]
    return []


def _is_base64(token: str) -> bool:
    return bool(token) and all(char in BASE64URL + "+/" for char in token)


def padded_variants(token: str) -> list[tuple[str, str]]:
    """`token` with white space around it, or percent-encoded (FZ-03)."""
    out = [("with a leading space", " " + token), ("with a trailing space", token + " "),
           ("with a leading tab", "\t" + token), ("with a trailing newline", token + "\n"),
           ("with a trailing CR LF", token + "\r\n"),
           ("percent-encoded (every byte)", "".join(f"%{b:02X}" for b in token.encode())),
           ("percent-encoded (reserved characters)", urllib.parse.quote(token, safe=""))]
    return _distinct(token, out)


def _distinct(token: str, variants: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Variants that differ from `token` and from each other (a digit-only token has no case)."""
    seen = {token}
    kept = []
    for description, variant in variants:
        if variant not in seen:
            seen.add(variant)
            kept.append((description, variant))
    return kept
