"""Keys, the trust store, and the property that any change to a bound field is caught."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import pickle
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from run_eval.signing.claims import Claims, ClaimsError
from run_eval.signing.errors import KeyError_, TrustStoreError
from run_eval.signing.keys import generate_key, load_key, load_or_create
from run_eval.signing.token import check_signature, entry_hash
from run_eval.signing.trust import load_trust, read_public_key_file
from run_eval.signing.verify import PARALLEL_MIN_FILES, _workers, cores, decide

from conftest import assert_clean_error, run_cli

CORPUS = Path(__file__).parent / "fixtures" / "tokens"
GOOD = yaml.safe_load((CORPUS / "cases" / "good_executor.yaml").read_text())[0]
TRUST = load_trust(CORPUS / "trust.yaml")


def test_key_file_is_pkcs8_pem_mode_0600(tmp_path):
    key = generate_key(tmp_path / "k" / "signing-key.pem")
    data = key.path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert load_key(key.path).public == key.public
    assert len(key.public.kid) == 43 and "x" in key.public.jwk and "d" not in key.public.jwk
    assert "PRIVATE" not in repr(key) and data.decode() not in repr(key)
    with pytest.raises(KeyError_):
        generate_key(key.path)  # never silently replaced
    assert generate_key(key.path, overwrite=True).public != key.public


def test_load_or_create_creates_once(tmp_path):
    k1, created1 = load_or_create(tmp_path / "signing-key.pem")
    k2, created2 = load_or_create(tmp_path / "signing-key.pem")
    assert (created1, created2) == (True, False) and k1.public == k2.public


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n"])
def test_bad_key_file(tmp_path, content):
    p = tmp_path / "signing-key.pem"
    p.write_bytes(content)
    with pytest.raises(KeyError_) as info:
        load_key(p)
    assert str(p) in str(info.value)


def test_keys_cli_roundtrip(tmp_path):
    home = {"RUN_EVAL_HOME": str(tmp_path / "home")}
    proc = run_cli("keys", "show", cwd=tmp_path, env=home)
    assert_clean_error(proc, "no signing key; create one with: run-eval keys generate")
    gen = run_cli("keys", "generate", cwd=tmp_path, env=home)
    assert gen.returncode == 0 and "created signing key" in gen.stdout
    private = (tmp_path / "home" / "signing-key.pem").read_text()
    body = "".join(private.splitlines()[1:-1])
    assert_clean_error(run_cli("keys", "generate", cwd=tmp_path, env=home), "already exists")
    show = run_cli("keys", "show", cwd=tmp_path, env=home)
    exp = run_cli("keys", "export", "-o", str(tmp_path / "pub.pem"), cwd=tmp_path, env=home)
    for p in (gen, show, exp):
        assert body not in p.stdout + p.stderr and "PRIVATE" not in p.stdout + p.stderr
    pub = read_public_key_file(tmp_path / "pub.pem")
    assert pub.kid in show.stdout
    # trusting: a private key file is refused, a public one is added, revocation sticks
    assert_clean_error(run_cli("keys", "trust", str(tmp_path / "home" / "signing-key.pem"), "--role", "executor",
                               "--name", "x", cwd=tmp_path, env=home), "private key")
    ok = run_cli("keys", "trust", str(tmp_path / "pub.pem"), "--role", "evaluator", "--name", "me",
                 "--not-after", "2030-01-01", cwd=tmp_path, env=home)
    assert ok.returncode == 0, ok.stderr
    store = load_trust(tmp_path / "home" / "trust.yaml")
    (k,) = store.keys
    assert (k.kid, k.role, k.name, k.not_after.year) == (pub.kid, "evaluator", "me", 2030)
    assert run_cli("keys", "revoke", "--", pub.kid, cwd=tmp_path, env=home).returncode == 0
    assert load_trust(tmp_path / "home" / "trust.yaml").find(pub.kid).revoked is not None
    assert_clean_error(run_cli("keys", "trust", str(tmp_path / "pub.pem"), "--role", "evaluator", "--name", "me",
                               cwd=tmp_path, env=home), "revoked")
    assert_clean_error(run_cli("keys", "revoke", "short", cwd=tmp_path, env=home), "thumbprint")
    assert_clean_error(run_cli("keys", "trust", str(tmp_path / "pub.pem"), "--role", "god", "--name", "x",
                               cwd=tmp_path, env=home), "--role")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("keys: 3", "expected a mapping with a 'keys' list"),
        ("keys: [{name: a}]", "needs a kid or a jwk"),
        ("keys: [{kid: a, role: x}]", "role: 'x'"),
        ("keys: [{kid: a, not_after: soon}]", "not an ISO-8601 time"),
        ("keys: [{jwk: {kty: RSA}}]", "not an Ed25519 public key"),
        ("{{{", "cannot read the trust store"),
    ],
)
def test_bad_trust_store(tmp_path, text, needle):
    p = tmp_path / "trust.yaml"
    p.write_text(text)
    with pytest.raises(TrustStoreError) as info:
        load_trust(p)
    assert needle in str(info.value) and str(p) in str(info.value)


def test_header_kid_must_match_trusted_jwk_thumbprint(tmp_path):
    p = tmp_path / "trust.yaml"
    data = yaml.safe_load((CORPUS / "trust.yaml").read_text())
    data["keys"][0]["kid"] = data["keys"][1]["kid"]
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(TrustStoreError, match="does not match the thumbprint"):
        load_trust(p)


def test_token_claims_are_a_lock_file():
    claims = check_signature(GOOD["verifyToken"]).payload
    assert claims["version"] == 1 and claims["hash"] == entry_hash(GOOD)
    for name in ("iat", "model", "dataset", "spec", "metric", "run", "evidence", "executor", "entry"):
        assert name in claims
    assert set(claims["dataset"]) >= {"id", "revision", "task_id", "config", "split"}
    assert set(claims["metric"]) >= {"name", "value", "stderr", "samples", "total_samples", "subset"}


# --- typed claims: strict, one line naming the claim, nothing signed dropped ----------------

PAYLOAD = check_signature(GOOD["verifyToken"]).payload


def with_claim(path: str, value):
    payload = copy.deepcopy(PAYLOAD)
    *parents, last = path.split(".")
    target = payload
    for p in parents:
        target = target.setdefault(p, {})
    target[last] = value
    return payload


@pytest.mark.parametrize("path, value, reason", [
    ("metric.value", "0.5", "claim metric.value: expected a number (got '0.5')"),
    ("metric.value", True, "claim metric.value: expected a number (got True)"),
    ("metric.value", float("inf"), "claim metric.value: expected a finite number (got inf)"),
    ("metric.stderr", float("nan"), "claim metric.stderr: expected a finite number (got nan)"),
    ("metric.samples", 10.0, "claim metric.samples: expected an integer (got 10.0)"),
    ("iat", "1760000000", "claim iat: expected a number (got '1760000000')"),
    ("iat", 10**400, "claim iat: expected a number (got 1" + "0" * 58 + "…)"),
    ("model", "org/model", "claim model: expected a JSON object (got 'org/model')"),
    ("run", [], "claim run: expected a JSON object (got list)"),
    ("run.seed", 1.0, "claim run.seed: expected an integer (got 1.0)"),
    ("run.packages", {"torch": 2}, "claim run.packages.torch: expected a string (got 2)"),
    ("run.lint", {"enforced": "yes"}, "claim run.lint.enforced: expected true or false (got 'yes')"),
    ("run.lint", {"enforced": True, "ignored": "rule"}, "claim run.lint.ignored: expected a valid list (got 'rule')"),
    ("run.lint", {"enforced": True, "errors": ["a", 1]}, "claim run.lint.errors.1: expected a string (got 1)"),
    ("run.judge", {}, "claim run.judge.used: required"),
    ("run.judge", {"used": ["judge"]}, "claim run.judge.used.0: expected a JSON object (got 'judge')"),
    ("spec.task", [], "claim spec.task: expected a JSON object (got list)"),
    ("executor.kind", "cloud", "claim executor.kind: expected 'local' or 'hf-jobs' (got 'cloud')"),
    ("version", 2, "claim version: expected 1 (got 2)"),
    ("entry", {1: "x"}, "claim entry.1.[key]: expected a string (got 1)"),
])
def test_a_claim_of_the_wrong_type_is_named_in_one_line(path, value, reason):
    with pytest.raises(ClaimsError) as info:
        Claims.from_payload(with_claim(path, value))
    assert str(info.value) == reason


def test_the_first_claim_that_does_not_fit_is_named_whatever_the_member_order():
    # a token's payload is canonical JSON, its members sorted: "metric" before "model"; the
    # reason names the first claim in the order the claims are declared, as it always did
    payload = {**PAYLOAD, "metric": {"value": "high"}, "model": 7}
    for order in (sorted(payload), sorted(payload, reverse=True)):
        with pytest.raises(ClaimsError, match=r"^claim model: expected a JSON object \(got 7\)$"):
            Claims.from_payload({k: payload[k] for k in order})
    missing = {k: v for k, v in PAYLOAD.items() if k not in ("hash", "metric")}
    with pytest.raises(ClaimsError, match=r"^claim hash: required$"):
        Claims.from_payload({**missing, "model": None})


def test_claims_keep_what_no_section_declares():
    # a newer run-eval may sign members this one does not know: they are part of what was
    # signed, so they come back in to_payload and by name, never silently dropped
    payload = with_claim("run.environment.npu", "x1")
    payload["attestation"] = {"quote": "abc"}
    c = Claims.from_payload(payload)
    assert c.to_payload() == payload
    assert c.section("attestation") == {"quote": "abc"} and c.section("nope") is None
    assert c.section("run") is c.run and c.run.seed == payload["run"]["seed"]
    assert c.model.model_dump() == {"id": c.model.id, "revision": c.model.revision, "spec": c.model.spec}
    for again in (pickle.loads(pickle.dumps(c)), copy.copy(c), copy.deepcopy(c)):
        assert again == c and again.to_payload() == payload
    with pytest.raises(AttributeError):
        c.model.id = "org/other"  # frozen


# --- property: any change to a bound field is caught ----------------------------------------

scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20), st.booleans(), st.none())
PATHS = [("value",), ("date",), ("notes",), ("dataset", "id"), ("dataset", "task_id"), ("dataset", "revision")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), new=scalars)
def test_any_change_to_a_bound_field_is_invalid(path, new):
    entry = copy.deepcopy(GOOD)
    target = entry
    for part in path[:-1]:
        target = target[part]
    if target[path[-1]] == new and type(target[path[-1]]) is type(new):
        return  # not a change
    target[path[-1]] = new
    v = decide(entry, TRUST)
    assert v.status == "invalid", (path, new)
    assert "hash mismatch" in v.reason


@settings(max_examples=60, deadline=None)
@given(key=st.text(min_size=1, max_size=10).filter(lambda k: k not in ("verifyToken", "source")), new=scalars)
def test_any_added_field_is_invalid(key, new):
    entry = copy.deepcopy(GOOD)
    if key in entry:
        return
    entry[key] = new
    assert decide(entry, TRUST).status == "invalid"


@settings(max_examples=80, deadline=None)
@given(position=st.integers(min_value=0), char=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
def test_any_change_to_the_token_is_invalid(position, char):
    token = GOOD["verifyToken"]
    i = position % len(token)
    if token[i] in (".", char):
        return
    entry = {**GOOD, "verifyToken": token[:i] + char + token[i + 1:]}
    v = decide(entry, TRUST)
    # the last base64url character of a part can carry unused bits: a change there may decode the same
    if v.status != "invalid":
        part_end = [j for j, c in enumerate(token) if c == "."] + [len(token)]
        assert i + 1 in part_end, (i, char)


def test_a_payload_spelled_another_way_is_not_what_was_signed():
    # joserfc is given the payload decoded here (signing/token.py): that is the signed input only
    # because the payload segment must be the canonical base64url of those bytes; the same bytes
    # spelled with other unused bits in the last character are refused
    header, payload, signature = GOOD["verifyToken"].split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused = {2: 0b1111, 3: 0b11}[len(payload) % 4]  # low bits of the last character that carry nothing
    last = alphabet.index(payload[-1])
    for bits in range(1, unused + 1):
        loose = payload[:-1] + alphabet[(last & ~unused) | bits]
        v = decide({**GOOD, "verifyToken": f"{header}.{loose}.{signature}"}, TRUST)
        assert (v.status, v.reason) == ("invalid", "malformed token: the payload is not canonical base64url")


def test_source_is_not_bound():
    entry = {**GOOD, "source": {"url": "https://elsewhere/log.eval", "name": "moved"}}
    assert decide(entry, TRUST).status == "verified"


def test_validity_window_uses_iat():
    claims = check_signature(GOOD["verifyToken"]).payload
    k = TRUST.find(check_signature(GOOD["verifyToken"]).key.kid)
    at = dt.datetime.fromtimestamp(claims["iat"], dt.timezone.utc)
    assert k.window_problem(at) is None


# ------------------------------------------------------------------ verify over many files, in worker processes

def _many_results(root: Path) -> Path:
    """Every corpus case (verified, signed, self-signed, unsigned, each way of being invalid)
    twice, in two model folders, with a file that is not YAML among them."""
    for model in ("a", "b"):
        folder = root / model / ".eval_results"
        folder.mkdir(parents=True)
        for case in sorted((CORPUS / "cases").glob("*.yaml")):
            (folder / case.name).write_bytes(case.read_bytes())
    (root / "a" / ".eval_results" / "m_broken.yaml").write_text("not: [a list\n")
    return root


def test_verify_in_workers_says_exactly_what_one_process_says(tmp_path):
    root = _many_results(tmp_path / "results")
    trust = str(CORPUS / "trust.yaml")

    def verify(*args: str) -> tuple:
        proc = run_cli("verify", *args, "--trust", trust, str(root), cwd=tmp_path)
        return proc.returncode, proc.stdout, proc.stderr

    serial = verify("--json", "--jobs", "1")
    assert serial[0] == 1 and "Traceback" not in serial[2]  # invalid entries and an unreadable file
    report = json.loads(serial[1])
    assert {e["status"] for e in report["entries"]} == {"verified", "signed", "self-signed", "unsigned", "invalid"}
    per_copy = sum(len(yaml.safe_load(f.read_text())) for f in (CORPUS / "cases").glob("*.yaml"))
    assert len(report["entries"]) == 2 * per_copy
    assert report["problems"] == [f"{root / 'a' / '.eval_results' / 'm_broken.yaml'}: not a readable result file: "
                                  "not valid YAML at line 2, column 1: did not find expected ',' or ']'; "
                                  "fix the file or ask its author"]
    assert verify("--json", "--jobs", "2") == serial
    assert verify("--json", "--jobs", "5") == serial
    assert verify("--jobs", "3") == verify("--jobs", "1")  # the plain lines too


def test_verify_pauses_the_collector_for_the_batch_and_restores_it(tmp_path):
    """Deciding many entries makes garbage that reference counting frees: the cyclic
    collector makes no pass while a batch is decided (its passes found nothing and cost
    5-10% of the per-entry path), and is back as it was afterwards, on or off."""
    import gc

    from run_eval.signing.trust import load_trust_stores
    from run_eval.signing.verify import verify_paths

    root = _many_results(tmp_path / "results")
    trust = load_trust_stores([CORPUS / "trust.yaml"])
    passes: list[int] = []  # the collector's passes made while a file was being decided

    def seen(phase: str, info: dict) -> None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name != "_decide_file":
            frame = frame.f_back
        if phase == "start" and frame is not None:
            passes.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(seen)
    try:
        report = verify_paths([root], trust=trust, jobs=1)
        assert gc.isenabled()
        gc.disable()
        verify_paths([root], trust=trust, jobs=1)
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
    assert len(report.entries) > 50 and passes == []


def test_verify_workers_threshold():
    """A worker pays for itself only above PARALLEL_MIN_FILES files; --jobs N is taken as given."""
    assert _workers(None, PARALLEL_MIN_FILES - 1) == 1
    assert _workers(None, PARALLEL_MIN_FILES) == min(cores(), 2)
    assert _workers(None, 100_000) == cores()
    assert _workers(4, 3) == 3 and _workers(2, 100) == 2 and _workers(1, 100_000) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(os, "killpg"),
                    reason="needs POSIX FIFOs and process groups")
def test_ctrl_c_during_a_parallel_verify_is_one_line(tmp_path):
    """Ctrl-C (SIGINT to the whole foreground group, workers included) while a worker waits on
    a result file: one line, exit 130, no traceback from the command or from any worker. The
    file is a FIFO, so the moment a worker opens it is an event the test can wait for."""
    root = _many_results(tmp_path / "results")
    fifo = root / "a" / ".eval_results" / "m_fifo.yaml"
    os.mkfifo(fifo)
    exe = shutil.which("run-eval")
    proc = subprocess.Popen([*([exe] if exe else [sys.executable, "-m", "run_eval"]), "verify", "--jobs", "2",
                             "--trust", str(CORPUS / "trust.yaml"), str(root)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    writer: list = []
    opening = threading.Thread(target=lambda: writer.append(open(fifo, "wb")), daemon=True)
    opening.start()

    def release_if_it_ends() -> None:  # a command that ends without reading the FIFO releases the opening
        proc.wait()
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))

    threading.Thread(target=release_if_it_ends, daemon=True).start()
    opening.join(300)  # returns when a worker opens the FIFO (or the command ended); 300 s bounds a stuck run
    assert writer and proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    writer[0].close()  # the worker reads an empty file and ends its chunk
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in err, err
    assert [line for line in err.splitlines() if line.strip()] == \
        ["run-eval: interrupted; no result file was written"]
