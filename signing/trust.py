"""The trust store: which public keys vouch for results, in what role, and when.

A YAML file (``RUN_EVAL_HOME/trust.yaml`` by default, more with ``verify --trust``):

    keys:
      - kid: <RFC 7638 thumbprint>
        name: hf-jobs/acme
        role: executor          # a trusted execution environment (e.g. an HF Jobs namespace)
        jwk: {kty: OKP, crv: Ed25519, x: ...}
        not_before: '2026-01-01T00:00:00Z'   # optional validity window, checked against iat
        not_after: '2027-01-01T00:00:00Z'
        revoked: '2026-06-01T00:00:00Z'      # optional: every token of a revoked key is invalid

Trust is decided by thumbprint only; a key named in a token's header is just a claim.
A trust store passed with ``--trust`` may come from someone else: it is read with
:mod:`safeyaml`'s limits, and every problem is one line naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from run_eval import safeyaml
from run_eval.signing.errors import KeyError_, TrustStoreError
from run_eval.signing.keys import PublicKey, home
from run_eval.signing.results import atomic_write_text, safe_load_yaml
from run_eval.signing.token import show

ROLES = ("executor", "evaluator")
TRUST_FILE = "trust.yaml"


def trust_path(base: Path | None = None) -> Path:
    return (base or home()) / TRUST_FILE


def parse_time(value: Any, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise TrustStoreError(f"{where}: {show(value)} is not an ISO-8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def format_time(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class TrustedKey:
    kid: str
    name: str
    role: str
    jwk: dict[str, str] | None = None
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    revoked: dt.datetime | None = None

    def window_problem(self, at: dt.datetime) -> str | None:
        if self.not_before and at < self.not_before:
            return f"key {self.name!r} is not valid before {format_time(self.not_before)} (token iat {format_time(at)})"
        if self.not_after and at > self.not_after:
            return f"key {self.name!r} expired at {format_time(self.not_after)} (token iat {format_time(at)})"
        return None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kid": self.kid, "name": self.name, "role": self.role}
        if self.jwk:
            d["jwk"] = self.jwk
        for k in ("not_before", "not_after", "revoked"):
            if getattr(self, k) is not None:
                d[k] = format_time(getattr(self, k))
        return d


@dataclass
class TrustStore:
    path: Path | None = None
    keys: list[TrustedKey] = field(default_factory=list)

    def find(self, kid: str) -> TrustedKey | None:
        for k in self.keys:
            if k.kid == kid:
                return k
        return None

    def merged(self, other: TrustStore) -> TrustStore:
        """Both stores' keys; a revocation in either wins."""
        out = TrustStore(path=self.path, keys=[TrustedKey(**vars(k)) for k in self.keys])
        for k in other.keys:
            mine = out.find(k.kid)
            if mine is None:
                out.keys.append(TrustedKey(**vars(k)))
            elif k.revoked and not mine.revoked:
                mine.revoked = k.revoked
        return out

    def add(self, key: PublicKey, *, name: str, role: str,
            not_before: dt.datetime | None = None, not_after: dt.datetime | None = None) -> TrustedKey:
        if role not in ROLES:
            raise TrustStoreError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        existing = self.find(key.kid)
        if existing and existing.revoked:
            raise TrustStoreError(f"key {key.kid} was revoked; a revoked key cannot be trusted again")
        entry = TrustedKey(kid=key.kid, name=name, role=role, jwk=key.jwk,
                           not_before=not_before, not_after=not_after)
        if existing:
            self.keys[self.keys.index(existing)] = entry
        else:
            self.keys.append(entry)
        return entry

    def revoke(self, kid: str, when: dt.datetime | None = None) -> TrustedKey:
        when = when or dt.datetime.now(dt.timezone.utc)
        k = self.find(kid)
        if k is None:
            k = TrustedKey(kid=kid, name=f"revoked {kid[:12]}", role="evaluator")
            self.keys.append(k)
        k.revoked = k.revoked or when
        return k

    def save(self, path: Path | None = None) -> None:
        path = path or self.path or trust_path()
        text = "# run-eval trust store: keys that vouch for results (see README, trust model)\n"
        text += yaml.safe_dump({"keys": [k.as_dict() for k in self.keys]}, sort_keys=False)
        try:
            atomic_write_text(path, text)
        except Exception as ex:
            raise TrustStoreError(str(ex)) from None


