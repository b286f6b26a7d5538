"""The lint rules (see :data:`findings.RULES`): a task's method checked against its data,
without a model, on exactly the samples a run would evaluate.

Each ``check_*`` function takes what it needs of a task and returns findings. The scorer
rules ask the declared scorer itself (probe.py); the template rules render each sample's
prompt with the declared solvers (render.py) and read templates as Inspect does (Python's
``string.Formatter``, which Inspect's ``format_template`` and ``str.format`` both use).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from string import Formatter
from typing import Any, Callable, Iterable

from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessage

from run_eval.tasks.lint.findings import Finding, SampleRef, finding
from run_eval.tasks.lint.probe import choice_target_problems, expected_answer, probeable, score_answers
from run_eval.tasks.lint.render import render_prompts
from run_eval.tasks.registry import GRADED_SCORERS
from run_eval.tasks.spec import ScorerModel, SolverModel, TaskModel

# templates filled with Inspect's format_template (unknown fields stay as written), with the
# fields each solver provides besides the sample's metadata (None: metadata not available)
SAFE_TEMPLATES: dict[str, tuple[set[str], bool]] = {
    "prompt_template": ({"prompt"}, True),
    "system_message": (set(), True),
    "user_message": (set(), True),
    "chain_of_thought": ({"prompt"}, False),
}
# scorer templates filled with str.format (an unknown field fails the scoring)
GRADER_FIELDS = {"question", "answer", "criterion", "instructions"}


@dataclass(frozen=True)
class ModelLimits:
    """What a model can take and give, in its own tokens (with ``--model``)."""

    model: str
    count_tokens: Callable[[str], int]  # tokens of an answer
    prompt_tokens: Callable[[list[ChatMessage]], int]  # tokens of a prompt, chat template included
    context: int | None  # the model's context length, when known
    max_tokens: int | None  # the run's max_tokens (--max-tokens, else the provider's default)
    max_tokens_from: str  # where max_tokens comes from, for the message


@dataclass(frozen=True)
class TaskData:
    """A task as lint sees it: its method, its samples (with the ids the run gives them)
    and the columns of its split."""

    task_id: str
    method: TaskModel
    samples: list[tuple[str, Sample]]
    columns: tuple[str, ...]


def lint_task(data: TaskData, limits: ModelLimits | None = None) -> list[Finding]:
    rendered = render_prompts(data.samples, data.method.solvers)
    out = [
        *check_samples(data),
        *check_choices(data),
        *check_literal_target(data),
        *check_templates(data, rendered),
        *check_scorers(data),
    ]
    if limits is not None:
        out += check_model_limits(data, rendered, limits)
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(getattr(m, "text", m)) for m in value)
    return "" if value is None else str(value)


def _targets(sample: Sample) -> list[str]:
    return list(sample.target) if isinstance(sample.target, list) else [sample.target]


def check_samples(data: TaskData) -> list[Finding]:
    """Empty inputs and targets, duplicated ids, and the same input with different targets."""
    t = data.task_id
    empty_in = [SampleRef.of(i, s.input) for i, s in data.samples if not _text(s.input).strip()]
    empty_target = [SampleRef.of(i, s.target) for i, s in data.samples
                    if not any(x.strip() for x in _targets(s))]
    ids: dict[str, int] = defaultdict(int)
    for i, _ in data.samples:
        ids[i] += 1
    dup_ids = [SampleRef.of(i, f"{n} samples") for i, n in ids.items() if n > 1]
    by_input: dict[tuple[str, tuple[str, ...]], dict[str, str]] = defaultdict(dict)
    for i, s in data.samples:
        by_input[(_text(s.input), tuple(s.choices or ()))].setdefault("|".join(_targets(s)), i)
    conflicts = [SampleRef.of(",".join(v.values()), " / ".join(v)) for v in by_input.values() if len(v) > 1]
    fs = data.method.field_spec
    return _found(t, [
        ("empty-input", empty_in, f"{_n(empty_in, 'sample')} with an empty input: fix or drop those rows"),
        ("empty-target", empty_target, f"{_n(empty_target, 'sample')} with an empty target (field_spec.target "
                                       f"{fs.target!r}): no answer can be scored right"),
        ("duplicate-id", dup_ids, f"{_n(dup_ids, 'sample id')} used more than once (field_spec.id {fs.id!r}): "
                                  "make ids unique"),
        ("conflicting-targets", conflicts, f"{_n(conflicts, 'input')} with different targets: a model can get "
                                           "at most one of each group right"),
    ])


def _n(items: list[Any], noun: str) -> str:
    """``1 sample``, ``3 samples``."""
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _found(task_id: str, rules: list[tuple[str, list[SampleRef], str]]) -> list[Finding]:
    """A finding for each (rule, samples it touches, message) that touches any sample."""
    return [finding(rule, task_id, hits, message) for rule, hits, message in rules if hits]


def check_choices(data: TaskData) -> list[Finding]:
    if data.method.field_spec.choices is None:
        return []
    t = data.task_id
    few, dups = [], []
    readable = []  # (sample id, choices, target) of the samples the choice scorer can be asked about
    for i, s in data.samples:
        choices = [c.value if hasattr(c, "value") else c for c in (s.choices or [])]
        if len(choices) < 2:
            few.append(SampleRef.of(i, choices))
        if len(set(map(str, choices))) < len(choices):
            dups.append(SampleRef.of(i, choices))
        if choices:
            readable.append((i, [str(c) for c in choices], s.target))
    # the choice scorer itself says which targets it cannot read (Inspect accepts "b", "A,C",
    # ["A", "C"] and numeric labels 1, 2, ... for the 27th choice on)
    problems = choice_target_problems([(c, x) for _, c, x in readable])
    out_of_range = [SampleRef.of(i, f"target {x!r} of {len(c)} choices")
                    for (i, c, x), why in zip(readable, problems) if why]
    first_why = next((why for why in problems if why), "")
    return _found(t, [
        ("too-few-choices", few, f"{_n(few, 'sample')} with fewer than two choices"),
        ("duplicate-choices", dups, f"{_n(dups, 'sample')} listing the same choice twice: the copy that is not "
                                    "the target is scored wrong"),
        ("choice-target-out-of-range", out_of_range,
         f"{_n(out_of_range, 'target')} the choice scorer cannot read ({first_why}): scoring fails on them; "
         "check field_spec.target"),
    ])


def check_literal_target(data: TaskData) -> list[Finding]:
    target = data.method.field_spec.target
    name = target.removeprefix("literal:")
    if not target.startswith("literal:") or name not in data.columns:
        return []
    first = data.samples[0] if data.samples else None
    hits = [SampleRef.of(first[0], name)] if first else []
    return [finding("literal-target-is-column", data.task_id, hits,
                    f"field_spec.target {target!r} is the same text for every sample, and {name!r} is also a "
                    f"column: write target: {name} to use the column")]


def template_fields(template: str) -> list[tuple[str, str, str | None]]:
    """(field name, format spec, conversion) of each ``{...}`` Python's formatter finds.

    >>> template_fields("{narrative}\\n\\n{prompt} {{literal}} {a!r}")
    [('narrative', '', None), ('prompt', '', None), ('a', '', 'r')]
    """
    return [(name, spec or "", conv) for _, name, spec, conv in Formatter().parse(template) if name is not None]


def _root(field: str) -> str:
    return field.split(".", 1)[0].split("[", 1)[0]


def check_templates(data: TaskData, rendered: list[list[ChatMessage] | Exception]) -> list[Finding]:
    """Prompts that cannot be rendered, then each prompt-building solver's template and each
    grader's template read field by field."""
    t = data.task_id
    out: list[Finding] = []
    failed = [(i, r) for (i, _), r in zip(data.samples, rendered) if isinstance(r, Exception)]
    if failed:
        first = failed[0][1]
        out.append(finding("template-invalid", t, [SampleRef.of(i, f"{type(e).__name__}: {e}") for i, e in failed],
                           f"{len(failed)} samples' prompts cannot be rendered ({type(first).__name__}: {first}): "
                           "the run would fail on them; write literal braces as {{ and }}"))
    for j, solver in enumerate(data.method.solvers):
        template = solver.args.get("template")
        if solver.name in SAFE_TEMPLATES and isinstance(template, str):
            out += _solver_template(data, f"solvers[{j}] ({solver.name}) template", solver, template, rendered)
    for j, scorer in enumerate(data.method.scorers):
        template = scorer.args.get("template")
        if scorer.name in GRADED_SCORERS and isinstance(template, str):
            out += _grader_template(data, f"scorers[{j}] ({scorer.name}) template", template)
    return out


