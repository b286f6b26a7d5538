"""MODEL: an Inspect model string, the model's identity and revision, and decoding defaults.

Defaults favour reproducibility: a fixed seed, and greedy decoding for local models
(Inspect's ``hf/`` provider samples, with a random seed, unless told otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tasks.pins import tree_digest

DEFAULT_SEED = 42
# providers that run weights on this machine: greedy unless the user asks for sampling
LOCAL_PROVIDERS = {"hf", "hf-batch", "vllm", "sglang", "llama-cpp-python", "transformer_lens"}
# providers built on transformers.generate (do_sample, a snapshot folder as model_path)
HF_PROVIDERS = {"hf", "hf-batch"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
SECRET_ARG = re.compile(r"(key|token|secret|password|passwd|credential)", re.IGNORECASE)


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
    if model_id is not None and not HUB_ID.match(model_id):
        raise ModelError(f"--model-id {model_id!r}: expected a Hub model id like 'org/name'")
    requested = None
    if provider in LOCAL_PROVIDERS and "@" in name and HUB_ID.match(name.split("@")[0]):
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
        elif provider in LOCAL_PROVIDERS and HUB_ID.match(name):
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
    return ref.local_path is None and ref.provider in LOCAL_PROVIDERS and bool(HUB_ID.match(ref.name))


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

    from tasks.hub import SHA, hub_error

    args = dict(model_args)
    rev = ref.requested_revision or args.pop("revision", None) or "main"
    what = f"MODEL {ref.spec}@{rev}" if rev != "main" else f"MODEL {ref.spec!r}"
    try:
        if constants.HF_HUB_OFFLINE:
            sha = rev if SHA.match(str(rev)) else Path(
                snapshot_download(ref.name, revision=str(rev), allow_patterns=[])).name
            ignore = None
        else:
            info = HfApi().model_info(ref.name, revision=str(rev))
            sha = str(info.sha)
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


BACKENDS = ("auto", "inspect")


def backend_model(model: ModelRef, backend: str = "auto") -> str:
    """The Inspect model string that runs MODEL.

    ``auto`` picks the fastest backend known to give the same answers: ``hf/`` models run on
    run-eval's ``hf-batch/`` provider (Inspect's hf/ model and generate arguments, a faster
    batcher; see runner/hf_batch.py). ``inspect`` runs the model string as given.
    """
    if backend not in BACKENDS:
        raise ModelError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "auto" and model.provider == "hf":
        return f"hf-batch/{model.name}"
    return model.spec


@dataclass(frozen=True)
class Decoding:
    """What is passed to Inspect: model string, generate config and model args, and a summary."""

    generate_config: dict[str, Any]
    model_args: dict[str, Any]
    mode: str  # "greedy", "sampling" or "provider default"
    notes: list[str] = field(default_factory=list)
    model: str = ""  # the Inspect model string that runs (see backend_model)

    @property
    def backend(self) -> str:
        return self.model.partition("/")[0]


def decoding_settings(
    model: ModelRef,
    *,
    seed: int,
    temperature: float | None,
    max_tokens: int | None,
    max_connections: int | None,
    model_args: dict[str, Any],
    backend: str = "auto",
) -> Decoding:
    run_as = backend_model(model, backend)
    config: dict[str, Any] = {"seed": seed}
    if max_tokens is not None:
        config["max_tokens"] = max_tokens
    if max_connections is not None:
        config["max_connections"] = max_connections
    args = dict(model_args)
    sampling = temperature is not None and temperature > 0
    if model.provider in HF_PROVIDERS:
        if "do_sample" in args:
            sampling = bool(args["do_sample"])
        else:
            args["do_sample"] = sampling
        if sampling and temperature is not None:
            config["temperature"] = temperature
        mode = "sampling" if sampling else "greedy"
    elif model.provider in LOCAL_PROVIDERS:
        config["temperature"] = temperature if temperature is not None else 0.0
        mode = "sampling" if sampling else "greedy"
    else:
        if temperature is not None:
            config["temperature"] = temperature
            mode = "sampling" if sampling else "greedy"
        else:
            mode = "provider default"
    return Decoding(generate_config=config, model_args=args, mode=mode, model=run_as)