def load_trust(path: Path | None = None, *, missing_ok: bool = True) -> TrustStore:
    path = path or trust_path()
    if not path.exists():
        if missing_ok:
            return TrustStore(path=path)
        raise TrustStoreError(f"{path}: no such trust store file")
    try:
        data = safe_load_yaml(safeyaml.read_bytes(path))
    except OSError as ex:
        raise TrustStoreError(f"{path}: cannot read the trust store ({ex.strerror or type(ex).__name__})") from None
    except safeyaml.YamlInputError as ex:
        raise TrustStoreError(f"{path}: cannot read the trust store: {ex}; {FIX}") from None
    try:
        return _parse_store(data, path)
    except TrustStoreError as ex:
        raise TrustStoreError(f"{ex}; {FIX}") from None


FIX = "fix the trust store or move it away"


def load_trust_stores(extra: list[Path] | tuple[Path, ...] = ()) -> TrustStore:
    """The user's trust store (RUN_EVAL_HOME/trust.yaml, if any) merged with each of
    ``extra`` (``--trust FILE``, which must exist); a revocation in any of them wins.
    The one way every command builds the store its trust decisions use."""
    store = load_trust()
    for path in extra:
        store = store.merged(load_trust(Path(path), missing_ok=False))
    return store


def _parse_store(data: Any, path: Path) -> TrustStore:
    data = data or {}
    if not isinstance(data, dict) or not isinstance(data.get("keys", []), list):
        raise TrustStoreError(f"{path}: expected a mapping with a 'keys' list")
    store = TrustStore(path=path)
    for i, raw in enumerate(data.get("keys") or []):
        where = f"{path}: keys[{i}]"
        if not isinstance(raw, dict):
            raise TrustStoreError(f"{where}: expected a mapping")
        role = raw.get("role", "evaluator")
        if not isinstance(role, str) or role not in ROLES:
            raise TrustStoreError(f"{where}.role: {show(role)} (expected one of: {', '.join(ROLES)})")
        jwk = raw.get("jwk")
        kid = raw.get("kid")
        if jwk is not None:
            try:
                pub = PublicKey.from_jwk(jwk)
            except KeyError_ as ex:
                raise TrustStoreError(f"{where}.jwk: {ex}") from None
            if kid is not None and kid != pub.kid:
                raise TrustStoreError(f"{where}.kid: does not match the thumbprint of its jwk ({pub.kid})")
            kid, jwk = pub.kid, pub.jwk
        if not isinstance(kid, str) or not kid:
            raise TrustStoreError(f"{where}: needs a kid or a jwk")
        name = raw.get("name")
        if isinstance(name, (int, float)) and not isinstance(name, bool):
            name = str(name)  # name: 2026 is a name, not a number
        if name is not None and not isinstance(name, str):
            raise TrustStoreError(f"{where}.name: expected a string")
        store.keys.append(
            TrustedKey(
                kid=kid,
                name=name or kid[:12],
                role=role,
                jwk=jwk,
                not_before=parse_time(raw.get("not_before"), f"{where}.not_before"),
                not_after=parse_time(raw.get("not_after"), f"{where}.not_after"),
                revoked=parse_time(raw.get("revoked"), f"{where}.revoked"),
            )
        )
    return store


def read_public_key_file(path: Path) -> PublicKey:
    """A public key file as `run-eval keys export` writes it (PEM), or a JWK as JSON/YAML."""
    try:
        data = safeyaml.read_bytes(path, 64 * 1024)  # a public key is a few hundred bytes
    except OSError as ex:
        raise KeyError_(f"{path}: cannot read ({ex.strerror})") from None
    except safeyaml.YamlInputError as ex:
        raise KeyError_(f"{path}: not a public key file: {ex}") from None
    try:
        if b"-----BEGIN" in data:
            return PublicKey.from_pem(data)
        try:
            parsed = safeyaml.loads(data)
        except safeyaml.YamlInputError:
            parsed = None
        return PublicKey.from_jwk(parsed)
    except KeyError_ as ex:
        raise KeyError_(f"{path}: {ex}") from None
