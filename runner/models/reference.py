"""MODEL: an Inspect model string, the model's identity, and its pinned revision.

A local folder is pinned by its content digest; a Hub model (``hf/org/name[@rev]``) by the
commit its revision resolves to, and Inspect is made to load exactly that commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from run_eval.tasks.hub import is_repo_id
from run_eval.tasks.pins import tree_digest

# providers that run weights on this machine: greedy unless the user asks for sampling
LOCAL_PROVIDERS = {"hf", "hf-batch", "vllm", "sglang", "llama-cpp-python", "transformer_lens"}
# providers built on transformers.generate (do_sample, a snapshot folder as model_path)
HF_PROVIDERS = {"hf", "hf-batch"}
# a model arg named like a secret: api_key, hf_token, token, client_secret, password, ...; not
# tokenizer, tokenizer_call_args, max_tokens (word parts, split at "_" and "-")
SECRET_ARG = re.compile(r"(^|[_-])(api_?keys?|keys?|token|secrets?|password|passwd|credentials?)($|[_-])", re.IGNORECASE)


class ModelError(Exception):
    """MODEL or its options are not usable; the message is one line for the user."""


@dataclass(frozen=True)
class ModelRef:
    spec: str  # the Inspect model string passed to Inspect (without any @revision)
    provider: str
    name: str
    model_id: str  # Hub identity recorded for the result (``--model-id`` or derived)
    revision: str | None  # commit sha (Hub) or content digest (local folder); None when not pinned
    local_path: Path | None
    requested_revision: str | None = None  # the @rev the user asked for, before resolution

    @property
    def pinned(self) -> bool:
        return self.revision is not None


def resolve_model(spec: str, *, model_id: str | None = None) -> ModelRef:
    provider, sep, name = spec.partition("/")
    if not sep or not provider or not name:
        raise ModelError(
            f"MODEL {spec!r}: expected an Inspect model string PROVIDER/NAME, "
            "e.g. hf/./my-model, hf/org/name, openai/gpt-4o-mini, mockllm/model"
        )
    if model_id is not None and not is_repo_id(model_id):
        raise ModelError(f"--model-id {model_id!r}: expected a Hub model id like 'org/name'")
    requested = None
    if provider in LOCAL_PROVIDERS and "@" in name and is_repo_id(name.split("@")[0]):
        name, _, requested = name.partition("@")
        if not requested:
            raise ModelError(f"MODEL {spec!r}: expected a revision after '@'")
        spec = f"{provider}/{name}"
    local_path = None
    revision = None
    candidate = Path(name).expanduser()
    looks_like_path = name.startswith((".", "/", "~")) or candidate.exists()
    if provider in LOCAL_PROVIDERS and looks_like_path:
        if not candidate.is_dir():
            raise ModelError(f"MODEL {spec!r}: no such model folder {str(candidate)!r}")
        local_path = candidate.resolve()
        try:
            revision = tree_digest(local_path)
        except OSError as ex:
            raise ModelError(f"MODEL {spec!r}: cannot read {ex.filename}: {ex.strerror}") from None
    if model_id is None:
        if local_path is not None:
            model_id = f"local/{local_path.name.lstrip('.') or 'model'}"
        elif provider in LOCAL_PROVIDERS and is_repo_id(name):
            model_id = name
        else:
            model_id = spec
    return ModelRef(
        spec=spec,
        provider=provider,
        name=name,
        model_id=model_id,
        revision=revision,
        local_path=local_path,
        requested_revision=requested,
    )


# weight formats left out of a snapshot when the repo has safetensors (transformers prefers them)
OTHER_WEIGHTS = ["*.bin", "*.pt", "*.pth", "*.h5", "*.msgpack", "*.ckpt", "*.onnx", "*.gguf", "original/*"]


def is_hub_model(ref: ModelRef) -> bool:
    return ref.local_path is None and ref.provider in LOCAL_PROVIDERS and is_repo_id(ref.name)


def pin_hub_model(ref: ModelRef, model_args: dict[str, Any]) -> tuple[ModelRef, dict[str, Any]]:
    """Resolve a Hub model's revision to its commit and make Inspect load exactly that commit.

    For ``hf/`` the snapshot at that commit is fetched and given as ``model_path``, so the
    weights and the tokenizer both come from it (Inspect loads the tokenizer without a
    revision otherwise). Other local providers get ``revision=<sha>``.
    """
    if not is_hub_model(ref):
        return ref, model_args
    from dataclasses import replace

    from huggingface_hub import HfApi, constants, snapshot_download

    from run_eval.tasks.hub import hub_error, resolve_commit

    args = dict(model_args)
    rev = ref.requested_revision or args.pop("revision", None) or "main"
    what = f"MODEL {ref.spec}@{rev}" if rev != "main" else f"MODEL {ref.spec!r}"
    try:
        sha = resolve_commit(ref.name, str(rev), "model")
        ignore = None
        if not constants.HF_HUB_OFFLINE:
            info = HfApi().model_info(ref.name, revision=sha)
            names = [s.rfilename for s in info.siblings or []]
            ignore = OTHER_WEIGHTS if any(n.endswith(".safetensors") for n in names) else None
        if ref.provider in HF_PROVIDERS and "model_path" not in args:
            args["model_path"] = snapshot_download(ref.name, revision=sha, ignore_patterns=ignore)
        else:
            args["revision"] = sha
    except Exception as ex:
        msg = hub_error(ex, what, ref.name, repo_type="model")
        if msg is None:
            raise
        raise ModelError(msg) from None
    return replace(ref, revision=sha), args


def render_model_arg(key: str, value: Any) -> str:
    """``key=value`` that :func:`parse_model_args` reads back as exactly ``value`` (a recorded
    model arg passed on again: to a re-run, or to a job).

    >>> [render_model_arg(k, v) for k, v in [("a", None), ("b", "yes"), ("c", 0.5), ("d", "cpu"), ("e", {"x": 1})]]
    ['a=null', 'b="yes"', 'c=0.5', 'd=cpu', 'e={"x": 1}']
    """
    import json

    if isinstance(value, str):
        try:
            same = yaml.safe_load(value) == value and value.strip() == value and value != ""
        except yaml.YAMLError:
            same = False
        return f"{key}={value}" if same else f"{key}={json.dumps(value)}"
    return f"{key}={json.dumps(value)}"


def parse_model_args(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``-M key=value`` pairs; values are read as YAML scalars (Inspect's convention)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ModelError(f"-M {pair!r}: expected key=value")
        if SECRET_ARG.search(key):
            raise ModelError(
                f"-M {key}: secrets are not accepted as model args (they are recorded in "
                "logs); set them in the environment, e.g. HF_TOKEN or OPENAI_API_KEY"
            )
        try:
            out[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key] = raw
    return out


def portable_model_args(model: ModelRef, model_args: dict[str, Any]) -> dict[str, Any]:
    """Model args as recorded: a pinned Hub snapshot's cache path is named by repo and commit."""
    if is_hub_model(model) and "model_path" in model_args:
        return {**model_args, "model_path": f"hf-snapshot:{model.name}@{model.revision}"}
    return dict(model_args)
