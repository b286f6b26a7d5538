"""Decoding defaults and the backend that runs MODEL.

Defaults favour reproducibility: a fixed seed, and greedy decoding for local models
(Inspect's ``hf/`` provider samples, with a random seed, unless told otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from run_eval.runner.models.reference import HF_PROVIDERS, LOCAL_PROVIDERS, ModelError, ModelRef

BACKENDS = ("auto", "inspect")


def backend_model(model: ModelRef, backend: str = "auto") -> str:
    """The Inspect model string that runs MODEL.

    ``auto`` picks the fastest backend known to give the same answers: ``hf/`` models run on
    run-eval's ``hf-batch/`` provider (Inspect's hf/ model and generate arguments, a faster
    batcher; see runner/models/hf_batch.py). ``inspect`` runs the model string as given.
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
