"""Build a tiny, offline, CPU-trained causal LM for run-eval's example benchmark.

The model is a 2-layer Llama with a byte-level BPE tokenizer trained locally on the
training texts; nothing is downloaded. It is trained for a few hundred steps so that it
answers ``examples/arithmetic`` in the formats its scorers expect:

* ``addition``: the user message is ``prompt_template``'s output ("Answer with the number
  only.\\n\\nWhat is 2 + 3?"); the model answers `` 5`` (scored by ``match(numeric=True)``).
* ``comparison``: the user message is Inspect's ``multiple_choice`` single-answer prompt
  (letters A-D, choices shuffled); the model answers `` ANSWER: C`` (``choice()`` scorer).

Prompts are rendered exactly as Inspect's ``hf/`` provider sends them: the chat template
below (whose generation prompt ends in ``assistant:`` with no trailing space, so every
answer starts with a space-prefixed token such as ``Ġ5``) then a plain tokenizer call.
The tokenizer puts one digit per token, so the model learns the order of ten digit tokens
(shared by both tasks) instead of a hundred number tokens; that is what makes comparison
learnable in a few hundred steps. Loss is on the answer tokens (and the end token) only.
* ``quarters``: the same prompt template over "What is 13 divided by 4?"; the model answers
  `` 3.25``. This is the shape of DROP's decimal answers, for ``lint``/``audit``'s fixtures
  (tests/fixtures/lint/drop_like): generated with a ``.`` stop sequence, the answer stops
  at `` 3.``. All 40 items (1..40 divided by 4) are trained on, test items included: what
  the fixture shows is how answers are cut, not how well the model generalises.

The result is a demo model: it answers in the right format nearly always but is often
wrong (seed 0: 67% addition, 47% comparison; other seeds vary; chance is ~5% and 25%).
Load it with ``hf/<path>`` and model arg ``do_sample=False`` (greedy).

Training data never contains the benchmark's test items when ``benchmark_dir`` is given:
the sums in ``data/addition.jsonl`` are left out, and any comparison option set equal to
a test row's is dropped. With ``benchmark_dir=None`` all 100 single-digit sums are used
(nothing is known to exclude).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

# Inspect's multiple_choice single-answer prompt (inspect-ai 0.3.x), copied so that the
# package uses only Inspect's public API; tests check it against the prompts Inspect sends.
SINGLE_ANSWER_TEMPLATE = (
    "Answer the following multiple choice question. The entire content of your "
    "response should be of the following format: 'ANSWER: $LETTER' (without quotes) "
    "where LETTER is one of {letters}.\n\n{question}\n\n{choices}"
)

EOS = "<|end|>"
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
ADDITION_TEMPLATE = "Answer with the number only.\n\n{prompt}"  # eval.yaml's prompt_template
COMPARISON_QUESTION = "Which number is the largest?"
QUARTERS_QUESTION = "What is {a} divided by 4?"
QUARTERS = range(1, 41)
LETTERS = "ABCD"
N_COMPARISON = 3000  # size of the pool of random comparison items
ADD_BATCH, CMP_BATCH, QUARTER_BATCH, JUDGE_BATCH = 16, 32, 16, 32
KINDS = ("answers", "judge")
DEFAULT_STEPS = {"answers": 300, "judge": 800}
JUDGE_LR = 1e-3  # (3e-3 leaves the judge at about 85% right on near misses; 1e-3 for 800 steps: 99%)
LR = 3e-3
HIDDEN, LAYERS = 128, 2
# GPT-2's pre-tokenizer regex with " ?\p{N}" instead of " ?\p{N}+": one digit per token
JUDGE_SPLIT_PATTERN = r"\s+(?!\S)| ?\S+|\s+"
SPLIT_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def _addition_items(benchmark_dir: Path | None) -> list[tuple[str, str]]:
    """(user message, answer) for the single-digit sums not in the benchmark's test file."""
    test: set[str] = set()
    if benchmark_dir is not None:
        lines = (benchmark_dir / "data" / "addition.jsonl").read_text(encoding="utf-8").splitlines()
        test = {json.loads(line)["question"] for line in lines if line.strip()}
    items = []
    for a in range(10):
        for b in range(10):
            question = f"What is {a} + {b}?"
            if question not in test:
                items.append((ADDITION_TEMPLATE.format(prompt=question), f" {a + b}"))
    return items


def quarters_answer(a: int) -> str:
    """``a / 4`` as the quarters task writes it: ``3.25``, ``2.5``, ``10``."""
    return f"{a / 4:g}"


def _quarters_items() -> list[tuple[str, str]]:
    return [(ADDITION_TEMPLATE.format(prompt=QUARTERS_QUESTION.format(a=a)), f" {quarters_answer(a)}")
            for a in QUARTERS]


