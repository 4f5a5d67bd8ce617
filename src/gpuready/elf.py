"""A tiny, dependency-free reader for the parts of an ELF shared object that decide how it links.

Why our own reader instead of `readelf -d`: binutils is not installed everywhere gpuready
runs (slim containers, CI images), and what `doctor` needs is small: the libraries a
module needs (DT_NEEDED), its run paths, the symbol versions it needs from each library
(GLIBCXX_3.4.32 from libstdc++.so.6), the versions a library defines, the `.comment`
section (where GCC writes "GCC: (GNU) 14.2.0", naming the compiler that built it) and
whether the file carries a C++ runtime of its own. All of it is read from the dynamic
segment through the program headers, so stripped files work too.

Never raises for a bad file: `read_elf` returns None for anything that is not a readable
ELF object, and a truncated table just yields fewer entries.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field

PT_LOAD = 1
PT_DYNAMIC = 2
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
DT_STRSZ = 10
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29
DT_VERDEF = 0x6FFFFFFC
DT_VERDEFNUM = 0x6FFFFFFD
DT_VERNEED = 0x6FFFFFFE
DT_VERNEEDNUM = 0x6FFFFFFF

# Byte strings that only a binary carrying (part of) the GNU C++ runtime contains: the personality
# routine every C++ frame with exception handling points at, and the typeinfo name of
# std::exception, which lives in libsupc++ (so in libstdc++.so.6 itself, or in a module that
# linked libstdc++.a in statically).
CXX_RUNTIME_MARKERS = (b"__gxx_personality_v0", b"St9exception")


@dataclass(frozen=True)
class ElfInfo:
    path: str
    bits: int  # 32 or 64
    machine: int  # e_machine: 62 x86-64, 183 aarch64
    needed: tuple[str, ...] = ()
    soname: str = ""
    runpath: tuple[str, ...] = ()  # DT_RUNPATH, else DT_RPATH, split on ':'
    # library -> version names needed from it: {"libstdc++.so.6": ("GLIBCXX_3.4", "GLIBCXX_3.4.32")}
    version_needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    version_defs: tuple[str, ...] = ()  # names this object defines ("GLIBCXX_3.4.33", ...)
    comment: tuple[str, ...] = ()  # the .comment section's strings: "GCC: (GNU) 14.2.0"
    cxx_runtime_inside: bool = False  # a CXX_RUNTIME_MARKERS string is in the file (looked for only without a shared C++ runtime)

    def needs(self, prefix: str) -> bool:
        """Does it need a library whose name starts with `prefix` ("libstdc++.so")?"""
        return any(n.startswith(prefix) for n in self.needed)


def read_elf(path: str, *, scan_markers: bool = True) -> ElfInfo | None:
    """The linking facts of one ELF file, or None when it is not one (or cannot be read)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 64:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse(path, data, scan_markers)
    except (OSError, ValueError, struct.error, IndexError):
        return None


class _Reader:
    def __init__(self, data, little: bool, bits: int) -> None:
        self.data = data
        self.end = "<" if little else ">"
        self.bits = bits

    def unpack(self, fmt: str, offset: int) -> tuple:
        return struct.unpack_from(self.end + fmt, self.data, offset)

    def cstring(self, offset: int, limit: int | None = None) -> str:
        if offset < 0 or offset >= len(self.data):
            return ""
        stop = self.data.find(b"\0", offset, limit if limit is not None else len(self.data))
        if stop < 0:
            stop = limit if limit is not None else len(self.data)
        return bytes(self.data[offset:stop]).decode("utf-8", errors="replace")


