"""The environment lock: what, besides the code and the data, can change a model's greedy
answers, recorded with every run of local weights (the token's ``run.packages`` and
``run.environment``; ``diff`` shows them, ``reproduce`` names each that differs).

Recorded before the run, the way Inspect's ``hf/`` provider will choose: the device
(``-M device``, else mps, cuda or cpu as available), the accelerator's name and count, the
dtype (``-M torch_dtype``/``-M dtype``, else the one the model's config.json declares,
which is what ``auto`` loads), and torch's CUDA version.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from run_eval.runner.models.reference import LOCAL_PROVIDERS, ModelRef

# packages whose versions change greedy answers (kernels, tokenization, generation)
ANSWER_CHANGING = ("torch", "transformers", "accelerate", "tokenizers", "vllm")


def installed_versions(names: tuple[str, ...] = ANSWER_CHANGING) -> dict[str, str]:
    """name -> version, for those of ``names`` that are installed."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def environment_lock(model: ModelRef, model_args: dict[str, Any]) -> dict[str, Any] | None:
    """Where MODEL's weights will run; None for a model behind an API (nothing runs here)."""
    if model.provider not in LOCAL_PROVIDERS:
        return None
    try:
        import torch
    except ImportError:
        return {"device": None, "accelerator": None, "accelerator_count": None,
                "dtype": _dtype(model, model_args), "cuda": None}
    device = model_args.get("device")
    if not device:
        mps = getattr(torch.backends, "mps", None)
        device = "mps" if mps is not None and mps.is_available() else "cuda:0" if torch.cuda.is_available() else "cpu"
    kind = str(device).split(":")[0]
    on_cuda = kind == "cuda" and torch.cuda.is_available()
    return {
        "device": kind,
        "accelerator": torch.cuda.get_device_name(0) if on_cuda else None,
        "accelerator_count": torch.cuda.device_count() if on_cuda else 0,
        "dtype": _dtype(model, model_args),
        "cuda": torch.version.cuda,
    }


def _dtype(model: ModelRef, model_args: dict[str, Any]) -> str | None:
    asked = model_args.get("torch_dtype") or model_args.get("dtype")
    if asked and str(asked) != "auto":
        return str(asked).removeprefix("torch.")
    folder = model.local_path or (Path(model_args["model_path"]) if model_args.get("model_path") else None)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8")) if folder else {}
    except (OSError, ValueError):
        config = {}
    declared = config.get("torch_dtype") or config.get("dtype") if isinstance(config, dict) else None
    return str(declared) if declared else None