# the grading prompt of tests/fixtures/judge/hle_like (model_graded_fact's template and
# instructions args), which the tiny judge (kind="judge") learns to answer
JUDGE_TEMPLATE = "Question: {question}\nExpert answer: {criterion}\nSubmission: {answer}\n\n{instructions}"
JUDGE_INSTRUCTIONS = "Reply GRADE: C if the submission gives the expert answer, else GRADE: I."
N_JUDGE = 4000


def _judge_items(rng: random.Random) -> list[tuple[str, str]]:
    """(grading prompt, `` GRADE: C`` or `` GRADE: I``): half the submissions are the expert
    answer (as a model writes it: with a leading space, sometimes a full stop), half are
    not (another number, the answer cut at its decimal point, digits swapped or added, a
    letter, a few words, nothing)."""
    questions = [(f"What is {a} + {b}?", str(a + b)) for a in range(10) for b in range(10)]
    questions += [(QUARTERS_QUESTION.format(a=a), quarters_answer(a)) for a in QUARTERS]
    items = []
    while len(items) < N_JUDGE:
        question, answer = rng.choice(questions)
        if rng.random() < 0.5:
            submission, grade = rng.choice([f" {answer}", answer, f" {answer}\n"]), "C"
        else:
            near = list(answer)
            digits = [i for i, ch in enumerate(near) if ch.isdigit()]
            k = rng.choice(digits)
            near[k] = str((int(near[k]) + rng.choice([1, 2, 8, 9])) % 10)
            wrong = "".join(near) if rng.random() < 0.5 else rng.choice([
                str(rng.randrange(100)), f"{rng.randrange(10)}.{rng.choice([25, 5, 75])}",
                answer.split(".")[0] + "." if "." in answer else answer + "1", answer[::-1], "",
                answer + str(rng.randrange(10)), f"ANSWER: {rng.choice(LETTERS)}", rng.choice(LETTERS),
                rng.choice(["I do not know", "yes", "The answer"]),
            ])
            if wrong == answer:
                continue
            submission, grade = f" {wrong}" if wrong else "", "I"
        prompt = JUDGE_TEMPLATE.format(question=question, criterion=answer, answer=submission,
                                       instructions=JUDGE_INSTRUCTIONS)
        items.append((prompt, f" GRADE: {grade}"))
    return items


def _comparison_items(benchmark_dir: Path | None, rng: random.Random) -> list[tuple[str, str]]:
    """(user message, answer) for fresh random option sets, rendered like ``multiple_choice``."""
    test: set[frozenset[str]] = set()
    if benchmark_dir is not None:
        lines = (benchmark_dir / "data" / "comparison.jsonl").read_text(encoding="utf-8").splitlines()
        test = {frozenset(json.loads(line)["options"]) for line in lines if line.strip()}
    items = []
    while len(items) < N_COMPARISON:
        options = rng.sample(range(100), 4)  # same distribution as make_arithmetic.py
        if frozenset(map(str, options)) in test:
            continue
        choices = "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(options))
        prompt = SINGLE_ANSWER_TEMPLATE.format(
            question=COMPARISON_QUESTION, choices=choices, letters=",".join(LETTERS)
        )
        items.append((prompt, f" ANSWER: {LETTERS[options.index(max(options))]}"))
    return items


def _train_tokenizer(texts: list[str], split_pattern: str = SPLIT_PATTERN, vocab_size: int = 1000
                     ) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on ``texts``, wrapped for transformers with a chat template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split_pattern), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS, model_max_length=256)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def _encode(tokenizer: PreTrainedTokenizerFast, items: list[tuple[str, str]]) -> list[tuple[list[int], int]]:
    """Token ids (prompt as Inspect renders it + answer + EOS) and the prompt length."""
    chats = [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False)
        for p, _ in items
    ]
    prompts = tokenizer(chats)["input_ids"]
    answers = tokenizer([a for _, a in items])["input_ids"]
    return [(p + a + [tokenizer.eos_token_id], len(p)) for p, a in zip(prompts, answers)]


def _batch(examples: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch with labels only on the answer tokens. No attention mask is
    needed: attention is causal, so trailing pads never reach real tokens, and positions
    start at 0 just as ``generate`` derives them from the mask under left padding."""
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, (ids, n_prompt) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
    return {"input_ids": input_ids, "labels": labels}


def _make_model(vocab_size: int, eos_id: int) -> LlamaForCausalLM:
    """A freshly initialised 2-layer Llama (seeded by the caller's torch.manual_seed)."""
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=LAYERS,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
        tie_word_embeddings=True, bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id,
    )
    return LlamaForCausalLM(config)


def _replace_dir(src: Path, dst: Path) -> None:
    """Move the finished ``src`` to ``dst``, replacing whatever ``dst`` held."""
    if dst.exists() or dst.is_symlink():
        old = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.old-"))
        os.replace(dst, old / "x")
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)


RECIPE_FILE = "run-eval-recipe.json"


