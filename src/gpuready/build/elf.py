"""The dynamic section of an ELF shared object: NEEDED libraries and RUNPATH, in pure Python.

Why not `readelf -d`: binutils is not everywhere (a slim container, a conda env without it), and
this check is what proves a built module is sound: it must need `libstdc++.so.6` (a module that
links libstdc++ statically crashed next to numpy and torch on the test machine), `libcudnn.so.N`
and `libcublas.so.N` (else CUDA was not really linked), and its RUNPATH says where it will look.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 15, 29
PT_LOAD, PT_DYNAMIC = 1, 2


class NotELF(ValueError):
    """Not an ELF file (or a truncated one)."""


@dataclass
class DynamicInfo:
    needed: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    machine: int = 0

    def needs(self, prefix: str) -> bool:
        return any(n.startswith(prefix) for n in self.needed)


def read_dynamic(path: str | Path) -> DynamicInfo:
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        raise NotELF(f"{path}: not an ELF file")
    cls, enc = data[4], data[5]
    if cls not in (1, 2) or enc not in (1, 2):
        raise NotELF(f"{path}: unknown ELF class/encoding")
    e = "<" if enc == 1 else ">"
    is64 = cls == 2
    try:
        if is64:
            (e_machine,) = struct.unpack_from(e + "H", data, 18)
            e_phoff, = struct.unpack_from(e + "Q", data, 32)
            e_phentsize, e_phnum = struct.unpack_from(e + "HH", data, 54)
        else:
            (e_machine,) = struct.unpack_from(e + "H", data, 18)
            e_phoff, = struct.unpack_from(e + "I", data, 28)
            e_phentsize, e_phnum = struct.unpack_from(e + "HH", data, 42)
        loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        dyn_off = dyn_size = None
        for i in range(e_phnum):
            off = e_phoff + i * e_phentsize
            if is64:
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(e + "IIQQQQ", data, off)
            else:
                p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(e + "IIIII", data, off)
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC:
                dyn_off, dyn_size = p_offset, p_filesz
        info = DynamicInfo(machine=e_machine)
        if dyn_off is None:
            return info  # a static object: nothing needed
        entries: list[tuple[int, int]] = []
        step = 16 if is64 else 8
        fmt = e + ("qQ" if is64 else "iI")
        for pos in range(dyn_off, dyn_off + dyn_size, step):
            tag, val = struct.unpack_from(fmt, data, pos)
            if tag == DT_NULL:
                break
            entries.append((tag, val))
        strtab_vaddr = next((v for t, v in entries if t == DT_STRTAB), None)
        if strtab_vaddr is None:
            return info
        strtab = _vaddr_to_offset(strtab_vaddr, loads)

        def string(offset: int) -> str:
            start = strtab + offset
            end = data.index(b"\x00", start)
            return data[start:end].decode("utf-8", errors="replace")

        for tag, val in entries:
            if tag == DT_NEEDED:
                info.needed.append(string(val))
            elif tag == DT_RUNPATH:
                info.runpath.extend(p for p in string(val).split(":") if p)
            elif tag == DT_RPATH:
                info.rpath.extend(p for p in string(val).split(":") if p)
        return info
    except (struct.error, ValueError) as exc:
        if isinstance(exc, NotELF):
            raise
        raise NotELF(f"{path}: truncated or malformed ELF ({exc})") from None


def _vaddr_to_offset(vaddr: int, loads: list[tuple[int, int, int]]) -> int:
    for seg_vaddr, seg_off, seg_size in loads:
        if seg_vaddr <= vaddr < seg_vaddr + max(seg_size, 1):
            return vaddr - seg_vaddr + seg_off
    return vaddr  # unmapped: assume file offset == address (objects with no program headers)


def check_module(path: str | Path, needed_prefixes: tuple[str, ...]) -> list[str]:
    """Problems with a built extension module: missing NEEDED entries (by prefix)."""
    try:
        info = read_dynamic(path)
    except (NotELF, OSError) as exc:
        return [str(exc)]
    problems = []
    for prefix in needed_prefixes:
        if not info.needs(prefix):
            if prefix.startswith("libstdc++"):
                problems.append(
                    f"{Path(path).name} does not need {prefix}: it links libstdc++ statically (a second toolchain such as "
                    "/opt/gcc), which crashes next to numpy/torch; rebuild with the system g++"
                )
            else:
                problems.append(f"{Path(path).name} does not link {prefix}* (NEEDED: {', '.join(info.needed) or 'none'})")
    return problems


# --- RUNPATH rewrite (in place) ----------------------------------------------------------------

SHT_DYNSYM, SHT_GNU_VERDEF, SHT_GNU_VERNEED = 11, 0x6FFFFFFD, 0x6FFFFFFE
DT_SONAME = 14


def _string_refs(data: bytes, e: str, is64: bool, entries: list[tuple[int, int]], skip_tag: int) -> list[int]:
    """Offsets into .dynstr used by anything but the RUNPATH entry: other dynamic entries, symbol
    names, version needs/definitions. A rewrite must not touch a string another one shares
    (linkers merge string tails)."""
    refs = [v for t, v in entries if t in (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH) and t != skip_tag]
    if is64:
        (e_shoff,) = struct.unpack_from(e + "Q", data, 40)
        e_shentsize, e_shnum = struct.unpack_from(e + "HH", data, 58)
    else:
        (e_shoff,) = struct.unpack_from(e + "I", data, 32)
        e_shentsize, e_shnum = struct.unpack_from(e + "HH", data, 46)
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        if is64:
            _n, sh_type, _f, _a, sh_offset, sh_size, _l, sh_info, _al, sh_entsize = struct.unpack_from(e + "IIQQQQIIQQ", data, off)
        else:
            _n, sh_type, _f, _a, sh_offset, sh_size, _l, sh_info, _al, sh_entsize = struct.unpack_from(e + "IIIIIIIIII", data, off)
        if sh_type == SHT_DYNSYM and sh_entsize:
            for pos in range(sh_offset, sh_offset + sh_size, sh_entsize):
                refs.append(struct.unpack_from(e + "I", data, pos)[0])
        elif sh_type == SHT_GNU_VERNEED:
            pos = sh_offset
            for _ in range(sh_info):
                _v, cnt, vn_file, vn_aux, vn_next = struct.unpack_from(e + "HHIII", data, pos)
                refs.append(vn_file)
                apos = pos + vn_aux
                for _ in range(cnt):
                    _h, _fl, _o, vna_name, vna_next = struct.unpack_from(e + "IHHII", data, apos)
                    refs.append(vna_name)
                    apos += vna_next
                if not vn_next:
                    break
                pos += vn_next
        elif sh_type == SHT_GNU_VERDEF:
            pos = sh_offset
            for _ in range(sh_info):
                _v, _fl, _ndx, cnt, _h, vd_aux, vd_next = struct.unpack_from(e + "HHHHIII", data, pos)
                apos = pos + vd_aux
                for _ in range(cnt):
                    vda_name, vda_next = struct.unpack_from(e + "II", data, apos)
                    refs.append(vda_name)
                    apos += vda_next
                if not vd_next:
                    break
                pos += vd_next
    return refs


def rewrite_runpath(path: str | Path, entries: list[str]) -> bool:
    """Replace the module's RUNPATH (or RPATH) with `entries`, in place, when the new string fits in
    the old one's bytes and no other string shares them. Returns whether the file was changed.

    Why in place: gpuready needs no patchelf, and a shorter string is all it ever writes
    (an absolute folder of the build machine becomes `$ORIGIN/...`).
    """
    path = Path(path)
    data = bytearray(path.read_bytes())
    if data[:4] != b"\x7fELF":
        return False
    e = "<" if data[5] == 1 else ">"
    is64 = data[4] == 2
    if is64:
        e_phoff, = struct.unpack_from(e + "Q", data, 32)
        e_phentsize, e_phnum = struct.unpack_from(e + "HH", data, 54)
    else:
        e_phoff, = struct.unpack_from(e + "I", data, 28)
        e_phentsize, e_phnum = struct.unpack_from(e + "HH", data, 42)
    loads, dyn = [], None
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        if is64:
            p_type, _f, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(e + "IIQQQQ", data, off)
        else:
            p_type, p_offset, p_vaddr, _pa, p_filesz = struct.unpack_from(e + "IIIII", data, off)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dyn = (p_offset, p_filesz)
    if dyn is None:
        return False
    step, fmt = (16, e + "qQ") if is64 else (8, e + "iI")
    dyn_entries = []
    for pos in range(dyn[0], dyn[0] + dyn[1], step):
        tag, val = struct.unpack_from(fmt, data, pos)
        if tag == DT_NULL:
            break
        dyn_entries.append((tag, val))
    tag = DT_RUNPATH if any(t == DT_RUNPATH for t, _ in dyn_entries) else DT_RPATH
    value = next((v for t, v in dyn_entries if t == tag), None)
    strtab_vaddr = next((v for t, v in dyn_entries if t == DT_STRTAB), None)
    if value is None or strtab_vaddr is None:
        return False
    strtab = _vaddr_to_offset(strtab_vaddr, loads)
    start = strtab + value
    end = data.index(b"\x00", start)
    old_len = end - start
    new = ":".join(entries).encode()
    if len(new) > old_len:
        return False
    if any(value < r <= value + old_len for r in _string_refs(bytes(data), e, is64, dyn_entries, tag)):
        return False
    data[start:end] = new + b"\x00" * (old_len - len(new))
    path.write_bytes(bytes(data))
    return True


# --- the GPU code a module carries (.nv_fatbin) -------------------------------------------------

FATBIN_MAGIC = 0xBA55ED50
_FATBIN_PTX, _FATBIN_ELF = 1, 2


def fatbin_archs(path: str | Path) -> tuple[str, ...]:
    """The GPU code in a module's `.nv_fatbin` section: ("sm_80", "sm_90", "compute_90"); () when none.

    Why: a build for another machine's GPU (`--cuda-arch 8.0` on an sm_90 build host) cannot be run
    here, so what it carries is read from the file instead. A fatbin is a run of blobs (magic
    0xBA55ED50, a 16-byte header, then entries); each entry starts with its kind (1 PTX, 2 SASS
    ELF), its header size and payload size, and holds the SM number at offset 28. Compressed payloads
    keep these headers, so nothing is decompressed. Raises NotELF for a file that is not ELF."""
    import mmap

    with open(path, "rb") as fh:
        if fh.read(4) != b"\x7fELF":
            raise NotELF(f"{path}: not an ELF file")
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:
            raise NotELF(f"{path}: empty or unreadable ({exc})") from None
    with data:
        try:
            section = _section(data, ".nv_fatbin")
            if section is None:
                return ()
            off, size = section
            return _fatbin_entries(data, off, min(off + size, len(data)))
        except (struct.error, ValueError, IndexError) as exc:
            raise NotELF(f"{path}: truncated or malformed ELF ({exc})") from None


def _section(data, wanted: str) -> tuple[int, int] | None:
    """(file offset, size) of the section named `wanted`, from the section headers."""
    cls, enc = data[4], data[5]
    e = "<" if enc == 1 else ">"
    if cls == 2:
        (shoff,) = struct.unpack_from(e + "Q", data, 40)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 58)
        fmt, name_at, off_at = e + "IIQQQQ", 0, 4
    else:
        (shoff,) = struct.unpack_from(e + "I", data, 32)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 46)
        fmt, name_at, off_at = e + "IIIIII", 0, 4
    if not shoff or shstrndx >= shnum:
        return None

    def header(i: int) -> tuple:
        return struct.unpack_from(fmt, data, shoff + i * shentsize)

    strtab = header(shstrndx)[off_at]
    key = wanted.encode() + b"\x00"
    for i in range(shnum):
        h = header(i)
        name = h[name_at]
        if data[strtab + name : strtab + name + len(key)] == key:
            return h[off_at], h[off_at + 1]
    return None


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
