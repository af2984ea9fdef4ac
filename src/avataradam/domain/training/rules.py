"""The `rules` scorer: phrase patterns plus embedding similarity, deterministic.

For every check of the rubric (`domain.training.rubrics` says what each field means) a
trainee sentence *matches* when, on its masked text (`domain.training.speech`):

1. one of the check's `patterns` matches and, for a `negatable` check, no negation
   precedes the match in its clause; or the sentence's embedding (the `Embedder` as
   queries: e5's symmetric recipe) is at least `threshold` similar (dot product of unit
   vectors) to one of the check's `exemplars` and, for a `negatable` check, the
   sentence holds no negation at all (embeddings cannot tell "it's required" from "it's
   not required"); prohibitions (`forbidden`) use `forbidden_threshold`, None (patterns
   only) by default, but a check with no patterns at all (an own rubric's exemplars-only
   check, `domain.training.authoring`) is judged by similarity, at `threshold` then.
   Similarity is consulted only where the patterns leave a check undecided, and only
   those sentences are embedded;
2. every `requires` pattern matches too, and it is a question when `question` is set.

The thresholds were measured on the labelled transcripts (tests/data/transcripts, see
`bench.scoring`), never on the held-out ones. Customer objections are told by the
rubric's `objection_patterns`, or by similarity ≥ `threshold` to its
`objection_exemplars`, on the customer's message.

The same rubric, transcript, sentence splitter and embedder always give the same
scorecard: nothing here depends on time, randomness or iteration order of a set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from avataradam.domain.ports.capabilities import embed_queries
from avataradam.domain.ports.knowledge import Embedder
from avataradam.domain.training.rubrics import Check, Rubric
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Evidence,
    Scorecard,
    Transcript,
    assemble_scorecard,
    criterion_result,
    settle_check,
)
from avataradam.domain.training.speech import (
    SentenceSpans,
    TraineeSentence,
    clause_bounds,
    mask_customer_speech,
    negated,
    trainee_sentences,
)

SIMILARITY_THRESHOLD = 0.92
"""Default similarity (multilingual-e5-small, query recipe) at which a sentence counts
as saying what an exemplar says; measured by `bench.scoring`."""
FORBIDDEN_THRESHOLD: float | None = None
"""Similarity for a prohibition, or None: prohibitions are judged by their patterns
alone. A false violation fails a whole session, and on the labelled transcripts
similarity at any threshold from 0.92 up changed no blocker verdict (`bench.scoring
--sweep`); with a value, every trainee sentence is embedded."""
OBJECTION_THRESHOLD = 0.95
"""Similarity of a customer message to an objection exemplar that makes it an objection
without a pattern: e5 puts every short customer line 0.81-0.91 from "I'll think about
it", so only a near-paraphrase counts."""
MAX_EVIDENCE = 3
"""Quotes kept per check, first ones first."""
_MIN_WORDS = 3
_NEGATION = re.compile(r"\b(?:not|never|no|nunca|jam[aá]s|ni|nadie)\b|n['\u2019]t\b", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


class _Sims:
    """Similarities of sentences to exemplars, both embedded once per score call. A
    recording instance answers 0 and notes each text it was asked about."""

    def __init__(self, vectors: dict[str, list[float]], *, record: bool = False) -> None:
        self._vectors = vectors
        self._record = record
        self.asked: set[str] = set()

    def best(self, text: str, exemplars: Sequence[str]) -> float:
        if self._record:
            self.asked.add(text)
            return 0.0
        vector = self._vectors.get(text)
        if vector is None:
            return 0.0
        scores = [
            sum(a * b for a, b in zip(vector, self._vectors[e], strict=True))
            for e in exemplars
            if e in self._vectors
        ]
        return max(scores, default=0.0)


def _clean(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


class RulesScorer:
    """Implements `Scorer` (`kind: rules`). `spans` splits a message into sentences
    (`adapters.llm.sentences.sentence_spans` in production); `embedder` is the local
    embedder, or None for patterns alone."""

    def __init__(
        self,
        *,
        spans: SentenceSpans,
        embedder: Embedder | None,
        threshold: float = SIMILARITY_THRESHOLD,
        forbidden_threshold: float | None = FORBIDDEN_THRESHOLD,
        objection_threshold: float = OBJECTION_THRESHOLD,
    ) -> None:
        self._spans = spans
        self._embedder = embedder
        self.threshold = threshold
        self.forbidden_threshold = forbidden_threshold
        self.objection_threshold = objection_threshold
        self._exemplars: dict[str, list[float]] = {}
        """Exemplar vectors, embedded once per scorer (rubric text, bounded)."""

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard:
        sentences = trainee_sentences(transcript.messages, self._spans)
        customer = [
            (turn, self._statements(m.text))
            for turn, m in enumerate(transcript.messages)
            if m.role == "assistant"
        ]
        if self._embedder is None:
            return self._judge(rubric, transcript, sentences, customer, None)
        # A dry run records the sentences the patterns leave undecided: only those are
        # embedded (embedding is nearly all of the time a session takes).
        recorder = _Sims({}, record=True)
        self._judge(rubric, transcript, sentences, customer, recorder)
        sims = await self._similarities(self._embedder, rubric, sorted(recorder.asked))
        return self._judge(rubric, transcript, sentences, customer, sims)

    def _judge(
        self,
        rubric: Rubric,
        transcript: Transcript,
        sentences: Sequence[TraineeSentence],
        customer: Sequence[tuple[int, str]],
        sims: _Sims | None,
    ) -> Scorecard:
        objections = [
            turn
            for turn, text in customer
            if any(_compiled(p).search(text) for p in rubric.objection_patterns)
            or (
                sims is not None
                and text
                and sims.best(text, rubric.objection_exemplars) >= self.objection_threshold
            )
        ]
        replies = _replies(transcript, objections)
        results: list[CriterionResult] = []
        for criterion in rubric.criteria:
            checks = tuple(
                self._check(transcript, check, sentences, replies, sims)
                for check in criterion.checks
            )
            results.append(criterion_result(criterion, checks, transcript.language))
        return assemble_scorecard(rubric, results)

    def _statements(self, text: str) -> str:
        """The sentences of a customer message that are not questions, joined."""
        masked = mask_customer_speech(text)
        kept = [masked[a:b] for a, b in self._spans(text)]
        return _clean(" ".join(k for k in kept if not k.rstrip().endswith("?")))

    async def _similarities(
        self, embedder: Embedder, rubric: Rubric, texts: Sequence[str]
    ) -> _Sims:
        exemplars = [e for _, check in rubric.checks() for e in check.exemplars]
        exemplars += rubric.objection_exemplars
        new = sorted({e for e in exemplars if e not in self._exemplars})
        if new:
            self._exemplars.update(zip(new, await embed_queries(embedder, new), strict=True))
        unique = sorted(set(texts) - set(self._exemplars))
        vectors = dict(zip(unique, await embed_queries(embedder, unique), strict=True))
        return _Sims({**self._exemplars, **vectors})

    def _match(self, check: Check, sentence: TraineeSentence, sims: _Sims | None) -> int | None:
        """Offset of the check's match in `sentence`, or None when it does not match;
        similarity is consulted only when no pattern matches and `sims` is given."""
        text = sentence.masked
        if (check.question and not sentence.is_question) or any(
            not _compiled(p).search(text) for p in check.requires
        ):
            return None
        found = _pattern_match(check, text)
        if found is not None or sims is None:
            return found
        threshold = self.forbidden_threshold if check.forbidden else self.threshold
        if threshold is None and not (check.patterns or check.negated_patterns):
            threshold = self.threshold  # exemplars only: similarity is all there is
        similar = (
            threshold is not None
            and bool(check.exemplars)
            and sentence.words >= _MIN_WORDS
            and not (check.negatable and _NEGATION.search(text))
            and sims.best(_clean(text), check.exemplars) >= threshold
        )
        return 0 if similar else None

    def _check(
        self,
        transcript: Transcript,
        check: Check,
        sentences: Sequence[TraineeSentence],
        replies: Sequence[int],
        sims: _Sims | None,
    ) -> CheckResult:
        def quotes(found: Sequence[TraineeSentence]) -> list[Evidence]:
            return [Evidence(message_id=s.message_id, quote=s.text) for s in found[:MAX_EVIDENCE]]

        def hits_in(candidates: Sequence[TraineeSentence]) -> list[TraineeSentence]:
            """Pattern hits; similarity hits only when no pattern hits."""
            found = [s for s in candidates if self._match(check, s, None) is not None]
            return found or [s for s in candidates if self._match(check, s, sims) is not None]

        if check.context != "anywhere":
            if not replies:
                return CheckResult(id=check.id, passed=False, applicable=False)
            in_replies = [s for s in sentences if s.turn in replies]
            if check.context == "objection_opening":
                openings = [s for s in in_replies if s.opening]
                hits = [s for s in openings if self._match(check, s, sims) is not None]
                passed = len(hits) == len(replies)
            else:
                hits = hits_in(in_replies)
                passed = bool(hits)
            return settle_check(transcript, check, passed=passed, evidence=quotes(hits))
        if check.forbidden:
            hits = [s for s in sentences if self._match(check, s, sims) is not None]
            return settle_check(transcript, check, passed=not hits, evidence=quotes(hits))
        if check.before:
            first = next(
                ((s, o) for s in sentences if (o := self._match(check, s, sims)) is not None),
                None,
            )
            if first is None:
                return settle_check(transcript, check, passed=False, evidence=())
            limit = _first_match(check.before, sentences)
            passed = limit is None or (first[0].position, first[1]) < limit
            later = [s for s in sentences if s.position > first[0].position]
            hits = [first[0], *(s for s in later if self._match(check, s, None) is not None)]
            return settle_check(transcript, check, passed=passed, evidence=quotes(hits))
        hits = hits_in(sentences)
        return settle_check(transcript, check, passed=bool(hits), evidence=quotes(hits))


def _pattern_match(check: Check, text: str) -> int | None:
    """Offset of the first pattern match in `text` that no negation and no `unless`
    pattern in its clause cancels."""
    for pattern in check.patterns:
        for found in _compiled(pattern).finditer(text):
            if not (check.negatable and negated(text, found.start(), found.end())) and not (
                _excepted(check, text, found.start(), found.end())
            ):
                return found.start()
    for pattern in check.negated_patterns:
        for found in _compiled(pattern).finditer(text):
            if not (check.negatable and negated(text, found.start())) and not (
                _excepted(check, text, found.start(), found.end())
            ):
                return found.start()
    return None


def _excepted(check: Check, text: str, start: int, end: int) -> bool:
    """Whether one of the check's `unless` patterns lies in the clause of the match."""
    if not check.unless:
        return False
    first, last = clause_bounds(text, start, end)
    clause = text[first:last]
    return any(_compiled(p).search(clause) for p in check.unless)


def _first_match(
    patterns: Sequence[str], sentences: Sequence[TraineeSentence]
) -> tuple[int, int] | None:
    """(sentence position, offset) of the first trainee match of any of `patterns`."""
    for sentence in sentences:
        offsets = [m.start() for p in patterns if (m := _compiled(p).search(sentence.masked))]
        if offsets:
            return sentence.position, min(offsets)
    return None


def _replies(transcript: Transcript, objections: Sequence[int]) -> list[int]:
    """Turns of the trainee messages that answer the objection turns (the next message,
    when it is the trainee's)."""
    turns: list[int] = []
    for turn in objections:
        following = turn + 1
        if (
            following < len(transcript.messages)
            and transcript.messages[following].role == "user"
            and following not in turns
        ):
            turns.append(following)
    return turns
