"""Signing keys: Ed25519, stored as PKCS#8 PEM under RUN_EVAL_HOME, mode 0600.

The private key never leaves this module as text: it is read from its file, used to
sign, and never printed, logged or written anywhere else. A key is named by its
RFC 7638 JWK thumbprint (the token's ``kid``), which is also its fingerprint.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey
from platformdirs import user_config_path

from run_eval.signing.errors import KeyError_

warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")

KEY_FILE = "signing-key.pem"


def home() -> Path:
    """RUN_EVAL_HOME, else the platform's user config folder for run-eval."""
    env = os.environ.get("RUN_EVAL_HOME")
    return Path(env).expanduser() if env else user_config_path("run-eval")


def key_path(base: Path | None = None) -> Path:
    return (base or home()) / KEY_FILE


@dataclass(frozen=True)
class PublicKey:
    """A public Ed25519 key as a JWK, and its thumbprint."""

    jwk: dict[str, str]  # {"kty": "OKP", "crv": "Ed25519", "x": ...}
    kid: str

    @classmethod
    def from_jwk(cls, jwk: Any) -> PublicKey:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise KeyError_("not an Ed25519 public key (expected a JWK with kty OKP, crv Ed25519)")
        if "d" in jwk:
            raise KeyError_("this is a private key; share and trust only public keys")
        try:
            key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
        except Exception as ex:  # joserfc raises several types for bad key material
            raise KeyError_(f"not a valid Ed25519 public key ({type(ex).__name__})") from None
        return cls(jwk=_public_jwk(key), kid=key.thumbprint())

    @classmethod
    def from_pem(cls, pem: bytes) -> PublicKey:
        if b"PRIVATE KEY" in pem:
            raise KeyError_("this is a private key; share and trust only public keys")
        try:
            key = OKPKey.import_key(pem)
        except Exception:
            raise KeyError_("not a PEM Ed25519 public key") from None
        if key.as_dict(private=False).get("crv") != "Ed25519":
            raise KeyError_("not an Ed25519 key")
        return cls(jwk=_public_jwk(key), kid=key.thumbprint())

    def okp(self) -> OKPKey:
        return OKPKey.import_key(self.jwk)

    def pem(self) -> str:
        return self.okp().as_pem(private=False).decode()


@dataclass(frozen=True)
class SigningKey:
    path: Path
    _key: OKPKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(jwk=_public_jwk(self._key), kid=self._key.thumbprint())

    def okp(self) -> OKPKey:
        return self._key

    def private_pem(self) -> str:
        """The PEM, only to hand the key to a job as a secret; never print or log it."""
        return self._key.as_pem(private=True).decode()

    def __repr__(self) -> str:  # never show key material
        return f"SigningKey(path={str(self.path)!r}, kid={self._key.thumbprint()!r})"


def _public_jwk(key: OKPKey) -> dict[str, str]:
    d = key.as_dict(private=False)
    return {"kty": "OKP", "crv": d["crv"], "x": d["x"]}


def load_key(path: Path | None = None) -> SigningKey:
    path = path or key_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyError_(f"{path}: no signing key; create one with: run-eval keys generate") from None
    except OSError as ex:
        raise KeyError_(f"{path}: cannot read the signing key ({ex.strerror})") from None
    try:
        key = OKPKey.import_key(data)
        if not key.is_private or key.as_dict(private=False).get("crv") != "Ed25519":
            raise ValueError
    except Exception:
        raise KeyError_(f"{path}: not a PKCS#8 PEM Ed25519 private key") from None
    return SigningKey(path=path, _key=key)


def generate_key(path: Path | None = None, *, overwrite: bool = False) -> SigningKey:
    """Create a new key file (mode 0600, written atomically); refuse to replace one unless told."""
    path = path or key_path()
    if path.exists() and not overwrite:
        raise KeyError_(f"{path}: a signing key already exists (use --force to replace it)")
    key = OKPKey.generate_key("Ed25519")
    pem = key.as_pem(private=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as ex:
        raise KeyError_(f"{path}: cannot write the signing key ({ex.strerror})") from None
    return SigningKey(path=path, _key=key)


ENV_KEY = "RUN_EVAL_SIGNING_KEY"  # a PEM given as a secret (e.g. to an HF Job): used, never written


def load_or_create(path: Path | None = None) -> tuple[SigningKey, bool]:
    """The user's key, creating it on first use; the flag says whether it was just created.

    A key in the RUN_EVAL_SIGNING_KEY environment variable (how a job receives it, as a
    secret) takes precedence and stays in memory.
    """
    pem = os.environ.get(ENV_KEY)
    if pem and path is None:
        try:
            key = OKPKey.import_key(pem.encode())
            if not key.is_private:
                raise ValueError
        except Exception:
            raise KeyError_(f"{ENV_KEY}: not a PKCS#8 PEM Ed25519 private key") from None
        return SigningKey(path=Path(f"<{ENV_KEY}>"), _key=key), False
    path = path or key_path()
    if path.exists():
        return load_key(path), False
    return generate_key(path), True