def _solver_template(data: TaskData, where: str, solver: SolverModel, template: str,
                     rendered: list[list[ChatMessage] | Exception]) -> list[Finding]:
    """A template Inspect fills with ``format_template``: an unknown field stays as written, so
    a ``{word}`` no sample provides is at most a warning (it may be meant literally)."""
    t = data.task_id
    try:
        fields = template_fields(template)
    except ValueError:
        return []  # every sample's rendering failed: template-invalid
    given, with_metadata = SAFE_TEMPLATES[solver.name]
    params = set(solver.args) - {"template"}
    out = []
    if solver.name == "prompt_template" and "prompt" not in {_root(f) for f, _, _ in fields}:
        out += _no_prompt(data, where, {_root(f) for f, _, _ in fields} - params, rendered)
    for name, spec, conv in fields:
        root = _root(name)
        if root in given or root in params:
            continue
        if not root.isidentifier():
            if spec or conv:
                shown = "{" + name + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
                out.append(finding("template-literal-brace", t, [],
                                   f"{where}: {shown!r} is read as a field and its text changes; write "
                                   "literal braces as {{ and }}"))
            continue  # e.g. "{your reasoning}": kept as written by Inspect
        lacking = [SampleRef.of(i, sorted(s.metadata or {})) for i, s in data.samples
                   if not with_metadata or (s.metadata or {}).get(root) is None]
        if not lacking:
            continue
        every = len(lacking) == len(data.samples)
        out.append(finding(
            "template-field-missing", t, lacking,
            f"{where}: {{{name}}} is {'in no' if every else f'missing from {len(lacking)}'} sample's metadata"
            f"{'' if with_metadata else f' ({solver.name} fills only {{prompt}})'}, so the model sees "
            f"'{{{name}}}' as written: if it is not meant literally, add {root!r} to field_spec.metadata"))
    return out