def _parse(path: str, data, scan_markers: bool) -> ElfInfo | None:
    if bytes(data[:4]) != b"\x7fELF":
        return None
    cls, enc = data[4], data[5]
    if cls not in (1, 2) or enc not in (1, 2):
        return None
    bits = 32 if cls == 1 else 64
    r = _Reader(data, enc == 1, bits)
    if bits == 64:
        (_t, machine, _v, _entry, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum, shstrndx) = r.unpack("HHIQQQIHHHHHH", 16)
    else:
        (_t, machine, _v, _entry, phoff, shoff, _f, _eh, phentsize, phnum, shentsize, shnum, shstrndx) = r.unpack("HHIIIIIHHHHHH", 16)

    loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    dyn_off = dyn_size = -1
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + phentsize > len(data):
            break
        if bits == 64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = r.unpack("IIQQQQQQ", off)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _flags, _align = r.unpack("IIIIIIII", off)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_filesz, p_offset))
        elif p_type == PT_DYNAMIC:
            dyn_off, dyn_size = p_offset, p_filesz

    def to_offset(vaddr: int) -> int:
        for start, filesz, offset in loads:
            if start <= vaddr < start + filesz:
                return vaddr - start + offset
        return -1

    tags: dict[int, list[int]] = {}
    if dyn_off >= 0:
        entsize = 16 if bits == 64 else 8
        fmt = "qQ" if bits == 64 else "iI"
        for i in range(max(dyn_size, 0) // entsize):
            off = dyn_off + i * entsize
            if off + entsize > len(data):
                break
            tag, val = r.unpack(fmt, off)
            if tag == DT_NULL:
                break
            tags.setdefault(tag, []).append(val)

    strtab = to_offset(tags[DT_STRTAB][0]) if DT_STRTAB in tags else -1
    strsz = tags.get(DT_STRSZ, [0])[0]
    limit = strtab + strsz if strtab >= 0 and strsz else None

    def dynstr(index: int) -> str:
        return r.cstring(strtab + index, limit) if strtab >= 0 else ""

    needed = tuple(dynstr(v) for v in tags.get(DT_NEEDED, []))
    soname = dynstr(tags[DT_SONAME][0]) if DT_SONAME in tags else ""
    paths = tags.get(DT_RUNPATH) or tags.get(DT_RPATH) or []
    runpath = tuple(p for v in paths for p in dynstr(v).split(":") if p)

    version_needs: dict[str, tuple[str, ...]] = {}
    if DT_VERNEED in tags and strtab >= 0:
        pos = to_offset(tags[DT_VERNEED][0])
        count = tags.get(DT_VERNEEDNUM, [0])[0]
        for _ in range(min(count, 4096)):
            if pos < 0 or pos + 16 > len(data):
                break
            _ver, cnt, vn_file, vn_aux, vn_next = r.unpack("HHIII", pos)
            names: list[str] = []
            aux = pos + vn_aux
            for _j in range(min(cnt, 4096)):
                if aux + 16 > len(data):
                    break
                _hash, _flags, _other, vna_name, vna_next = r.unpack("IHHII", aux)
                names.append(dynstr(vna_name))
                if not vna_next:
                    break
                aux += vna_next
            lib = dynstr(vn_file)
            version_needs[lib] = tuple(version_needs.get(lib, ())) + tuple(names)
            if not vn_next:
                break
            pos += vn_next

    version_defs: list[str] = []
    if DT_VERDEF in tags and strtab >= 0:
        pos = to_offset(tags[DT_VERDEF][0])
        count = tags.get(DT_VERDEFNUM, [0])[0]
        for _ in range(min(count, 4096)):
            if pos < 0 or pos + 20 > len(data):
                break
            _ver, _flags, _ndx, cnt, _hash, vd_aux, vd_next = r.unpack("HHHHIII", pos)
            if cnt and pos + vd_aux + 8 <= len(data):
                vda_name, _vda_next = r.unpack("II", pos + vd_aux)
                version_defs.append(dynstr(vda_name))
            if not vd_next:
                break
            pos += vd_next

    comment = _comment_section(r, shoff, shentsize, shnum, shstrndx)
    # Scanning a 70 MB cv2 module takes tens of milliseconds: only worth it when the module does not
    # link a shared C++ runtime (the one case where a runtime inside it matters).
    shared_cxx = any(n.startswith(("libstdc++.so", "libc++.so")) for n in needed)
    markers = scan_markers and not shared_cxx and any(data.find(m) >= 0 for m in CXX_RUNTIME_MARKERS)
    return ElfInfo(
        path=path,
        bits=bits,
        machine=machine,
        needed=needed,
        soname=soname,
        runpath=runpath,
        version_needs=version_needs,
        version_defs=tuple(version_defs),
        comment=comment,
        cxx_runtime_inside=bool(markers),
    )


def _comment_section(r: _Reader, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> tuple[str, ...]:
    """Strings of the `.comment` section (compiler identification), () when there are no section headers."""
    data = r.data
    if not shoff or not shnum or shstrndx >= shnum or shoff + shnum * shentsize > len(data):
        return ()
    fmt = "IIQQQQIIQQ" if r.bits == 64 else "IIIIIIIIII"

    def header(i: int) -> tuple:
        return r.unpack(fmt, shoff + i * shentsize)

    names_off = header(shstrndx)[4]
    for i in range(min(shnum, 65535)):
        sh_name, _type, _flags, _addr, sh_offset, sh_size = header(i)[:6]
        if r.cstring(names_off + sh_name, names_off + sh_name + 64) != ".comment":
            continue
        if sh_offset + sh_size > len(data):
            return ()
        raw = bytes(data[sh_offset : sh_offset + min(sh_size, 65536)])
        seen: list[str] = []
        for part in raw.split(b"\0"):
            text = part.decode("utf-8", errors="replace").strip()
            if text and text not in seen:
                seen.append(text)
        return tuple(seen)
    return ()


def glibcxx_versions(names: tuple[str, ...] | list[str]) -> list[tuple[int, ...]]:
    """("GLIBCXX_3.4", "GLIBCXX_3.4.32", "CXXABI_1.3") -> [(3, 4), (3, 4, 32)]: only GLIBCXX_ names."""
    out = []
    for name in names:
        if not name.startswith("GLIBCXX_"):
            continue
        parts = name[len("GLIBCXX_") :].split(".")
        if all(p.isdigit() for p in parts):
            out.append(tuple(int(p) for p in parts))
    return out


def version_name(v: tuple[int, ...]) -> str:
    return "GLIBCXX_" + ".".join(str(p) for p in v)