def recipe(benchmark_dir: Path | None, *, steps: int, seed: int, kind: str = "answers"
           ) -> dict[str, str | int | None]:
    """Everything a build depends on; the same recipe builds the same model (on one torch build)."""
    import tokenizers
    import transformers

    from run_eval.tasks.pins import file_sha256, tree_digest

    data = None
    if benchmark_dir is not None:
        folder = benchmark_dir / "data" if (benchmark_dir / "data").is_dir() else benchmark_dir
        data = tree_digest(folder)
    return {"builder": file_sha256(Path(__file__)), "kind": kind, "benchmark_data": data, "steps": steps, "seed": seed,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__}


def built_from(folder: Path) -> dict | None:
    """The recipe a model folder was built from (None when it has none or is not one)."""
    try:
        return json.loads((folder / RECIPE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build(
    out_dir: str | Path,
    *,
    benchmark_dir: str | Path | None = None,
    steps: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    kind: str = "answers",
) -> Path:
    """Train the tiny model and save it (model + tokenizer) to ``out_dir``; return its path.

    Deterministic for a given ``seed`` (on a given machine and torch build). The folder is
    written beside ``out_dir`` and renamed into place, so a crash never leaves a partial
    model; an existing ``out_dir`` is replaced. ``benchmark_dir`` is the benchmark folder
    (holding ``data/*.jsonl``) whose test items must stay out of training; with ``None``
    all 100 sums are trained on. ``progress`` receives one-line status messages.
    Takes about 35 s for 300 steps on 2 CPU cores (the judge: about 35 s for its 800 steps).

    The folder records its recipe (``RECIPE_FILE``: this builder's code, the benchmark's
    data, steps, seed, and the torch/transformers/tokenizers versions); when ``out_dir``
    already holds a model of the same recipe it is kept as it is, unless ``force``.

    ``kind="judge"`` trains a grader instead: it answers JUDGE_TEMPLATE's grading prompt
    with `` GRADE: C`` when the submission gives the expert answer and `` GRADE: I``
    otherwise, so that a model-graded benchmark can be run offline with a judge that
    really grades (tests/fixtures/judge/hle_like).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    steps = steps if steps is not None else DEFAULT_STEPS[kind]
    if steps < 1:
        raise ValueError("steps must be at least 1")
    say = progress or (lambda _msg: None)
    out = Path(out_dir).resolve()
    bench = Path(benchmark_dir) if benchmark_dir is not None else None
    made_by = recipe(bench, steps=steps, seed=seed, kind=kind)
    if not force and built_from(out) == made_by:
        say(f"{out} was built from this recipe already (same code, data, steps, seed and libraries); kept")
        return out
    rng = random.Random(seed)
    torch.manual_seed(seed)

    if kind == "judge":
        named = {"grading": (_judge_items(rng), JUDGE_BATCH)}
    else:
        named = {"addition": (_addition_items(bench), ADD_BATCH),
                 "comparison": (_comparison_items(bench, rng), CMP_BATCH),
                 "quarters": (_quarters_items(), QUARTER_BATCH)}
    say("training tokenizer on " + " + ".join(f"{len(items)} {name}" for name, (items, _) in named.items())
        + " items")
    # (the texts mirror CHAT_TEMPLATE's rendering so "user"/"assistant" get merged too)
    texts = [f"user: {p}\nassistant:{a}" for items, _ in named.values() for p, a in items]
    # the judge compares two answers: whole words as tokens (so "3.25" is one token, the same
    # in the expert answer and the submission) make that one comparison of two tokens
    tokenizer = _train_tokenizer(texts, JUDGE_SPLIT_PATTERN, 3000) if kind == "judge" else _train_tokenizer(texts)
    pools = [(_encode(tokenizer, items), n) for items, n in named.values()]
    eos = tokenizer.eos_token_id

    model = _make_model(len(tokenizer), eos)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=JUDGE_LR if kind == "judge" else LR, weight_decay=0.01)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    say(f"training {sum(p.numel() for p in model.parameters()):,} parameters for {steps} steps")
    for step in range(steps):
        # one batch per task (their prompts differ in length, so this avoids padding)
        loss = sum(
            model(**_batch([rng.choice(pool) for _ in range(n)], eos)).loss
            for pool, n in pools
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 50 == 0 or step + 1 == steps:
            say(f"step {step + 1}/{steps} loss {loss.item():.4f}")
    model.eval()
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = eos
    model.generation_config.max_new_tokens = 16

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards": a bar for one file
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    tmp.mkdir()  # (unlike mkdtemp, honours the umask)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / RECIPE_FILE).write_text(json.dumps(made_by, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        file_mode = tmp.stat().st_mode & 0o666
        for f in tmp.iterdir():  # some writers leave 0600 files
            f.chmod(file_mode)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"saved to {out}")
    return out
