"""`run-eval keys ...`: the signing key and the trust store."""

from __future__ import annotations

from pathlib import Path

import click

from run_eval.signing.errors import SigningError
from run_eval.signing.keys import generate_key, key_path, load_key
from run_eval.signing.trust import ROLES, load_trust, parse_time, read_public_key_file, trust_path


def _fail(ex: Exception) -> None:
    raise click.ClickException(str(ex))


@click.group("keys")
def keys_group() -> None:
    """Your signing key (Ed25519, under RUN_EVAL_HOME) and the keys you trust."""


@keys_group.command("generate")
@click.option("--force", is_flag=True, help="Replace an existing key (its old signatures stay valid "
              "only where its public key is trusted).")
def generate(force: bool) -> None:
    """Create the signing key (PKCS#8 PEM, file mode 0600)."""
    try:
        key = generate_key(key_path(), overwrite=force)
    except SigningError as ex:
        _fail(ex)
    click.echo(f"created signing key {key.public.kid} at {key.path}")


@keys_group.command("show")
def show() -> None:
    """Print the public key and its fingerprint (never the private key)."""
    try:
        key = load_key()
    except SigningError as ex:
        _fail(ex)
    click.echo(f"fingerprint: {key.public.kid}  (RFC 7638 JWK thumbprint, the tokens' kid)")
    click.echo(f"key file:    {key.path}")
    click.echo(key.public.pem().rstrip())


@keys_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the public key here (default: standard output).")
def export(output: Path | None) -> None:
    """Write the public key as a PEM file others can trust with `run-eval keys trust`."""
    try:
        key = load_key()
    except SigningError as ex:
        _fail(ex)
    pem = key.public.pem()
    if output is None:
        click.echo(pem.rstrip())
        return
    from run_eval.signing.results import atomic_write_text

    try:
        atomic_write_text(output, pem)
    except Exception as ex:
        _fail(ex)
    click.echo(f"public key {key.public.kid} written to {output}", err=True)


@keys_group.command("trust")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="executor: a trusted execution environment; evaluator: a known person or org.")
@click.option("--name", required=True, help="Who holds the key, e.g. hf-jobs/acme or alice.")
@click.option("--not-before", metavar="ISO-8601", help="Tokens issued before this are not accepted.")
@click.option("--not-after", metavar="ISO-8601", help="Tokens issued after this are not accepted.")
def trust(file: Path, role: str, name: str, not_before: str | None, not_after: str | None) -> None:
    """Trust the public key in FILE (PEM or JWK) for ROLE."""
    try:
        pub = read_public_key_file(file)
        store = load_trust()
        entry = store.add(pub, name=name, role=role,
                          not_before=parse_time(not_before, "--not-before"),
                          not_after=parse_time(not_after, "--not-after"))
        store.save()
    except SigningError as ex:
        _fail(ex)
    click.echo(f"trusted {entry.kid} as {role} {name!r} in {trust_path()}")


@keys_group.command("revoke")
@click.argument("fingerprint")
def revoke(fingerprint: str) -> None:
    """Revoke the key with this FINGERPRINT: every token it signed becomes invalid."""
    if not fingerprint or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                              for c in fingerprint) or len(fingerprint) != 43:
        raise click.BadParameter("expected a 43-character RFC 7638 thumbprint (see `run-eval keys show`)",
                                 param_hint="FINGERPRINT")
    try:
        store = load_trust()
        entry = store.revoke(fingerprint)
        store.save()
    except SigningError as ex:
        _fail(ex)
    click.echo(f"revoked {entry.kid} ({entry.name}) in {trust_path()}")