def _no_prompt(data: TaskData, where: str, fields: set[str],
               rendered: list[list[ChatMessage] | Exception]) -> list[Finding]:
    """A prompt_template without {prompt}. Inspect fills its other fields from the sample's
    metadata, so the input may still reach the model (``Q: {question}`` with ``question`` in
    field_spec.metadata). An error only when every sample gets the same prompt."""
    t = data.task_id
    prompts = {tuple((m.role, m.text) for m in r) for r in rendered if isinstance(r, list)}
    filled = {f for f in fields for _, s in data.samples if (s.metadata or {}).get(f) is not None}
    same = len(prompts) == 1 and len(rendered) > 1
    if same or (not filled and len(rendered) <= 1):
        return [finding("template-no-prompt", t, [], f"{where} has no {{prompt}} and nothing of the sample fills "
                        "it: every sample gets the same prompt and no input reaches the model; add {prompt}")]
    carries_input = [f for f in sorted(filled)
                     if all(str((s.metadata or {}).get(f)) == _text(s.input) for _, s in data.samples)]
    if carries_input:
        return []
    got = f"the metadata fields {', '.join(sorted(filled))}" if filled else "what other solvers add"
    return [finding("template-no-prompt", t, [], f"{where} has no {{prompt}}: the model gets {got} but not the "
                    "sample's input; add {prompt} if it is meant to", severity="warning")]


def _grader_template(data: TaskData, where: str, template: str) -> list[Finding]:
    """A grader's template, filled with ``str.format``: an unknown field fails the grading."""
    t = data.task_id
    try:
        fields = template_fields(template)
    except ValueError as ex:
        return [finding("template-invalid", t, [], f"{where}: {ex}: every sample's grading would fail")]
    out = []
    for name, _, _ in fields:
        root = _root(name)
        lacking = [SampleRef.of(i, sorted(s.metadata or {})) for i, s in data.samples
                   if root not in GRADER_FIELDS and root not in (s.metadata or {})]
        if lacking:
            rule = "template-field-missing" if root.isidentifier() else "template-invalid"
            out.append(finding(rule, t, lacking, f"{where}: {{{name}}} is not a grader field "
                               f"({', '.join(sorted(GRADER_FIELDS))}) nor in {len(lacking)} samples' metadata: "
                               "grading fails (KeyError); write literal braces as {{ and }}", severity="error"))
    return out


def stop_sequences(solvers: Iterable[SolverModel]) -> list[str]:
    """The stop sequences of the task's generate config (from its generate solvers)."""
    out: list[str] = []
    for s in solvers:
        if s.name == "generate":
            out += [x for x in s.args.get("stop_seqs") or [] if isinstance(x, str) and x]
    return list(dict.fromkeys(out))


def check_scorers(data: TaskData) -> list[Finding]:
    out: list[Finding] = []
    stops = stop_sequences(data.method.solvers)
    for j, scorer in enumerate(data.method.scorers):
        if probeable(scorer.name):
            out += _probe_scorer(data, j, scorer, stops)
        elif scorer.name == "choice":
            out += _choice_stops(data, stops)
        elif stops:
            hits = [(i, x, s) for i, smp in data.samples for x in _targets(smp) for s in stops if s in x.strip()]
            if hits:
                out.append(finding("stop-in-target-unchecked", data.task_id,
                                   [SampleRef.of(i, x) for i, x, _ in hits],
                                   f"stop sequence {hits[0][2]!r} occurs inside {len(hits)} targets; the "
                                   f"{scorer.name} scorer cannot be checked offline: answers may be cut there"))
    return out


def _choice_stops(data: TaskData, stops: list[str]) -> list[Finding]:
    out = []
    for stop in stops:
        cut = [SampleRef.of(i, f"ANSWER: {x}") for i, s in data.samples for x in _targets(s)
               if stop in f"ANSWER: {x.strip()}"]
        if cut:
            out.append(finding("stop-in-target", data.task_id, cut,
                               f"stop sequence {stop!r} cuts the answer line 'ANSWER: <letter>' that the choice "
                               f"scorer reads, in {len(cut)} samples: remove it from generate's stop_seqs"))
    return out


