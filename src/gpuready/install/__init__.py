"""`gpuready install` and `gpuready download`: transactional installs, offline folders.

    plan -> show -> build (source packages, cached) -> lock + snapshot -> remove competing copies
    -> install (uv or pip) -> verify on the GPU -> commit; or roll back, explain, and say the fix.

Modules, one job each: envinfo (the target environment), executor (uv/pip and their argv),
runner/progress/runlog (running a step visibly, with a full log), snapshot (record and restore an
environment byte for byte), transaction (lock, journal, signals, crash recovery), conflicts
(competing and shadowing copies), steps (plan -> ordered steps), flow (the whole install),
offline/download (`gpuready download` and `install --offline`), render/command (the CLI).
"""
