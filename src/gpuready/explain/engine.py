"""Hits -> ranked causes: context decides each signature's meaning, then the root cause goes first.

Ranking rules, in order:
1. A signature counts only when its `when` conditions hold; its first variant whose
   conditions hold may change its label, confidence, explanation and fixes.
2. A stage hint that the signature does not belong to lowers its confidence (a
   "Permission denied" means more during install than in a training log).
3. Signatures of one label merge into one cause: the most confident one speaks for it, and
   each further signature adds a little confidence (two independent lines agreeing).
4. Generic signatures (symptoms such as "No CUDA GPUs are available", a bare
   "command 'gcc' failed") are dropped as soon as a specific cause is found.
5. Causes are sorted by confidence, then by the line where they first show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuready.explain.context import Context, Hit
from gpuready.explain.facts import Facts, render
from gpuready.explain.model import Cause, Evidence
from gpuready.explain.rules import RuleSet, Signature, parse_condition

STAGE_MISMATCH = 0.8  # confidence factor when a stage hint is given that the signature does not list
AGREE_BONUS = 0.03  # per further signature agreeing on a label
MAX_EVIDENCE = 4
MAX_CAUSES = 5
# a line that is a warning, not an error: "UserWarning: ...", "WARNING: ...", "warning C4819", "nvcc warning :"
WARNING_LINE = re.compile(r"\bwarn(?:ing)?s?\b|\w+Warning\b", re.IGNORECASE)


@dataclass
class Candidate:
    sig: Signature
    hit: Hit
    label: str
    confidence: float
    explanation: str
    fixes: tuple[str, ...]

    @property
    def first_line(self) -> int:
        return self.hit.first_line


def conditions_hold(conds: tuple[str, ...], ctx: Context) -> bool:
    for text in conds:
        c = parse_condition(text)
        if ctx.holds(c.kind, c.args) == c.negate:
            return False
    return True


def candidates(rules: RuleSet, ctx: Context) -> list[Candidate]:
    out = []
    for sig in rules.signatures:
        hit = ctx.hits.get(sig.id)
        if hit is None or not conditions_hold(sig.when, ctx):
            continue
        label, conf, expl, fixes = sig.label, sig.confidence, sig.explanation, sig.fixes
        for v in sig.variant:
            if conditions_hold(v.when, ctx):
                label = v.label or label
                conf = v.confidence if v.confidence is not None else conf
                expl = v.explanation or expl
                fixes = v.fixes or fixes
                break
        for r in rules.relabels:
            if r.label == label and conditions_hold(r.when, ctx):
                label, expl, fixes = r.to, r.explanation or expl, r.fixes or fixes
                break
        if ctx.stage and sig.stages and ctx.stage not in sig.stages:
            conf *= STAGE_MISMATCH
        out.append(Candidate(sig, hit, label, conf, expl, fixes))
    if any(not c.sig.fallback for c in out):  # "a failure, cause unknown" only when nothing else speaks
        out = [c for c in out if not c.sig.fallback]
    done = _last_success(ctx)
    if done:  # the command reported success after these lines: a fallback's failure, or a cause seen only in
        # warnings, did not stop it
        out = [c for c in out if not (done > _last_line(c.hit) and (c.sig.fallback or _only_warnings(c.hit)))]
    return out


def _only_warnings(hit: Hit) -> bool:
    lines = [t for _, t in hit.lines] + ([hit.last[1]] if hit.last else [])
    return bool(lines) and all(WARNING_LINE.search(t) for t in lines)


def _last_line(hit: Hit) -> int:
    return hit.last[0] if hit.last is not None else (hit.lines[-1][0] if hit.lines else 0)


def _last_success(ctx: Context) -> int:
    """The last line where the log says its command succeeded (0: nowhere): a traceback a build prints
    as a warning and then goes on is not its failure."""
    return max((_last_line(h) for i, h in ctx.hits.items() if ctx.marker_kinds.get(i, ("", ""))[0] == "success"), default=0)


def rank(cands: list[Candidate], ctx: Context) -> list[Cause]:
    specific = {c.label for c in cands if not c.sig.generic}
    if specific:  # symptoms go, unless they are more evidence for a specific cause's label
        cands = [c for c in cands if not c.sig.generic or c.label in specific]
    by_label: dict[str, list[Candidate]] = {}
    for c in cands:
        by_label.setdefault(c.label, []).append(c)
    causes: list[tuple[float, int, Cause]] = []
    for label, group in by_label.items():
        group.sort(key=lambda c: (-c.confidence, c.first_line))
        lead = group[0]
        conf = min(0.99, lead.confidence + AGREE_BONUS * (len(group) - 1))
        captures: dict[str, str] = {}
        for c in group:
            for k, v in c.hit.captures.items():
                captures.setdefault(k, v)
        facts = Facts(ctx, {**captures, **lead.hit.captures})
        evidence = _evidence(group)
        explanation, _ = render((lead.explanation,), facts)
        fix, uses_machine = render(lead.fixes, facts)
        cause = Cause(
            label=label,
            confidence=round(conf, 2),
            evidence=evidence,
            explanation=explanation,
            fix=fix,
            signature=lead.sig.id,
            source=lead.sig.source,
            uses_machine=uses_machine,
        )
        causes.append((conf, min(c.first_line for c in group), cause))
    causes.sort(key=lambda t: (-t[0], t[1]))
    return [c for _, _, c in causes[:MAX_CAUSES]]


def _evidence(group: list[Candidate]) -> tuple[Evidence, ...]:
    seen: dict[int, str] = {}
    for c in group:  # the lead signature's lines first, then the others'
        for line, text in c.hit.lines:
            seen.setdefault(line, text)
    lead = group[0]
    if lead.hit.last is not None:
        seen.setdefault(*lead.hit.last)
    chosen = sorted(seen.items())[:MAX_EVIDENCE]
    if lead.hit.last is not None and lead.hit.last[0] not in dict(chosen):
        chosen = chosen[: MAX_EVIDENCE - 1] + [lead.hit.last]
    return tuple(Evidence(line, text) for line, text in chosen)


def explain_hits(rules: RuleSet, ctx: Context) -> list[Cause]:
    return rank(candidates(rules, ctx), ctx)
