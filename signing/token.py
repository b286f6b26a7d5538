"""verifyToken: a compact JWS (RFC 7515), alg EdDSA, made and checked with joserfc.

The header carries the signer's public key as a JWK and ``kid`` = its RFC 7638
thumbprint. The claims are a lock file for the score: ``hash`` binds the entry as
written in the YAML (without ``verifyToken`` and ``source``), and the rest says which
model, data, method, run and evidence produced it. ``entry`` repeats the signed entry so
a verifier can name the field that was changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import rfc8785
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from signing.keys import PublicKey, SigningKey

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
    """version, hash, iat, entry, plus the caller's model/dataset/spec/metric/run/evidence/executor."""
    return {
        "version": VERSION,
        "hash": entry_hash(entry),
        "iat": int(time.time()),
        "entry": signed_view(entry),
        **claims,
    }


def sign(claims: dict[str, Any], key: SigningKey) -> str:
    public = key.public
    header = {"alg": ALG, "jwk": public.jwk, "kid": public.kid}
    payload = rfc8785.dumps(claims)
    return jws.serialize_compact(header, payload, key.okp(), algorithms=[ALG])


@dataclass(frozen=True)
class Checked:
    """A token whose signature is valid: the signer's key and the claims."""

    key: PublicKey
    claims: dict[str, Any]


def _b64json(part: str, what: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenInvalid(f"malformed token: the {what} is not base64url JSON") from None


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
    """Verify the JWS with the key in its header, allowing EdDSA only; raise TokenInvalid."""
    if not isinstance(token, str) or not token:
        raise TokenInvalid("malformed token: not a string")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenInvalid("malformed token: expected three base64url parts (compact JWS)")
    header = _b64json(parts[0], "header")
    if not isinstance(header, dict):
        raise TokenInvalid("malformed token: the header is not a JSON object")
    alg = header.get("alg")
    if alg != ALG:
        raise TokenInvalid(f"algorithm {alg!r} is not allowed (only {ALG})")
    try:
        key, okp = _header_key(header.get("jwk"))
    except Exception as ex:
        raise TokenInvalid(f"the header's jwk is not an Ed25519 public key ({ex})") from None
    if header.get("kid") not in (None, key.kid):
        raise TokenInvalid("the header's kid is not the thumbprint of its jwk")
    try:
        obj = jws.deserialize_compact(token, okp, algorithms=[ALG])
    except JoseError as ex:
        if "signature" in str(ex).lower() or type(ex).__name__ == "BadSignatureError":
            raise TokenInvalid("bad signature") from None
        raise TokenInvalid(f"malformed token: {type(ex).__name__}") from None
    except (ValueError, binascii.Error, TypeError):
        raise TokenInvalid("malformed token: cannot be decoded") from None
    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError):
        raise TokenInvalid("malformed token: the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise TokenInvalid("malformed token: the payload is not a JSON object")
    if claims.get("version") != VERSION:
        raise TokenInvalid(f"unsupported token version {claims.get('version')!r} (expected {VERSION})")
    for name in ("hash", "iat", "model", "dataset", "metric", "entry"):
        if name not in claims:
            raise TokenInvalid(f"malformed token: claim {name!r} is missing")
    return Checked(key=key, claims=claims)
