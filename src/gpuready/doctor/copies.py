"""Several copies of one framework on sys.path: which one `import` takes, which has CUDA, how to fix it.

The judgement itself (a CPU-only copy in front of a CUDA build: which copies, the label, the fix that
removes only the shadowing copy) is `gpuready.diagnosis.copies`, shared with verify so both commands
say the same; this check adds the cases only doctor reports (competing distributions in one folder, a
CUDA copy in front of unused CPU ones, copies it cannot tell apart).
"""

from __future__ import annotations

from gpuready.diagnosis.copies import active_copy, copy_cuda, describe, removal, shadow_finding
from gpuready.findings import Finding
from gpuready.knowledge.frameworks import display
from gpuready.machine import Machine


def check_copies(m: Machine) -> list[Finding]:
    out: list[Finding] = []
    for fw in m.frameworks:
        name = display(fw.name)
        for c in [c for c in fw.copies if "," in c.dist]:
            out.append(
                Finding(
                    "shadowed_install",
                    "warning",
                    name,
                    f"Several distributions install the same `{fw.name}` module in one place ({c.dist}); the files of the last one installed win, file by file.",
                    evidence=(c.path,),
                    fix=f"pip uninstall -y {c.dist.replace(',', ' ')} and install exactly one of them"
                    + (" (or `gpuready install opencv` for a CUDA build)." if fw.name == "cv2" else "."),
                )
            )
        if len(fw.copies) < 2:
            continue
        active = active_copy(fw)
        evidence = tuple(describe(fw, c) for c in fw.copies)
        shadow = shadow_finding(m, fw)
        if shadow is not None:
            out.append(shadow)
            continue
        others = [c for c in fw.copies if c is not active]
        active_cuda = copy_cuda(fw, active) if active else None
        if active_cuda is True and all(copy_cuda(fw, c) is False for c in others):
            out.append(
                Finding(
                    "shadowed_install",
                    "info",
                    name,
                    f"`import {fw.name}` takes the CUDA build at {active.path}; {len(others)} CPU-only copy(ies) behind it are unused "
                    "(harmless now; they win if the search order changes).",
                    evidence=evidence,
                    fix="To remove them: " + "; ".join(f"{c.path}: {removal(m, fw, c)}" for c in others) + ".",
                )
            )
            continue
        out.append(
            Finding(
                "shadowed_install",
                "warning",
                name,
                f"{len(fw.copies)} copies of `{fw.name}` are importable; `import {fw.name}` takes {active.path if active else '?'}"
                f" ({(active.dist + ' ' + active.version).strip() if active and active.dist else 'no metadata'}).",
                evidence=evidence,
                fix="Keep one copy. To keep the one import takes, remove the others: "
                + "; ".join(f"{c.path}: {removal(m, fw, c)}" for c in others)
                + ".",
            )
        )
    return out
