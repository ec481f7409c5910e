"""Read a run's loss and accuracy curves and report what they say (TRN findings) in dsqa's report model."""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import DsqaError
from ..model import DatasetResult, Finding, Report, Severity
from ..reporters.text import STAT_BLOCKS
from ..validators.base import Code, Validator

Point = tuple[int, float]

#: fewer training steps than this cannot show a trend, and rarely move a model far from its base
MIN_STEPS = 30
#: OpenAI's epoch heuristic aims at this many examples seen (examples x epochs) at least
MIN_EXAMPLES_SEEN = 100
#: "not decreasing": the second half's mean training loss is above this fraction of the first half's
FLAT_RATIO = 0.95
#: overfitting: validation loss ends at least this much (relative) above its lowest point
OVERFIT_RISE = 0.10
#: a spike: at least SPIKE_FACTOR times the running median, and above it by SPIKE_ABSOLUTE and by
#: SPIKE_NOISE times the window's median absolute deviation
SPIKE_FACTOR, SPIKE_ABSOLUTE, SPIKE_NOISE, SPIKE_WINDOW = 2.0, 0.5, 5.0, 10
#: divergence: the last tenth's mean is this many times the lowest smoothed training loss
DIVERGE_FACTOR = 1.5
#: memorisation: smoothed training loss below this within the first EARLY fraction of the run
NEAR_ZERO, EARLY = 0.05, 1 / 3
#: the prompt-response dataset guidance OpenAI gives for a first run
SUGGESTED_EXAMPLES = "50 to 100"


class TrainingCurves(Validator):
    """Training-curve diagnosis: reads a fine-tuning run's loss and accuracy by step.

    Not a dataset validator (it never runs in `dsqa check`): it is the one home of the TRN codes'
    documentation, which `dsqa diagnose --explain CODE` prints like `dsqa rules CODE` does.
    """

    name = "training"
    codes: ClassVar[dict[str, Code]] = {
        "TRN001": Code(
            Severity.WARNING,
            "training loss is not decreasing",
            why="""
                Compares the mean training loss over the second half of the run with the mean over
                its first half. A model that learns from its data lowers its training loss; when the
                second half is not at least 5% lower, the run did not learn what the examples teach.
                Check that the assistant replies carry the behaviour you want (and are not all
                weight 0), that the prompts are not random with respect to the replies, and try a
                higher learning-rate multiplier or more epochs.
            """,
            failing="A 100-step run whose training loss stays around 2.0 from start to end.",
            passing="A 100-step run whose training loss falls from 2.0 to 0.6.",
        ),
        "TRN002": Code(
            Severity.WARNING,
            "validation loss rises while training loss falls (overfitting)",
            why="""
                Finds the lowest point of the validation loss (the full validation loss at each
                epoch's end when the results file has it, else the per-step validation loss
                smoothed) and reports when the loss ends at least 10% above it while the training
                loss kept falling. The model then learns the training examples rather than the task.
                Train for the number of epochs at which validation loss was lowest (the finding
                names it), use that epoch's checkpoint, or add more varied examples.
            """,
            failing="Validation loss falls to 0.40 at step 60 (epoch 2 of 5) and climbs to 0.70 by step 150 while training loss reaches 0.05.",
            passing="Validation loss falls with the training loss and levels off at 0.45.",
        ),
        "TRN003": Code(
            Severity.WARNING,
            "training loss spikes",
            why="""
                A step whose training loss is at least twice the median of the ten steps before it,
                and above it by at least 0.5 and by five times those steps' median absolute
                deviation (so ordinary batch-to-batch noise is not a spike), is a spike. Spikes come from a learning rate too high for
                the data, or from outlier examples (very long, malformed or off-topic ones). Lower
                the learning-rate multiplier, and look at the examples `dsqa check` flags.
            """,
            failing="A training loss around 0.8 that jumps to 3.5 at step 40 and again at step 75.",
            passing="A training loss that falls smoothly, with step-to-step noise of 0.1.",
        ),
        "TRN004": Code(
            Severity.ERROR,
            "training loss diverges",
            why="""
                The training loss ends (mean of the last tenth of the run) at least 1.5 times above
                its lowest smoothed value, or a loss is not a number. The optimiser overshoots: the
                model gets worse the longer it trains. Lower the learning-rate multiplier (halve it)
                and train again; the model of this run should not be used.
            """,
            failing="A training loss that falls to 0.5 by step 30 and climbs to 2.5 by step 100.",
            passing="A training loss that falls to 0.5 and stays there.",
        ),
        "TRN005": Code(
            Severity.WARNING,
            "training loss near zero early (memorisation)",
            why="""
                The smoothed training loss drops below 0.05 within the first third of the run. So
                low a loss so early means the model reproduces its training replies word for word:
                usually the data repeats itself (exact or near duplicates, one template) or is too
                small. The finding gives the training file's duplicate figures when the ledger knows
                the file. Remove duplicates (`dsqa clean`), vary the examples, or train fewer epochs.
            """,
            failing="A 90-step run whose training loss is 0.01 from step 12 on.",
            passing="A 90-step run whose training loss reaches 0.3 at the end.",
        ),
        "TRN006": Code(
            Severity.WARNING,
            "too few training steps for the data",
            why="""
                The run took fewer than 30 training steps, or (when the ledger knows the training
                file and the epochs) showed the model fewer than 100 examples in all. Curves this
                short say little, and so little training rarely changes the model much. Add examples
                (50 to 100 well-crafted ones are a good start) or train more epochs.
            """,
            failing="A 10-example file trained for 1 epoch: 10 steps.",
            passing="A 100-example file trained for 3 epochs: 300 steps.",
        ),
    }