def _probe_scorer(data: TaskData, j: int, scorer: ScorerModel, stops: list[str]) -> list[Finding]:
    t, name = data.task_id, scorer.name
    where = f"scorers[{j}] ({name})"
    rows = [(i, x) for i, s in data.samples for x in _targets(s) if x.strip()]
    full = [expected_answer(name, x) for _, x in rows]
    items = [(a, x) for a, (_, x) in zip(full, rows)] + [("", x) for _, x in rows]
    cuts: list[tuple[int, str, str]] = []  # (row, stop, cut answer)
    for k, a in enumerate(full):
        for stop in stops:
            at = a.find(stop)
            if at >= 0:
                # a provider may keep the stop sequence in the answer or drop it: the cut scores
                # lower only if both forms do
                cuts += [(k, stop, a[:at]), (k, stop, a[: at + len(stop)])]
    items += [(c, rows[k][1]) for k, _, c in cuts]
    scores = score_answers(name, scorer.args, items)
    right, empty, cut_scores = scores[: len(rows)], scores[len(rows): 2 * len(rows)], scores[2 * len(rows):]
    out = []
    unscorable = [SampleRef.of(i, x) for (i, x), v in zip(rows, right) if math.isnan(v) or v < 1.0]
    if unscorable:
        out.append(finding("target-unscorable", t, unscorable,
                           f"{where}: {len(unscorable)} targets are scored wrong even when the answer is the target "
                           f"itself (as {expected_answer(name, '<target>')!r}): the scorer's normalisation removes "
                           "or cannot read them; fix those targets or choose another scorer"))
    anything = [SampleRef.of(i, x) for (i, x), v in zip(rows, empty) if not math.isnan(v) and v >= 1.0]
    if anything:
        out.append(finding("target-matches-anything", t, anything,
                           f"{where}: {len(anything)} targets are scored right for an empty answer: every model "
                           "gets them; fix those targets"))
    by_stop: dict[str, dict[int, str]] = defaultdict(dict)
    for n in range(0, len(cuts), 2):
        k, stop, kept = cuts[n + 1]
        best = max(cut_scores[n], cut_scores[n + 1])
        if not math.isnan(right[k]) and right[k] >= 1.0 and not best >= right[k]:
            by_stop[stop][k] = kept
    for stop, cut in by_stop.items():
        hits = [SampleRef.of(rows[k][0], f"{rows[k][1]} -> {kept}") for k, kept in cut.items()]
        out.append(finding("stop-in-target", t, hits,
                           f"stop sequence {stop!r} (generate's stop_seqs) cuts {len(hits)} of {len(rows)} targets, "
                           f"and the {name} scorer scores the cut answer wrong: remove {stop!r} from stop_seqs"))
    return out


def check_model_limits(data: TaskData, rendered: list[list[ChatMessage] | Exception],
                       limits: ModelLimits) -> list[Finding]:
    t = data.task_id
    out = []
    configured = [s.args.get("max_tokens") for s in data.method.solvers
                  if s.name == "generate" and isinstance(s.args.get("max_tokens"), int)]
    max_tokens, source = (configured[-1], "the eval.yaml's generate max_tokens") if configured else \
        (limits.max_tokens, limits.max_tokens_from)
    scorer = data.method.scorers[0].name
    fmt = (lambda x: expected_answer(scorer, x)) if probeable(scorer) else \
        (lambda x: f"ANSWER: {x}") if scorer == "choice" else (lambda x: x)
    if max_tokens is not None and scorer not in GRADED_SCORERS:  # a judge's targets are criteria, not answers
        long = [(i, x, limits.count_tokens(fmt(x))) for i, s in data.samples for x in _targets(s)]
        long = [(i, x, n) for i, x, n in long if n > max_tokens]
        if long:
            worst = max(n for _, _, n in long)
            out.append(finding("max-tokens-below-target", t, [SampleRef.of(i, f"{n} tokens: {x}") for i, x, n in long],
                               f"max_tokens {max_tokens} ({source}) is below {len(long)} answers in {limits.model}'s "
                               f"tokens (longest {worst}): raise max_tokens"))
    if limits.context is not None:
        over = []
        for (i, _), msgs in zip(data.samples, rendered):
            if isinstance(msgs, list):
                n = limits.prompt_tokens(msgs)
                if n > limits.context:
                    over.append(SampleRef.of(i, f"{n} tokens"))
        if over:
            out.append(finding("prompt-exceeds-context", t, over,
                               f"{len(over)} prompts are longer than {limits.model}'s context of {limits.context} "
                               "tokens: they would be cut or fail"))
    return out
