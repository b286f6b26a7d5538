"""verifyToken: a compact JWS (RFC 7515), alg EdDSA, made and checked with joserfc.

The header carries the signer's public key as a JWK and ``kid`` = its RFC 7638
thumbprint. The claims are a lock file for the score: ``hash`` binds the entry as
written in the YAML (without ``verifyToken`` and ``source``), and the rest says which
model, data, method, run and evidence produced it. ``entry`` repeats the signed entry so
a verifier can name the field that was changed.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OKPKey

from run_eval.signing.claims import Claims, ClaimsError
from run_eval.signing.keys import PublicKey, SigningKey

VERSION = 1
ALG = "EdDSA"
UNSIGNED_FIELDS = ("verifyToken", "source")


class TokenInvalid(Exception):
    """The token is not a valid run-eval token; the message is the reason."""


def signed_view(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the hash binds it: everything but verifyToken and source."""
    return {k: v for k, v in entry.items() if k not in UNSIGNED_FIELDS}


def entry_hash(entry: dict[str, Any]) -> str:
    try:
        return hashlib.sha256(rfc8785.dumps(signed_view(entry))).hexdigest()
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as ex:
        raise TokenInvalid(f"the entry cannot be canonicalised ({type(ex).__name__})") from None


def build_claims(entry: dict[str, Any], **claims: Any) -> dict[str, Any]:
    """version, hash, iat, entry, plus the caller's model/dataset/spec/metric/run/evidence/executor;
    checked against the typed claims (signing/claims.py), so nothing malformed is ever signed."""
    payload = {
        "version": VERSION,
        "hash": entry_hash(entry),
        "iat": int(time.time()),
        "entry": signed_view(entry),
        **claims,
    }
    Claims.from_payload(payload)  # ClaimsError: a bug of the caller, not the user's input
    return payload


def sign(claims: dict[str, Any], key: SigningKey) -> str:
    public = key.public
    header = {"alg": ALG, "jwk": public.jwk, "kid": public.kid}
    payload = rfc8785.dumps(claims)
    return jws.serialize_compact(header, payload, key.okp(), algorithms=[ALG])


@dataclass(frozen=True)
class Checked:
    """A token whose signature is valid: the signer's key, the claims typed, and the payload
    exactly as signed (for a reader that wants the JSON itself)."""

    key: PublicKey
    claims: Claims
    payload: dict[str, Any]


MAX_TOKEN_CHARS = 64 * 1024  # a run-eval token is about 2.5 KB
MAX_JSON_DEPTH = 32  # our claims nest 4 deep


def show(value: Any, limit: int = 60) -> str:
    """repr(value) on one line and at most ``limit`` characters, for a reason that quotes
    what a stranger wrote."""
    try:
        text = repr(value)
    except Exception:  # an int too long to print, a structure too deep
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _b64url(part: str, what: str) -> bytes:
    """Strict base64url (RFC 7515 §2): the URL-safe alphabet only, no padding, no
    whitespace, and the canonical encoding (unused low bits of the last character zero)."""
    rest = len(part) % 4
    if rest == 1 or "=" in part or "+" in part or "/" in part or not part.isascii():
        raise TokenInvalid(f"malformed token: the {what} is not base64url")
    try:  # strict_mode refuses any character outside the alphabet, whitespace included
        raw = binascii.a2b_base64(part.encode("ascii").translate(_TO_STANDARD) + b"=" * (-len(part) % 4),
                                  strict_mode=True)
    except binascii.Error:
        raise TokenInvalid(f"malformed token: the {what} is not base64url") from None
    if rest and part[-1] not in _CANONICAL_LAST[rest]:
        raise TokenInvalid(f"malformed token: the {what} is not canonical base64url")
    return raw


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# the last character of a canonical encoding when 2 (rest 2) or 4 (rest 3) of its 6 bits are padding
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}
# an Ed25519 signature is 64 bytes: 86 characters, the last one canonical (2 bits used)
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{85}[AQgw]")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _StrictJsonError(f"duplicate member {show(dup)}")
    return out


class _StrictJsonError(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _StrictJsonError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise _StrictJsonError(f"the number {show(text, 30)} is out of range")
    return value


# one decoder, built once (json.loads with hooks builds a new one per call)
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                            parse_float=_finite_float)


