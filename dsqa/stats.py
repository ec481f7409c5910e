"""The per-dataset statistics contract: the ``stats`` of each dataset in the JSON report, typed.

Validators build these dicts in ``finish`` (``Validator.metrics``) and every reader (the
reporters, ``dsqa split``, ``dsqa submit``) reads only the keys declared here. They are
TypedDicts, so a stats block is still a plain dict: the JSON report is unchanged, and building
them costs nothing over the dicts they describe.

The keys of ``DatasetStats`` and the validators that publish them:

- ``formats``: the ``format`` validator, records per detected format;
- ``shape``: the ``shape`` validator, examples per message count and messages per role;
- ``tokens``: the ``tokens`` validator, token totals, distributions, epochs and cost;
- ``duplicates``: the ``duplicates`` validator, exact and near duplicates, conflicts, leakage;
- ``diversity``: the ``diversity`` validator, distinct-n, openings, system prompts, lengths.

Each count names what it counts. A dataset's ``records`` (in ``DatasetResult``) is every
non-blank line (or array element) that was read; ``examples`` in a block is the records that
block could use (parsed records of a format it knows), so it may be smaller.
"""

from __future__ import annotations

from typing import TypedDict

# -- tokens ---------------------------------------------------------------------------------------


class HistogramBin(TypedDict):
    """Examples with ``lo <= tokens < hi``."""

    lo: int
    hi: int
    count: int


class Distribution(TypedDict):
    """Nearest-rank percentiles of a per-example count; every value is None without examples."""

    min: int | None
    p10: int | None
    median: int | None
    p90: int | None
    max: int | None


class _TokensBase(TypedDict):
    model: str
    #: True when no model was configured and the default target was used
    model_default: bool
    encoding: str
    max_tokens_per_example: int | None
    #: chat and preference records that were counted (see the module docstring)
    examples: int
    total_tokens: int
    trainable_tokens: int
    #: how the percentiles are taken: always "nearest-rank"
    percentiles: str
    tokens_per_example: Distribution
    messages_per_example: Distribution
    histogram: list[HistogramBin]
    over_limit: int
    images: int
    unsized_images: int
    #: False for a validation file (its tokens are not billed): the billing keys are then absent
    billed: bool


class TokensStats(_TokensBase, total=False):
    """``stats.tokens``; the billing keys are present when ``billed`` is True."""

    #: the counts are an o200k estimate for a model whose tokenizer dsqa does not have
    tokens_estimated: bool
    #: a Together validation file: billed once per evaluation
    billed_per_eval: bool
    epochs: int
    epochs_auto: bool
    billed_tokens_per_epoch: int
    billed_tokens: int
    training_price_per_1m: float | None
    #: None when the model has no known per-token price
    estimated_cost_usd: float | None


# -- duplicates -----------------------------------------------------------------------------------


class ClusterMember(TypedDict):
    line: int
    similarity: float


class Cluster(TypedDict):
    """A near-duplicate cluster: its first line and the other members with their similarity to it."""

    representative: int
    size: int
    members: list[ClusterMember]


class _DuplicatesBase(TypedDict):
    #: records compared (parsed records of a known format)
    records: int
    scope: str
    threshold: float
    exact_duplicates: int
    exact_groups: int
    near_duplicates: int
    #: the number of near-duplicate clusters (their lines are in ``top_clusters``)
    clusters: int
    largest_cluster: int
    candidate_pairs: int
    conflicts: int


class DuplicatesStats(_DuplicatesBase, total=False):
    """``stats.duplicates``; ``top_clusters`` once the near search ran; ``leaked_*`` and
    ``shared_prompts`` for a split checked against earlier ones (validation, test...)."""

    #: the largest clusters, largest first (at most the validator's TOP_CLUSTERS)
    top_clusters: list[Cluster]
    leaked_exact: int
    leaked_near: int
    #: records whose prompt is in an earlier split (DUP007)
    shared_prompts: int


# -- diversity ------------------------------------------------------------------------------------


class Distinct(TypedDict):
    """Distinct unigrams and bigrams per word of the sample; None without words."""

    distinct_1: float | None
    distinct_2: float | None
    #: words in the sample
    words: int


class DistinctByRole(TypedDict):
    user: Distinct
    assistant: Distinct


class Opening(TypedDict):
    text: str
    count: int
    share: float


class SystemPromptCount(TypedDict):
    text: str
    count: int


class _SystemPromptsBase(TypedDict):
    examples_with: int
    #: None when there were more distinct prompts than the validator keeps (``more_than``)
    distinct: int | None
    top: list[SystemPromptCount]


class SystemPrompts(_SystemPromptsBase, total=False):
    more_than: int


class Turns(TypedDict):
    min: int
    mean: float
    max: int
    histogram: dict[str, int]


class LengthSummary(TypedDict):
    min: int
    mean: float
    p50: int
    p90: int
    max: int


class Lengths(TypedDict):
    user_chars: LengthSummary
    assistant_chars: LengthSummary


class DiversityStats(TypedDict):
    """``stats.diversity``."""

    examples: int
    #: examples in the sample that distinct-n and the openings are computed over
    sample_size: int
    distinct: DistinctByRole
    unique_first_user_share: float | None
    assistant_openings: list[Opening]
    system_prompts: SystemPrompts
    turns: Turns
    roles: dict[str, int]
    with_tools_share: float
    with_images_share: float
    lengths: Lengths


# -- shape and formats ----------------------------------------------------------------------------


class ShapeStats(TypedDict):
    """``stats.shape``: examples per number of messages (keys are the counts as text), messages per role."""

    messages: dict[str, int]
    roles: dict[str, int]


class PreferenceStats(TypedDict):
    """``stats.preference``: how the two sides of the pairs compare in length (PRF010)."""

    pairs: int
    #: None without a pair whose outputs both hold text
    preferred_longer_share: float | None
    median_length_ratio: float | None


class DatasetStats(TypedDict, total=False):
    """A dataset's ``stats``: each key is there when its validator ran and had something to say."""

    formats: dict[str, int]
    shape: ShapeStats
    tokens: TokensStats
    duplicates: DuplicatesStats
    diversity: DiversityStats
    preference: PreferenceStats
    #: a file checked in place (see dsqa.sourcemap): the format its records were converted to and checked as
    checked_as: str


def cluster_links(stats: DatasetStats | None) -> list[tuple[int, int]]:
    """(representative line, member line) of every near-duplicate cluster listed in ``stats``."""
    dups = (stats or {}).get("duplicates")
    if not dups:
        return []
    return [(c["representative"], m["line"]) for c in dups.get("top_clusters", []) for m in c["members"]]