CODES = TrainingCurves.codes


@dataclass
class Series:
    """A run's metrics by step, from any backend: each list holds (step, value) in step order."""

    train_loss: list[Point] = field(default_factory=list)
    valid_loss: list[Point] = field(default_factory=list)
    train_accuracy: list[Point] = field(default_factory=list)
    valid_accuracy: list[Point] = field(default_factory=list)
    #: validation over the whole validation file, computed at each epoch's end (OpenAI)
    full_valid_loss: list[Point] = field(default_factory=list)

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]], where: str) -> Series:
        """A series from results-file rows or metric rows (by name; blank or missing cells are steps without that metric)."""
        out = cls()
        columns = {
            "train_loss": out.train_loss, "valid_loss": out.valid_loss, "train_mean_token_accuracy": out.train_accuracy,
            "valid_mean_token_accuracy": out.valid_accuracy, "full_valid_loss": out.full_valid_loss,
        }
        for n, row in enumerate(rows, start=2):
            try:
                step = int(float(str(row.get("step", "")).strip()))
            except ValueError:
                raise DsqaError(f"{where}: line {n}: step {row.get('step')!r} is not a number") from None
            for key, points in columns.items():
                cell = str(row.get(key) if row.get(key) is not None else "").strip()
                if not cell:
                    continue
                try:
                    points.append((step, float(cell)))
                except ValueError:
                    raise DsqaError(f"{where}: line {n}: {key} {cell!r} is not a number") from None
        for points in columns.values():
            points.sort(key=lambda p: p[0])
        if not out.train_loss:
            raise DsqaError(f"{where}: no training loss in the results (expected a train_loss column with numbers)")
        return out

    @property
    def steps(self) -> int:
        return self.train_loss[-1][0] if self.train_loss else 0

    def rows(self) -> list[dict[str, str]]:
        """The series as results-file rows (what the chart code draws)."""
        by_step: dict[int, dict[str, str]] = {}
        for key, points in (("train_loss", self.train_loss), ("valid_loss", self.valid_loss)):
            for step, value in points:
                by_step.setdefault(step, {"step": str(step)})[key] = repr(value)
        return [by_step[s] for s in sorted(by_step)]


@dataclass(frozen=True)
class RunFacts:
    """What is known about the run besides its curves (from the job, the ledger or flags); all optional."""

    epochs: int | None = None
    #: the training file as the ledger knows it, its record count and its `duplicates` stats
    train_path: str | None = None
    examples: int | None = None
    duplicates: dict[str, Any] | None = None


def _mean(points: Sequence[Point]) -> float:
    return statistics.fmean(v for _, v in points)


def _smooth(points: Sequence[Point], window: int = 3) -> list[Point]:
    """Centred moving average (the per-step losses are computed on one small batch each)."""
    half = window // 2
    out = []
    for i, (step, _) in enumerate(points):
        part = points[max(0, i - half):i + half + 1]
        out.append((step, _mean(part)))
    return out


