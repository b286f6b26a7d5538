"""Errors of the signing package; each message is one line for the user."""

from __future__ import annotations


class SigningError(Exception):
    """A problem with keys, the trust store or tokens that the user must fix."""


class KeyError_(SigningError):
    """A key file or key material is missing or unusable (named to avoid shadowing KeyError)."""


class TrustStoreError(SigningError):
    """The trust store file cannot be read or written."""


class ResultFileError(Exception):
    """An existing result file cannot be read or the new one cannot be written."""
