"""The one ELF reader: a tiny, dependency-free parser for the parts of a shared object that decide how
it links, the GPU code it carries, and an in-place RUNPATH rewrite.

Why our own reader instead of `readelf -d` / patchelf: binutils is not installed everywhere gpuready
runs (slim containers, CI images, a conda env without it), and what gpuready needs is small:
- the libraries a module needs (DT_NEEDED), its run paths, the symbol versions it needs from each
  library (GLIBCXX_3.4.32 from libstdc++.so.6), the versions a library defines, the `.comment`
  section (where GCC writes "GCC: (GNU) 14.2.0", naming the compiler that built it) and whether the
  file carries a C++ runtime of its own (doctor, verify's hazards, the probe; and the build's check
  that a built module really links libstdc++.so.6, libcudnn.so.N and libcublas.so.N);
- the GPU code in `.nv_fatbin` (a build for another machine's GPU is checked by reading, not running);
- a shorter RUNPATH written over the old one (a portable wheel: build folder -> `$ORIGIN/...`).
The linking facts are read from the dynamic segment through the program headers, so stripped files work.

Bad files are handled one way: `parse_elf` raises `NotELF` (a ValueError) for anything that is not a
readable ELF object, and a truncated table just yields fewer entries; `read_elf` is the same parse
returning None instead, for callers that only ask "what does it link, if it is ELF at all".
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

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
SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERNEED = 11, 0x6FFFFFFD, 0x6FFFFFFE

MAX_ENTRIES = 4096  # version entries per table walked (a corrupt count cannot make a loop run for ever)

# Byte strings that only a binary carrying (part of) the GNU C++ runtime contains: the personality
# routine every C++ frame with exception handling points at, and the typeinfo name of
# std::exception, which lives in libsupc++ (so in libstdc++.so.6 itself, or in a module that
# linked libstdc++.a in statically).
CXX_RUNTIME_MARKERS = (b"__gxx_personality_v0", b"St9exception")


class NotELF(ValueError):
    """Not an ELF file (or a truncated or malformed one)."""


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


def parse_elf(path: str | Path, *, scan_markers: bool = True) -> ElfInfo:
    """The linking facts of one ELF file; raises NotELF when it is not one, OSError when it cannot be read."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size < 64:
            raise NotELF(f"{path}: not an ELF file (too short)")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _guarded(path, lambda: _parse(str(path), data, scan_markers))


def read_elf(path: str, *, scan_markers: bool = True) -> ElfInfo | None:
    """The linking facts of one ELF file, or None when it is not one (or cannot be read)."""
    try:
        return parse_elf(path, scan_markers=scan_markers)
    except (OSError, ValueError):
        return None


# --- the layout every reader shares: header, program headers, dynamic entries, sections ------------


