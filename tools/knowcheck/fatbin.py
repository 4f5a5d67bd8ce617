"""Which GPU code a binary carries, read from the CUDA fatbin headers in it (what `cuobjdump --list-elf
--list-ptx` prints), without writing the binary to disk.

A fatbin container starts with the magic 0xBA55ED50, a version (1), its header size (16) and the size of
what follows; inside, each entry has a 64+ byte header: kind (1 = PTX, 2 = ELF/SASS), header size, payload
size and, at offset 28, the target architecture (80 = sm_80 / compute_80). The layout was checked against
cuobjdump 13.5 (NVIDIA's nvidia-cuda-cuobjdump wheel) on a library built by nvcc 13.0 with
-gencode for sm_75, sm_86 and compute_90; see tests/test_knowledge_check.py.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable

MAGIC = struct.pack("<I", 0xBA55ED50)
KIND_PTX, KIND_ELF = 1, 2


@dataclass
class GpuCode:
    sass: set[int] = field(default_factory=set)
    ptx: set[int] = field(default_factory=set)
    containers: int = 0

    def update(self, other: "GpuCode") -> None:
        self.sass |= other.sass
        self.ptx |= other.ptx
        self.containers += other.containers

    def archs(self) -> list[str]:
        """As torch.cuda.get_arch_list() spells them: ["sm_80", "sm_90", "compute_90"]."""
        return [f"sm_{a}" for a in sorted(self.sass)] + [f"compute_{a}" for a in sorted(self.ptx)]


class FatbinScanner:
    """Feed it a binary in chunks of any size; it collects the targets of every fatbin entry."""

    def __init__(self) -> None:
        self.code = GpuCode()
        self._buf = bytearray()
        self._skip = 0  # bytes of entry payload still to drop
        self._container_left = 0  # bytes of the current container not yet consumed (0: searching)

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        self._run()

    def _run(self) -> None:
        buf = self._buf
        while True:
            if self._skip:
                n = min(self._skip, len(buf))
                del buf[:n]
                self._skip -= n
                self._container_left -= n
                if self._skip:
                    return
            if self._container_left > 0:
                if len(buf) < 32:
                    return
                kind, _ver, hsize, size = struct.unpack_from("<HHIQ", buf, 0)
                if kind not in (KIND_PTX, KIND_ELF) or hsize < 32 or hsize > 4096:
                    self._container_left = 0  # not what we thought: search again
                    continue
                arch = struct.unpack_from("<I", buf, 28)[0]
                if 10 <= arch <= 1500:
                    (self.code.ptx if kind == KIND_PTX else self.code.sass).add(arch)
                self._skip = hsize + size
                continue
            i = buf.find(MAGIC)
            if i < 0:
                del buf[: max(0, len(buf) - 3)]
                return
            if len(buf) < i + 16:
                del buf[:i]
                return
            _magic, version, hsize, fat_size = struct.unpack_from("<IHHQ", buf, i)
            if version != 1 or hsize != 16 or fat_size == 0:
                del buf[: i + 4]
                continue
            self.code.containers += 1
            del buf[: i + 16]
            self._container_left = fat_size


def scan(chunks: Iterable[bytes]) -> GpuCode:
    s = FatbinScanner()
    for c in chunks:
        s.feed(c)
    return s.code
