"""``hf-batch/``: Inspect's ``hf/`` model with a batcher that keeps the model busy.

Why: Inspect's ``hf/`` provider hands requests to a thread that starts a batch only when
it is full or after two seconds without a new request, and each waiting sample checks for
its answer once a second. On a CPU or GPU that finishes a batch in tens of milliseconds,
most of the wall time is those waits (see BENCHMARKS.md).

What stays the same, so scores are the same: the model and tokenizer are loaded by
Inspect's own ``hf/`` provider (``get_model("hf/...")``, same model args, device choice,
seeds, ``pad_token = eos``, left padding), each prompt is made by that provider's chat
formatting, and generation uses the same ``generate`` arguments and decoding. Requests
with tools, logprobs or hidden states go to the ``hf/`` provider unchanged.

How: the first request to arrive leads: it waits until a batch's worth of requests with
the same settings has arrived, or until none has arrived for ``gather_ms``, runs that batch
in a worker thread, wakes every sample of the batch, and hands the lead on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from run_eval.runner.models.providers import describe_local_model

DEFAULT_BATCH = 32
DEFAULT_GATHER_MS = 20.0
_LOADED: dict[tuple[Any, ...], Any] = {}  # (name, api key, model args) -> Inspect's hf/ model API


@dataclass
class _Request:
    prompt: str
    key: tuple[Any, ...]
    kwargs: dict[str, Any]
    batch_size: int
    done: anyio.Event = field(default_factory=anyio.Event)
    text: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    error: BaseException | None = None


def _leave_a_core_for_the_harness(device: str) -> None:
    """On CPU, generate with one thread fewer than the cores we may use.

    Inspect's per-sample work (solvers, scoring, logging) runs on the event loop thread
    while a batch generates. With torch's OpenMP threads on every core, the two fight for
    the cores and spin-waiting threads stall both (measured: generation 4-5x slower on 2
    cores, BENCHMARKS.md). OMP_NUM_THREADS, when set, is the user's choice and is kept.
    """
    import os

    if not device.startswith("cpu") or os.environ.get("OMP_NUM_THREADS"):
        return
    import torch

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, cores - 1))


class BatchedHF(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key,
                         api_key_vars=["HF_TOKEN"], config=config)
        self.gather_s = float(model_args.pop("gather_ms", DEFAULT_GATHER_MS)) / 1000.0
        # Inspect's own hf/ provider loads the model and tokenizer exactly as `hf/` would;
        # Inspect makes a model object per distinct config, so the loaded one is shared
        key = (model_name, api_key, repr(sorted(model_args.items())))
        if key not in _LOADED:
            _LOADED[key] = get_model(f"hf/{model_name}", config=config, api_key=api_key,
                                     memoize=False, **model_args).api
        self.inner = _LOADED[key]
        config = getattr(self.inner.model, "config", None)
        describe_local_model(f"hf-batch/{model_name}", getattr(config, "max_position_embeddings", None))
        _leave_a_core_for_the_harness(str(self.inner.model.device))
        self._pending: list[_Request] = []
        self._leading = False
        self._arrived: anyio.Event | None = None  # events are made inside the event loop
        self._lead_free: anyio.Event | None = None

    # -- what Inspect asks of a provider -------------------------------------------------
    def max_tokens(self) -> int | None:
        return self.inner.max_tokens()

    def max_connections(self) -> int:
        return int(getattr(self.inner, "batch_size", None) or DEFAULT_BATCH)

    def collapse_user_messages(self) -> bool:
        return self.inner.collapse_user_messages()

    def close(self) -> None:
        # another model object may still use the weights: drop only the cache's reference
        for key, api in list(_LOADED.items()):
            if api is self.inner:
                del _LOADED[key]

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> Any:
        if tools or config.logprobs or getattr(self.inner, "hidden_states", None):
            return await self.inner.generate(input, tools, tool_choice, config)
        kwargs = self._generate_kwargs(config)
        req = _Request(
            prompt=self.inner.hf_chat(input, tools),
            key=tuple(sorted((k, repr(v)) for k, v in kwargs.items())),
            kwargs=kwargs,
            batch_size=config.max_connections or self.max_connections(),
        )
        self._pending.append(req)
        if self._arrived is not None:
            self._arrived.set()
        while not req.done.is_set():
            if self._leading:
                if self._lead_free is None:
                    self._lead_free = anyio.Event()
                await self._lead_free.wait()
                continue
            self._leading = True
            try:
                await self._run_one_batch()
            finally:
                self._leading = False
                free, self._lead_free = self._lead_free, None
                if free is not None:
                    free.set()
        if req.error is not None:
            raise req.error
        return ModelOutput(
            model=self.model_name,
            choices=[ChatCompletionChoice(
                message=ChatMessageAssistant(content=req.text or "", model=self.model_name, source="generate"),
            )],
            usage=ModelUsage(input_tokens=req.input_tokens, output_tokens=req.output_tokens,
                             total_tokens=req.input_tokens + req.output_tokens),
            time=req.seconds,
        )

    # -- batching -----------------------------------------------------------------------
    def _generate_kwargs(self, config: GenerateConfig) -> dict[str, Any]:
        """The arguments Inspect's hf/ provider passes to model.generate (same names, same rules)."""
        kwargs: dict[str, Any] = {"do_sample": self.inner.do_sample}
        if config.max_tokens is not None:
            kwargs["max_new_tokens"] = config.max_tokens
        if config.temperature is not None:
            kwargs["temperature"] = config.temperature
        if config.top_p is not None:
            kwargs["top_p"] = config.top_p
        if config.top_k is not None:
            kwargs["top_k"] = config.top_k
        if config.stop_seqs is not None:
            kwargs["stop_strings"] = tuple(config.stop_seqs)
        return kwargs

    async def _run_one_batch(self) -> None:
        """Gather one batch (same settings, up to its size), generate it off the event loop."""
        first = self._pending[0]
        while True:
            same = [r for r in self._pending if r.key == first.key]
            if len(same) >= first.batch_size:
                break
            self._arrived = anyio.Event()
            arrived = self._arrived
            with anyio.move_on_after(self.gather_s):
                await arrived.wait()
            if not arrived.is_set():
                break  # nothing new for gather_s: go with what we have
        self._arrived = None
        batch = [r for r in self._pending if r.key == first.key][: first.batch_size]
        taken = {id(r) for r in batch}
        self._pending = [r for r in self._pending if id(r) not in taken]
        try:
            await anyio.to_thread.run_sync(self._generate_batch, batch)
        except BaseException as ex:  # noqa: BLE001 - every sample of the batch gets the error
            for r in batch:
                if r.text is None and r.error is None:
                    r.error = ex
            if not isinstance(ex, Exception):
                raise
        finally:
            for r in batch:
                r.done.set()

    def _generate_batch(self, batch: list[_Request]) -> None:
        import torch

        start = time.monotonic()
        inner = self.inner
        tokenizer = inner.tokenizer
        kwargs = dict(batch[0].kwargs)
        stop = kwargs.pop("stop_strings", None)
        if stop:
            from transformers.generation import StopStringCriteria

            kwargs["stopping_criteria"] = [StopStringCriteria(tokenizer, list(stop))]
        enc = tokenizer([r.prompt for r in batch], return_tensors="pt", padding=True,
                        **(inner.tokenizer_call_args or {}))
        input_ids = enc["input_ids"].to(inner.model.device)
        attention_mask = enc["attention_mask"].to(inner.model.device)
        with torch.inference_mode():
            out = inner.model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                       return_dict_in_generate=True, **kwargs)
        generated = out.sequences[:, input_ids.size(1):]
        texts = tokenizer.batch_decode(generated, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        pad = tokenizer.pad_token_id
        seconds = time.monotonic() - start
        for i, r in enumerate(batch):
            r.text = texts[i]
            r.input_tokens = int(attention_mask[i].sum())
            r.output_tokens = int((generated[i] != pad).sum()) if pad is not None else int(generated.size(1))
            r.seconds = seconds