def _num(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"


def _steps(n: int) -> str:
    return f"{n:,} step" + ("" if n == 1 else "s")


class _Epochs:
    """Maps a step to its epoch: from epoch-end validations, else from the epoch count."""

    def __init__(self, series: Series, facts: RunFacts) -> None:
        self.ends = [s for s, _ in series.full_valid_loss]
        self.total = series.steps
        self.epochs = facts.epochs or (len(self.ends) if len(self.ends) >= 2 and self.ends[-1] == self.total else None)

    def of(self, step: int) -> int | None:
        if len(self.ends) >= 2:
            return next((i + 1 for i, end in enumerate(self.ends) if step <= end), len(self.ends))
        if self.epochs and self.total:
            per = self.total / self.epochs
            return max(1, min(self.epochs, math.ceil(step / per - 1e-9)))
        return None


def diagnose(series: Series, facts: RunFacts | None = None, *, subject: str = "run") -> list[Finding]:
    """Every TRN finding the curves show; ``subject`` (the job id or file) is the findings' path."""
    facts = facts or RunFacts()
    found: list[Finding] = []

    def add(code: str, message: str, hint: str, data: dict[str, Any]) -> None:
        found.append(Finding(code, CODES[code].severity, message, TrainingCurves.name, subject, hint=hint, data=data))

    train = series.train_loss
    steps = series.steps
    epochs = _Epochs(series, facts)
    bad = [(s, v) for s, v in train if not math.isfinite(v)]
    finite = [(s, v) for s, v in train if math.isfinite(v)]
    if bad:
        add("TRN004", f"training loss is not a number at {_steps(len(bad))}, first at step {bad[0][0]:,}",
            "lower the learning-rate multiplier (halve it) and train again; do not use this run's model",
            {"first_step": bad[0][0], "steps": len(bad)})

    if steps < MIN_STEPS or _too_little_data(facts):
        seen = facts.examples * facts.epochs if facts.examples and facts.epochs else None
        about = f" on {facts.examples:,} training example" + ("" if facts.examples == 1 else "s") if facts.examples else ""
        why = f"; the model saw {seen:,} examples in all" if seen is not None and seen < MIN_EXAMPLES_SEEN else ""
        add("TRN006", f"the run took {_steps(steps)}{about}{why}: too few to learn much or to judge the curves",
            f"add examples ({SUGGESTED_EXAMPLES} well-crafted ones are a good start) or train more epochs (--epochs)",
            {"steps": steps, "examples": facts.examples, "epochs": facts.epochs, "min_steps": MIN_STEPS})
    if len(finite) < 4:
        return found

    diverged = _divergence(finite, add, bad)
    _spikes(finite, add)
    if not diverged:
        _flat(finite, add)
    _overfitting(series, finite, epochs, add)
    _memorisation(series, finite, facts, add)
    return found


def _too_little_data(facts: RunFacts) -> bool:
    return bool(facts.examples and facts.epochs and facts.examples * facts.epochs < MIN_EXAMPLES_SEEN)


def _divergence(train: list[Point], add: Any, bad: list[Point]) -> bool:
    # the window grows with the run so that one lucky batch is not taken for the lowest loss
    smooth = _smooth(train, max(5, len(train) // 10))
    low_step, low = min(smooth, key=lambda p: p[1])
    tail = train[-max(1, len(train) // 10):]
    end = _mean(tail)
    if bad or low <= 0 or end < DIVERGE_FACTOR * low or low_step >= tail[0][0]:
        return bool(bad)
    add("TRN004", f"training loss diverges: it fell to {_num(low)} at step {low_step:,} and ends at {_num(end)} "
        f"(mean of the last {_steps(len(tail))})",
        "lower the learning-rate multiplier (halve it, e.g. --learning-rate-multiplier 0.5 after a default run) and train again",
        {"lowest": low, "lowest_step": low_step, "end": end})
    return True


def _spikes(train: list[Point], add: Any) -> None:
    spikes: list[tuple[int, float, float]] = []
    for i in range(3, len(train)):
        before = [v for _, v in train[max(0, i - SPIKE_WINDOW):i]]
        median = statistics.median(before)
        # per-step losses come from one batch each: a jump must stand out from that batch-to-batch noise
        noise = SPIKE_NOISE * statistics.median(abs(v - median) for v in before)
        step, value = train[i]
        if value >= SPIKE_FACTOR * median and value - median >= max(SPIKE_ABSOLUTE, noise):
            spikes.append((step, value, median))
    if not spikes:
        return
    step, value, median = max(spikes, key=lambda s: s[1] - s[2])
    times = "once" if len(spikes) == 1 else "twice" if len(spikes) == 2 else f"{len(spikes):,} times"
    add("TRN003", f"training loss spikes {times}; the largest at step {step:,}: {_num(value)} against a running median of {_num(median)}",
        "lower the learning-rate multiplier (e.g. --learning-rate-multiplier 0.5) and look for outlier examples with `dsqa check`",
        {"spikes": [s for s, _, _ in spikes], "largest_step": step, "largest": value, "median": median})


def _flat(train: list[Point], add: Any) -> None:
    half = len(train) // 2
    first, second = train[:half], train[half:]
    a, b = _mean(first), _mean(second)
    if b <= FLAT_RATIO * a:
        return
    add("TRN001", f"training loss is not decreasing: its mean is {_num(b)} over steps {second[0][0]:,}–{second[-1][0]:,} "
        f"against {_num(a)} over steps {first[0][0]:,}–{first[-1][0]:,}",
        "check that the replies teach what you want (and are not all weight 0); try a higher learning-rate multiplier or more epochs",
        {"first_half_mean": a, "second_half_mean": b})


def _overfitting(series: Series, train: list[Point], epochs: _Epochs, add: Any) -> None:
    full, valid = _valid_curve(series)
    if len(valid) < 3:
        return
    low_step, low = min(valid, key=lambda p: p[1])
    end_step, end = valid[-1]
    if low_step == end_step or low <= 0 or end < (1 + OVERFIT_RISE) * low:
        return
    near = [v for s, v in train if s <= low_step][-3:] or [train[0][1]]
    after = [v for s, v in train if s > low_step]
    if not after or statistics.fmean(after[-3:]) >= statistics.fmean(near):
        return
    which = "full validation loss" if full else "validation loss"
    epoch, at, hint = _overfit_advice(series, epochs, low_step)
    add("TRN002", f"overfitting: {which} was lowest at {at}: {_num(low)}, and rose to {_num(end)} by step {end_step:,} "
        f"while training loss fell to {_num(statistics.fmean(after[-3:]))}",
        hint, {"lowest_step": low_step, "lowest": low, "epoch": epoch, "end_step": end_step, "end": end, "suggested_epochs": epoch})


def _valid_curve(series: Series) -> tuple[bool, list[Point]]:
    """The validation curve to judge: the full validation loss when it has 3 points, else the smoothed per-step one."""
    full = len(series.full_valid_loss) >= 3
    valid = series.full_valid_loss if full else _smooth(series.valid_loss, 5)
    return full, [(s, v) for s, v in valid if math.isfinite(v)]


def _overfit_advice(series: Series, epochs: _Epochs, low_step: int) -> tuple[int | None, str, str]:
    """The epoch of the lowest validation loss, where that is in words, and the hint."""
    epoch = epochs.of(low_step)
    at = f"step {low_step:,}" + (f" (epoch {epoch:,} of {epochs.epochs:,})" if epoch and epochs.epochs else f" (epoch {epoch:,})" if epoch else "")
    if epoch:
        hint = (f"train {epoch:,} epoch" + ("" if epoch == 1 else "s") + f" (--epochs {epoch}), or use the checkpoint nearest step {low_step:,}; "
                "more varied examples also help")
    else:
        hint = f"train fewer epochs (validation loss was lowest at step {low_step:,} of {series.steps:,}; pass --epochs N to name the epoch) or add varied examples"
    return epoch, at, hint


def _memorisation(series: Series, train: list[Point], facts: RunFacts, add: Any) -> None:
    smooth = _smooth(train, 3)
    limit = train[0][0] + (series.steps - train[0][0]) * EARLY
    hit = next(((s, v) for s, v in smooth if v < NEAR_ZERO), None)
    if hit is None or hit[0] > limit:
        return
    step = hit[0]
    accuracy = next((v for s, v in series.train_accuracy if s >= step), None)
    acc = f", training token accuracy {accuracy:.0%}" if accuracy is not None else ""
    dups = facts.duplicates or {}
    data: dict[str, Any] = {"step": step, "loss": hit[1], "share_of_run": step / series.steps}
    if facts.train_path and dups:
        exact, near, conflicts = (int(dups.get(k) or 0) for k in ("exact_duplicates", "near_duplicates", "conflicts"))
        records = f" of {facts.examples:,} records" if facts.examples else ""
        dup = "duplicate" if exact + near == 1 else "duplicates"
        answers = "answer" if conflicts == 1 else "answers"
        hint = (f"the training file {facts.train_path} has {exact:,} exact and {near:,} near {dup}{records} and {conflicts:,} "
                f"conflicting {answers}; remove them (`dsqa clean {facts.train_path}`), vary the examples or train fewer epochs")
        data["duplicates"] = {"path": facts.train_path, "exact": exact, "near": near, "conflicts": conflicts, "records": facts.examples}
    else:
        where = facts.train_path or "the training file"
        hint = f"look for duplicates in {where} (`dsqa check FILE --select DUP`), vary the examples or train fewer epochs"
    add("TRN005", f"training loss is near zero early: {_num(hit[1])} by step {step:,} of {series.steps:,} "
        f"({step / series.steps:.0%} of the run{acc}); the model is memorising its training examples", hint, data)


# -- reports -----------------------------------------------------------------------------------

FORMAT = "training metrics, a record per step"


def build_report(series: Series, findings: list[Finding], subject: str, fail_on: str = "error") -> Report:
    """The findings as a dsqa Report, with the curves' summary as the dataset's stats."""
    from .. import __version__

    stats: dict[str, Any] = {"training": summary(series)}
    return Report(findings=sorted(findings, key=Finding.sort_key), datasets=[DatasetResult(subject, FORMAT, series.steps, stats)],
                  fail_on=fail_on, version=__version__, validators=[TrainingCurves.name])


def summary(series: Series) -> dict[str, Any]:
    """Numbers the reports show under the findings."""
    out: dict[str, Any] = {"steps": series.steps}
    finite = [p for p in series.train_loss if math.isfinite(p[1])]
    if finite:
        out["train_loss_first"], out["train_loss_last"] = finite[0][1], finite[-1][1]
    valid = series.full_valid_loss or series.valid_loss
    if valid:
        step, low = min(valid, key=lambda p: p[1])
        out["valid_loss_lowest"], out["valid_loss_lowest_step"] = low, step
    if series.train_accuracy:
        out["train_accuracy_last"] = series.train_accuracy[-1][1]
    return out


def _block(stats: dict[str, Any], records: int | None = None) -> list[str]:
    parts = [f"training: {_steps(int(stats.get('steps', 0)))}"]
    if "train_loss_first" in stats:
        parts.append(f"training loss {_num(stats['train_loss_first'])} -> {_num(stats['train_loss_last'])}")
    if "valid_loss_lowest" in stats:
        parts.append(f"lowest validation loss {_num(stats['valid_loss_lowest'])} at step {stats['valid_loss_lowest_step']:,}")
    if "train_accuracy_last" in stats:
        parts.append(f"final training token accuracy {stats['train_accuracy_last']:.0%}")
    return ["; ".join(parts)]


STAT_BLOCKS["training"] = _block


def loss_chart(series: Series, title: str) -> str:
    """The loss chart as inline SVG; the one place this module calls the shared chart code."""
    from .track import loss_svg

    return loss_svg(series.rows(), title)


def render(fmt: str, report: Report, series: Series, title: str) -> str:
    """The report in text, json, markdown or html (html gets the loss chart above the findings)."""
    from ..reporters import render as render_report

    buf = io.StringIO()
    render_report(fmt, report, buf)
    text = buf.getvalue()
    if fmt == "html":
        svg = loss_chart(series, title).replace('<?xml version="1.0"?>', "")
        figure = f'<h2>Loss curves</h2><figure class="loss">{svg}</figure>\n'
        marker = "<h2>Findings</h2>"
        text = text.replace(marker, figure + marker, 1) if marker in text else text.replace("</body>", figure + "</body>", 1)
    return text


def explain(code: str) -> str:
    """`dsqa rules`-style documentation of one TRN code."""
    from ..ruledoc import code_doc

    wanted = code.strip().upper()
    if wanted not in CODES:
        raise DsqaError(f"unknown training code {code!r} (known: {', '.join(CODES)})")
    return code_doc(wanted, CODES[wanted], TrainingCurves)


def brief(findings: list[Finding]) -> list[str]:
    """The diagnosis as a few lines for the end of `dsqa watch` and `dsqa metrics`."""
    if not findings:
        return ["diagnosis: the loss curves show no problem"]
    lines = ["diagnosis:"]
    for f in sorted(findings, key=lambda f: (-f.severity, f.code)):
        lines.append(f"  {f.code} {f.severity} {f.message}")
        if f.hint:
            lines.append(f"    hint: {f.hint}")
    return lines