class _Reader:
    """An ELF image (bytes, bytearray or mmap) with its byte order and class."""

    def __init__(self, data, path: str | Path = "") -> None:
        if bytes(data[:4]) != b"\x7fELF":
            raise NotELF(f"{path}: not an ELF file")
        cls, enc = data[4], data[5]
        if cls not in (1, 2) or enc not in (1, 2):
            raise NotELF(f"{path}: unknown ELF class/encoding")
        self.data = data
        self.end = "<" if enc == 1 else ">"
        self.bits = 32 if cls == 1 else 64
        if self.bits == 64:
            fields = self.unpack("HHIQQQIHHHHHH", 16)
        else:
            fields = self.unpack("HHIIIIIHHHHHH", 16)
        (_t, self.machine, _v, _entry, self.phoff, self.shoff, _f, _eh, self.phentsize, self.phnum,
         self.shentsize, self.shnum, self.shstrndx) = fields
        self.loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
        self.dynamic_at: tuple[int, int] | None = None  # (offset, size) of PT_DYNAMIC
        for i in range(self.phnum):
            off = self.phoff + i * self.phentsize
            if off + self.phentsize > len(data):
                break
            if self.bits == 64:
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = self.unpack("IIQQQQQQ", off)
            else:
                p_type, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _flags, _align = self.unpack("IIIIIIII", off)
            if p_type == PT_LOAD:
                self.loads.append((p_vaddr, p_filesz, p_offset))
            elif p_type == PT_DYNAMIC:
                self.dynamic_at = (p_offset, p_filesz)

    def unpack(self, fmt: str, offset: int) -> tuple:
        return struct.unpack_from(self.end + fmt, self.data, offset)

    def cstring(self, offset: int, limit: int | None = None) -> str:
        if offset < 0 or offset >= len(self.data):
            return ""
        stop = self.data.find(b"\0", offset, limit if limit is not None else len(self.data))
        if stop < 0:
            stop = limit if limit is not None else len(self.data)
        return bytes(self.data[offset:stop]).decode("utf-8", errors="replace")

    def to_offset(self, vaddr: int) -> int:
        """The file offset of a virtual address in a loaded segment; -1 when none maps it."""
        for start, filesz, offset in self.loads:
            if start <= vaddr < start + filesz:
                return vaddr - start + offset
        return -1

    def dynamic(self) -> list[tuple[int, int]]:
        """The dynamic entries up to DT_NULL: (tag, value)."""
        if self.dynamic_at is None:
            return []
        dyn_off, dyn_size = self.dynamic_at
        entsize, fmt = (16, "qQ") if self.bits == 64 else (8, "iI")
        out = []
        for i in range(max(dyn_size, 0) // entsize):
            off = dyn_off + i * entsize
            if off + entsize > len(self.data):
                break
            tag, val = self.unpack(fmt, off)
            if tag == DT_NULL:
                break
            out.append((tag, val))
        return out

    def sections(self) -> list[tuple[str, int, int, int, int, int]]:
        """(name, type, offset, size, info, entsize) per section header; [] when there are none (or they lie outside the file)."""
        shoff, shnum, size = self.shoff, self.shnum, self.shentsize
        if not shoff or not shnum or self.shstrndx >= shnum or shoff + shnum * size > len(self.data):
            return []
        fmt = "IIQQQQIIQQ" if self.bits == 64 else "IIIIIIIIII"
        headers = [self.unpack(fmt, shoff + i * size) for i in range(min(shnum, 65535))]
        names_off = headers[self.shstrndx][4]
        out = []
        for sh_name, sh_type, _flags, _addr, sh_offset, sh_size, _link, sh_info, _align, sh_entsize in headers:
            name = self.cstring(names_off + sh_name, names_off + sh_name + 64)
            out.append((name, sh_type, sh_offset, sh_size, sh_info, sh_entsize))
        return out

    def section(self, wanted: str) -> tuple[int, int] | None:
        """(file offset, size) of the section named `wanted`."""
        return next(((off, size) for name, _t, off, size, _i, _e in self.sections() if name == wanted), None)


def _guarded(path: str | Path, read):
    """`read()`, with a truncated or malformed file as NotELF (a table pointing past the end, say)."""
    try:
        return read()
    except NotELF:
        raise
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        raise NotELF(f"{path}: truncated or malformed ELF ({exc})") from None


# --- the linking facts ------------------------------------------------------------------------------


def _parse(path: str, data, scan_markers: bool) -> ElfInfo:
    r = _Reader(data, path)
    tags: dict[int, list[int]] = {}
    for tag, val in r.dynamic():
        tags.setdefault(tag, []).append(val)

    strtab = r.to_offset(tags[DT_STRTAB][0]) if DT_STRTAB in tags else -1
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
        for lib, names in _verneed(r, r.to_offset(tags[DT_VERNEED][0]), tags.get(DT_VERNEEDNUM, [0])[0]):
            version_needs[dynstr(lib)] = version_needs.get(dynstr(lib), ()) + tuple(dynstr(n) for n in names)

    version_defs: list[str] = []
    if DT_VERDEF in tags and strtab >= 0:
        version_defs = [dynstr(names[0]) for names in _verdef(r, r.to_offset(tags[DT_VERDEF][0]), tags.get(DT_VERDEFNUM, [0])[0]) if names]

    comment = _comment(r)
    # Scanning a 70 MB cv2 module takes tens of milliseconds: only worth it when the module does not
    # link a shared C++ runtime (the one case where a runtime inside it matters).
    shared_cxx = any(n.startswith(("libstdc++.so", "libc++.so")) for n in needed)
    markers = scan_markers and not shared_cxx and any(data.find(m) >= 0 for m in CXX_RUNTIME_MARKERS)
    return ElfInfo(
        path=path,
        bits=r.bits,
        machine=r.machine,
        needed=needed,
        soname=soname,
        runpath=runpath,
        version_needs=version_needs,
        version_defs=tuple(version_defs),
        comment=comment,
        cxx_runtime_inside=bool(markers),
    )


def _verneed(r: _Reader, pos: int, count: int) -> list[tuple[int, list[int]]]:
    """The version-needs table at file offset `pos`: (library name index, [version name indexes])."""
    out: list[tuple[int, list[int]]] = []
    data = r.data
    for _ in range(min(count, MAX_ENTRIES)):
        if pos < 0 or pos + 16 > len(data):
            break
        _ver, cnt, vn_file, vn_aux, vn_next = r.unpack("HHIII", pos)
        names: list[int] = []
        aux = pos + vn_aux
        for _j in range(min(cnt, MAX_ENTRIES)):
            if aux + 16 > len(data):
                break
            _hash, _flags, _other, vna_name, vna_next = r.unpack("IHHII", aux)
            names.append(vna_name)
            if not vna_next:
                break
            aux += vna_next
        out.append((vn_file, names))
        if not vn_next:
            break
        pos += vn_next
    return out


def _verdef(r: _Reader, pos: int, count: int) -> list[list[int]]:
    """The version-definitions table at file offset `pos`: per definition, its name indexes (the first is its own)."""
    out: list[list[int]] = []
    data = r.data
    for _ in range(min(count, MAX_ENTRIES)):
        if pos < 0 or pos + 20 > len(data):
            break
        _ver, _flags, _ndx, cnt, _hash, vd_aux, vd_next = r.unpack("HHHHIII", pos)
        names: list[int] = []
        aux = pos + vd_aux
        for _j in range(min(cnt, MAX_ENTRIES)):
            if aux + 8 > len(data):
                break
            vda_name, vda_next = r.unpack("II", aux)
            names.append(vda_name)
            if not vda_next:
                break
            aux += vda_next
        out.append(names)
        if not vd_next:
            break
        pos += vd_next
    return out


def _comment(r: _Reader) -> tuple[str, ...]:
    """Strings of the `.comment` section (compiler identification), () when there are no section headers."""
    found = r.section(".comment")
    if found is None:
        return ()
    offset, size = found
    if offset + size > len(r.data):
        return ()
    raw = bytes(r.data[offset : offset + min(size, 65536)])
    seen: list[str] = []
    for part in raw.split(b"\0"):
        text = part.decode("utf-8", errors="replace").strip()
        if text and text not in seen:
            seen.append(text)
    return tuple(seen)


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


# --- RUNPATH rewrite (in place) ---------------------------------------------------------------------


def _string_refs(r: _Reader, entries: list[tuple[int, int]], skip_tag: int) -> list[int]:
    """Offsets into .dynstr used by anything but the RUNPATH entry: other dynamic entries, symbol
    names, version needs/definitions. A rewrite must not touch a string another one shares
    (linkers merge string tails). Raises ValueError when a table lies outside the file: a partial
    list could let the rewrite clobber a shared string."""
    refs = [v for t, v in entries if t in (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH) and t != skip_tag]
    for _name, sh_type, sh_offset, sh_size, sh_info, sh_entsize in r.sections():
        if sh_type in (SHT_DYNSYM, SHT_GNU_VERNEED, SHT_GNU_VERDEF) and sh_offset + sh_size > len(r.data):
            raise ValueError("a symbol or version table lies outside the file")
        if sh_type == SHT_DYNSYM and sh_entsize:
            refs.extend(r.unpack("I", pos)[0] for pos in range(sh_offset, sh_offset + sh_size, sh_entsize))
        elif sh_type == SHT_GNU_VERNEED:
            for lib, names in _verneed(r, sh_offset, sh_info):
                refs.append(lib)
                refs.extend(names)
        elif sh_type == SHT_GNU_VERDEF:
            for names in _verdef(r, sh_offset, sh_info):
                refs.extend(names)
    return refs


def rewrite_runpath(path: str | Path, entries: list[str]) -> bool:
    """Replace the module's RUNPATH (or RPATH) with `entries`, in place, when the new string fits in
    the old one's bytes and no other string shares them. Returns whether the file was changed
    (never for a file that is not ELF or whose tables cannot all be read).

    Why in place: gpuready needs no patchelf, and a shorter string is all it ever writes
    (an absolute folder of the build machine becomes `$ORIGIN/...`).
    """
    path = Path(path)
    data = bytearray(path.read_bytes())
    try:
        r = _Reader(data, path)
        dyn = r.dynamic()
        tag = DT_RUNPATH if any(t == DT_RUNPATH for t, _v in dyn) else DT_RPATH
        value = next((v for t, v in dyn if t == tag), None)
        strtab_vaddr = next((v for t, v in dyn if t == DT_STRTAB), None)
        if value is None or strtab_vaddr is None or r.to_offset(strtab_vaddr) < 0:
            return False
        start = r.to_offset(strtab_vaddr) + value
        end = data.index(b"\x00", start)
        old_len = end - start
        new = ":".join(entries).encode()
        if len(new) > old_len:
            return False
        if any(value < ref <= value + old_len for ref in _string_refs(r, dyn, tag)):
            return False
    except (struct.error, ValueError, IndexError, OverflowError):  # NotELF included: nothing is changed
        return False
    data[start:end] = new + b"\x00" * (old_len - len(new))
    path.write_bytes(bytes(data))
    return True


# --- the GPU code a module carries (.nv_fatbin) -----------------------------------------------------

FATBIN_MAGIC = 0xBA55ED50
_FATBIN_PTX, _FATBIN_ELF = 1, 2


def fatbin_archs(path: str | Path) -> tuple[str, ...]:
    """The GPU code in a module's `.nv_fatbin` section: ("sm_80", "sm_90", "compute_90"); () when none.

    Why: a build for another machine's GPU (`--cuda-arch 8.0` on an sm_90 build host) cannot be run
    here, so what it carries is read from the file instead. A fatbin is a run of blobs (magic
    0xBA55ED50, a 16-byte header, then entries); each entry starts with its kind (1 PTX, 2 SASS
    ELF), its header size and payload size, and holds the SM number at offset 28. Compressed payloads
    keep these headers, so nothing is decompressed. Raises NotELF for a file that is not ELF."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            raise NotELF(f"{path}: not an ELF file")
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:
            raise NotELF(f"{path}: empty or unreadable ({exc})") from None
    with data:

        def read() -> tuple[str, ...]:
            section = _Reader(data, path).section(".nv_fatbin")
            if section is None:
                return ()
            off, size = section
            return _fatbin_entries(data, off, min(off + size, len(data)))

        return _guarded(path, read)


def _fatbin_entries(data, start: int, end: int) -> tuple[str, ...]:
    found: set[tuple[int, str]] = set()
    pos = start
    while pos + 16 <= end:
        magic, _version, header_size, fat_size = struct.unpack_from("<IHHQ", data, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # blobs are 8-byte aligned, with padding between them
            continue
        entry, blob_end = pos + header_size, min(pos + header_size + fat_size, end)
        while entry + 32 <= blob_end:
            kind, _v, entry_header, payload = struct.unpack_from("<HHIQ", data, entry)
            (sm,) = struct.unpack_from("<I", data, entry + 28)
            if kind in (_FATBIN_PTX, _FATBIN_ELF) and 10 <= sm < 1000:
                found.add((sm, "compute" if kind == _FATBIN_PTX else "sm"))
            if entry_header < 32:
                break
            entry += entry_header + payload
        pos = max(blob_end, pos + 16)
    return tuple(f"{kind}_{sm}" for sm, kind in sorted(found, key=lambda t: (t[0], t[1] == "compute")))
