"""The values fix templates are filled with: what the log captured, and the machine's facts.

A signature lists its fixes from the most concrete to the most generic
("Upgrade the driver to >= {need_driver} ..." before "Upgrade the NVIDIA driver ...").
The first template whose every `{name}` has a value here is the one shown, so a fix is as
concrete as the facts allow and never shows a hole. Values are computed on demand: most
logs need two or three of them.
"""

from __future__ import annotations

import re
import string
from typing import Iterator, Mapping

from gpuready.explain.context import Context, captured_arch, log_toolkit
from gpuready.knowledge.cuda import (
    arch_list,
    cc_str,
    compiler_accepted,
    cuda_mm,
    host_compiler_limit,
    max_cuda_for_driver,
    min_driver_for_cuda,
    vtuple,
)


class Facts(Mapping[str, str]):
    """`facts["need_driver"]` -> "525.60.13", or KeyError when it cannot be known."""

    def __init__(self, ctx: Context, captures: Mapping[str, str] | None = None) -> None:
        self.ctx = ctx
        self.captures = dict(captures or {})
        self._cache: dict[str, str] = {}
        self.machine_keys: set[str] = set()  # keys whose value came from the machine
        self._touched = False

    def __getitem__(self, key: str) -> str:
        if key in self._cache:
            return self._cache[key]
        value = ""
        fn = getattr(self, "_f_" + key, None)
        if fn is not None:
            self._touched = False
            value = fn() or ""
            if value and self._touched:
                self.machine_keys.add(key)
        if not value:
            value = self.captures.get(key, "") or self.ctx.capture(key)
        if not value:
            raise KeyError(key)
        self._cache[key] = value
        return value

    def __iter__(self) -> Iterator[str]:  # Mapping protocol; format_map only needs __getitem__
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def get_or(self, key: str, default: str = "") -> str:
        try:
            return self[key]
        except KeyError:
            return default

    # --- the machine (only when the log and the machine agree on the OS) ---
    @property
    def m(self):
        if self.ctx.machine is not None:
            self._touched = True
        return self.ctx.machine

    def _f_os(self) -> str:
        return {"windows": "Windows", "linux": "Linux", "macos": "macOS"}.get(self.ctx.os, "")

    def _f_driver(self) -> str:
        v = self.captures.get("driver") or self.ctx.capture("driver")
        if v:
            return v
        return self.m.driver.version if self.m and self.m.driver.present else ""

    def _f_driver_cuda(self) -> str:
        v = self.captures.get("driver_cuda") or self.ctx.capture("driver_cuda")
        if v:
            # torch prints the driver's CUDA as an integer: 11040 -> 11.4
            if re.fullmatch(r"\d{4,5}", v):
                n = int(v)
                return f"{n // 1000}.{(n % 1000) // 10}"
            return cuda_mm(v)
        if self.m and self.m.driver.present:
            return self.m.driver.cuda_version or max_cuda_for_driver(self.m.driver.version, self.ctx.os or "linux")
        drv = self.captures.get("driver") or self.ctx.capture("driver")
        return max_cuda_for_driver(drv, self.ctx.os or "linux") if drv else ""

    def _f_cuda_need(self) -> str:
        """The CUDA version the failing program needs."""
        for key in ("cuda_need", "cuda"):
            v = self.captures.get(key) or self.ctx.capture(key)
            if v and vtuple(v):
                return cuda_mm(v)
        cu = self.captures.get("cu") or self.ctx.capture("cu")  # "+cu121", "cu118"
        if cu and re.fullmatch(r"\d{3,4}", cu):
            return f"{cu[:-1]}.{cu[-1]}"
        pkg = self.ctx.main_package
        if self.m and pkg:
            fw = self.m.framework(pkg)
            if fw and fw.cuda_version and vtuple(fw.cuda_version):
                return cuda_mm(fw.cuda_version) if "." in fw.cuda_version else f"{fw.cuda_version}.0"
        return ""

    def _f_need_driver(self) -> str:
        need = self._f_cuda_need()
        if not need:
            return ""
        # The toolkit's own driver floor, not the minor-version-compatibility one: a program that
        # failed with "driver too old" already showed that minor-version compatibility was not enough.
        return min_driver_for_cuda(need, self.ctx.os or "linux", minor_compat_ok=False)

    def _f_gpu(self) -> str:
        v = self.captures.get("gpu") or self.ctx.capture("gpu")
        if v:
            return v
        return self.m.gpus[0].name if self.m and self.m.gpus else ""

    def _f_cc(self) -> str:
        """The GPU's compute capability, "8.6"."""
        v = self.captures.get("cc") or self.ctx.capture("cc")
        if v:
            mm = re.search(r"(\d+)\.(\d+)", v)
            if mm:
                return f"{mm.group(1)}.{mm.group(2)}"
            mm = re.search(r"(\d+)", v)
            return cc_str(int(mm.group(1))) if mm else ""
        if self.m and self.m.gpus and self.m.gpus[0].compute_capability:
            return self.m.gpus[0].compute_capability
        return ""

    def _f_cc_nodot(self) -> str:
        cc = self._f_cc()
        return cc.replace(".", "") if cc else ""

    def _f_sm(self) -> str:
        cc = self._f_cc_nodot()
        return f"sm_{cc}" if cc else ""

    def _f_arch_num(self) -> str:
        a = captured_arch(self.ctx)
        return str(a) if a else ""

    def _f_toolkit(self) -> str:
        return log_toolkit(self.ctx)

    def _f_toolkit_archs(self) -> str:
        tk = log_toolkit(self.ctx)
        row = arch_list(tk) if tk else None
        return f"sm_{row.lowest}..sm_{row.highest}" if row else ""

    def _f_toolkit_lowest(self) -> str:
        tk = log_toolkit(self.ctx)
        row = arch_list(tk) if tk else None
        return cc_str(row.lowest) if row else ""

    def _f_cuda_home(self) -> str:
        if self.m:
            tks = sorted((t for t in self.m.toolkits if t.nvcc), key=lambda t: not t.on_path)
            if tks:
                return tks[0].root
        return ""

    def _f_gcc_max(self) -> str:
        v = self.captures.get("gcc_max") or self.ctx.capture("gcc_max")
        if v:
            return v
        tk = log_toolkit(self.ctx)
        limit = host_compiler_limit(tk) if tk else None
        return str(limit.gcc_max) if limit and limit.gcc_max else ""

    def _f_good_compiler(self) -> str:
        """A compiler on the machine that the machine's nvcc accepts."""
        if not self.m:
            return ""
        tk = log_toolkit(self.ctx)
        if not tk:
            return ""
        for c in self.m.compilers:
            if compiler_accepted(c, tk):
                return c.path
        return ""

    def _f_visual_studio(self) -> str:
        tk = log_toolkit(self.ctx)
        limit = host_compiler_limit(tk) if tk else None
        return limit.visual_studio if limit and limit.visual_studio else ""

    def _f_python(self) -> str:
        v = self.captures.get("python") or self.ctx.capture("python")
        if v:
            mm = re.fullmatch(r"cp?(\d)(\d+)", v)
            return f"{mm.group(1)}.{mm.group(2)}" if mm else cuda_mm(v)
        return self.m.python.minor if self.m else ""

    def _f_pkg(self) -> str:
        from gpuready.knowledge.frameworks import display

        pkg = self.ctx.main_package
        return display(pkg)

    def _f_verify_pkg(self) -> str:
        """The name `gpuready verify` knows the log's package by ("" when it has no check for it)."""
        from gpuready.knowledge import frameworks

        pkg = self.ctx.main_package
        return pkg if pkg and frameworks.get(pkg) else ""

    def _f_install(self) -> str:
        """The command that installs a GPU build of the framework here (the same line doctor prints)."""
        from gpuready.knowledge import frameworks
        from gpuready.plan.hint import gpu_install_hint  # the planner, imported only for this fact

        pkg = self.ctx.main_package
        if not self.m or not pkg:
            return ""
        return gpu_install_hint(self.m, pkg) if frameworks.get(pkg) else ""


_FORMATTER = string.Formatter()


def template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name]


def render(templates: tuple[str, ...], facts: Facts) -> tuple[str, bool]:
    """(text, uses_machine): the first template all of whose fields are known (the last one, which
    needs no facts, as a fallback), and whether it used a fact of the machine."""
    from gpuready.indexconfig import with_torch_mirror  # the configured PyTorch mirror, not download.pytorch.org

    for t in templates:
        try:
            text = t.format_map(facts)
        except (KeyError, IndexError, ValueError):
            continue
        return with_torch_mirror(text), any(name in facts.machine_keys for name in template_fields(t))
    return with_torch_mirror(templates[-1] if templates else ""), False