def _strict_json(raw: bytes, what: str) -> dict[str, Any]:
    """RFC 8259 JSON, strictly: UTF-8, one object at the top, no duplicate member names,
    no NaN or Infinity, finite numbers, no lone surrogates, nesting at most MAX_JSON_DEPTH."""
    try:
        text = raw.decode("utf-8")
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth_of(text) > MAX_JSON_DEPTH:
            raise _StrictJsonError(f"nested more than {MAX_JSON_DEPTH} levels deep")
        value = _DECODER.decode(text)
        if "\\u" in text:
            _check_strings(value)
    except _StrictJsonError as ex:
        raise TokenInvalid(f"malformed token: the {what} is not strict JSON ({ex})") from None
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise TokenInvalid(f"malformed token: the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenInvalid(f"malformed token: the {what} is not a JSON object")
    return value


def _depth_of(text: str) -> int:
    """The deepest [ or { nesting outside strings (the text is not yet known to be JSON)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _check_strings(value: Any) -> None:
    """Every string (and member name) is Unicode text: no lone surrogate from a \\u escape."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _StrictJsonError("a string holds a lone surrogate") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_KEY_CACHE: dict[str, tuple[PublicKey, OKPKey]] = {}
_KEY_CACHE_MAX = 1024


def _header_key(jwk: Any) -> tuple[PublicKey, OKPKey]:
    """PublicKey.from_jwk(jwk) and its joserfc key, remembered by ``x``: a folder of results
    is signed by a few keys, and importing a key and taking its thumbprint costs more than a
    quarter of an Ed25519 verification. Only a jwk that passes from_jwk's checks is remembered,
    and from_jwk's result depends on nothing but ``x`` then, so a hit is the same answer."""
    x = jwk.get("x") if isinstance(jwk, dict) else None
    cacheable = isinstance(x, str) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "d" not in jwk
    if cacheable and x in _KEY_CACHE:
        return _KEY_CACHE[x]
    key = PublicKey.from_jwk(jwk)
    pair = (key, key.okp())
    if cacheable and len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[x] = pair
    return pair


def check_signature(token: Any) -> Checked:
    """Verify the JWS with the key in its header, allowing EdDSA only; raise TokenInvalid.

    Before joserfc checks the signature, the token is held to the letter of RFC 7515:
    at most MAX_TOKEN_CHARS, three strict base64url parts, a header and payload of strict
    JSON objects, ``alg`` exactly EdDSA, no ``crit`` (we understand no extension, so any
    critical one is unknown), and the claims the verifier reads of the right JSON types.
    The reason is one line and the same for the same token."""
    if not isinstance(token, str) or not token:
        raise TokenInvalid("malformed token: not a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid(f"malformed token: longer than {MAX_TOKEN_CHARS:,} characters")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenInvalid("malformed token: expected three base64url parts (compact JWS)")
    header = _strict_json(_b64url(parts[0], "header"), "header")
    alg = header.get("alg")
    if alg != ALG:
        raise TokenInvalid(f"algorithm {show(alg)} is not allowed (only {ALG})")
    if "crit" in header:
        crit = header["crit"]
        names = ", ".join(show(c) for c in crit[:5]) if isinstance(crit, list) and crit else show(crit)
        raise TokenInvalid(f"unknown critical header parameter(s): {names}")
    payload = _b64url(parts[1], "payload")
    if not parts[2]:
        raise TokenInvalid("malformed token: the signature is missing")
    if not _SIGNATURE.fullmatch(parts[2]):  # joserfc decodes it; we hold it to the letter
        raise TokenInvalid("malformed token: the signature is not 64 bytes of canonical base64url")
    claims = _strict_json(payload, "payload")
    try:
        key, okp = _header_key(header.get("jwk"))
    except Exception as ex:
        raise TokenInvalid(f"the header's jwk is not an Ed25519 public key ({_one_line(ex)})") from None
    if header.get("kid") not in (None, key.kid):
        raise TokenInvalid(f"the header's kid is not the thumbprint of its jwk (kid {show(header.get('kid'), 20)}, "
                           f"thumbprint {key.kid[:12]}…)")
    try:
        # joserfc checks the signature over the header segment and the payload decoded above,
        # given as detached content (RFC 7515 appendix F): the same signing input as the token's
        # (the payload segment is canonical base64url, so its encoding is that segment, byte for
        # byte), without decoding the payload a second time (BENCHMARKS.md section 3)
        jws.deserialize_compact(jws.detach_content(token), okp, algorithms=[ALG], payload=payload)
    except BadSignatureError:
        raise TokenInvalid(f"bad signature: the payload was not signed by the header's key ({key.kid[:12]}…)") from None
    except JoseError as ex:
        raise TokenInvalid(f"malformed token: {type(ex).__name__}") from None
    except (ValueError, binascii.Error, TypeError):
        raise TokenInvalid("malformed token: cannot be decoded") from None
    version = claims.get("version")
    if version != VERSION or type(version) is not int:
        raise TokenInvalid(f"unsupported token version {show(version)} (expected {VERSION})")
    try:
        typed = Claims.from_payload(claims)
    except ClaimsError as ex:
        raise TokenInvalid(f"malformed token: {ex}") from None
    return Checked(key=key, claims=typed, payload=claims)


def _one_line(ex: BaseException) -> str:
    text = " ".join(str(ex).split())
    return (text if len(text) <= 120 else text[:119] + "…") or type(ex).__name__
