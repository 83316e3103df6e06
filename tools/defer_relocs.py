#!/usr/bin/python3
"""Take a range's relocations out of the loader's list in a linked library.

    tools/defer_relocs.py LIBRARY

The loader applies every relocation of .rela.dyn at every exec, and each
page it writes costs a page fault. The range [__tm_je_ctl_start,
__tm_je_ctl_end) (jemalloc's mallctl tree, allocator/exec.ld) is used by few
programs, so its R_X86_64_RELATIVE entries go to the end of .rela.dyn,
behind the loader's DT_RELASZ, and the descriptor tm_je_ctl_relocs (read-only
data) says where they are and how many: allocator/je_ctl.c applies them at
the first mallctl. Running it again on its output changes nothing. On other
architectures it leaves the library as it is.
"""
import os
import struct
import sys

RELA = struct.Struct("<QQq")  # r_offset, r_info, r_addend
DYN = struct.Struct("<qQ")  # d_tag, d_val
SHDR = struct.Struct("<IIQQQQIIQQ")
SYM = struct.Struct("<IBBHQQ")
R_X86_64_RELATIVE = 8
DT_NULL, DT_RELA, DT_RELASZ, DT_RELACOUNT = 0, 7, 8, 0x6FFFFFF9
PT_LOAD = 1
DESCRIPTOR = "tm_je_ctl_relocs"
MAGIC = 0x746D637472656C6F  # je_ctl.c's TM_JE_CTL_MAGIC


class Elf:
    def __init__(self, data):
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
        self.sections = [SHDR.unpack_from(data, shoff + i * SHDR.size) for i in range(shnum)]
        names = self.sections[shstrndx]
        self.by_name = {self.string(names, s[0]): s for s in self.sections}

    def string(self, strtab, index):
        start = strtab[4] + index
        return self.data[start:self.data.index(b"\0", start)].decode()

    def section(self, name):
        if name not in self.by_name:
            sys.exit(f"defer_relocs: no {name} section (stripped?)")
        return self.by_name[name]

    def symbols(self):
        symtab = self.section(".symtab")
        strtab = self.sections[symtab[6]]
        for at in range(symtab[4], symtab[4] + symtab[5], SYM.size):
            name, _, _, _, value, _ = SYM.unpack_from(self.data, at)
            yield self.string(strtab, name), value

    def file_offset(self, addr):
        for s in self.sections:
            if s[1] != 8 and s[3] <= addr < s[3] + s[5]:  # not SHT_NOBITS
                return s[4] + addr - s[3]
        sys.exit(f"defer_relocs: address {addr:#x} is in no section of the file")


def partition(entries, start, end):
    """(kept, deferred): kept in the linker's order, its RELATIVE ones first
    as DT_RELACOUNT requires; deferred, the RELATIVE ones in [start, end)."""
    def in_range(e):
        return start <= e[0] < end

    if any(in_range(e) and e[1] & 0xFFFFFFFF != R_X86_64_RELATIVE for e in entries):
        sys.exit("defer_relocs: a symbol relocation in the range: it cannot wait")
    return [e for e in entries if not in_range(e)], [e for e in entries if in_range(e)]


def relative_prefix(entries):
    """DT_RELACOUNT: the loader takes that many leading entries as RELATIVE."""
    count = 0
    while count < len(entries) and entries[count][1] & 0xFFFFFFFF == R_X86_64_RELATIVE:
        count += 1
    return count


def dynamic_entries(elf):
    """(file offset, tag, value) of each .dynamic entry before DT_NULL."""
    dynamic = elf.section(".dynamic")
    for at in range(dynamic[4], dynamic[4] + dynamic[5], DYN.size):
        tag, value = DYN.unpack_from(elf.data, at)
        if tag == DT_NULL:
            return
        yield at, tag, value


def check_layout(elf, rela):
    """What the rewrite and je_ctl.c assume: the loader's list is .rela.dyn
    from its start (no more, as it would be with .rela.plt counted in), and
    the image starts at address 0 (__ehdr_start is the load address)."""
    tags = {tag: value for _, tag, value in dynamic_entries(elf)}
    if tags.get(DT_RELA) != rela[3] or not 0 < tags.get(DT_RELASZ, 0) <= rela[5]:
        sys.exit("defer_relocs: DT_RELA/DT_RELASZ are not .rela.dyn's")
    phoff, = struct.unpack_from("<Q", elf.data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf.data, 0x36)
    loads = [struct.unpack_from("<IIQQ", elf.data, phoff + i * phentsize)
             for i in range(phnum)]
    if min(vaddr for kind, _, _, vaddr in loads if kind == PT_LOAD) != 0:
        sys.exit("defer_relocs: the first segment is not at address 0")


def rewrite_dynamic(elf, relasz, relacount):
    for at, tag, _ in dynamic_entries(elf):
        if tag in (DT_RELASZ, DT_RELACOUNT):
            DYN.pack_into(elf.data, at, tag, relasz if tag == DT_RELASZ else relacount)


def x86_64(data):
    return data[:5] == b"\x7fELF\x02" and struct.unpack_from("<H", data, 0x12)[0] == 62


def main(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if not x86_64(data):  # the relocation types below are x86-64's
        print(f"defer_relocs: {path} is not x86-64: the loader relocates it all")
        return
    elf = Elf(data)
    symbols = dict(elf.symbols())
    for name in ("__tm_je_ctl_start", "__tm_je_ctl_end", DESCRIPTOR):
        if name not in symbols:
            sys.exit(f"defer_relocs: {path} has no symbol {name}")
    rela = elf.section(".rela.dyn")
    check_layout(elf, rela)
    entries = [RELA.unpack_from(elf.data, at) for at in range(rela[4], rela[4] + rela[5], RELA.size)]
    kept, deferred = partition(entries, symbols["__tm_je_ctl_start"], symbols["__tm_je_ctl_end"])
    if not deferred:
        sys.exit("defer_relocs: no relocations in the range: is exec.ld's pattern stale?")
    for i, e in enumerate(kept + deferred):
        RELA.pack_into(elf.data, rela[4] + i * RELA.size, *e)
    rewrite_dynamic(elf, len(kept) * RELA.size, relative_prefix(kept))
    at = elf.file_offset(symbols[DESCRIPTOR])
    if struct.unpack_from("<Q", elf.data, at)[0] != MAGIC:
        sys.exit(f"defer_relocs: {DESCRIPTOR} does not start with its magic number")
    struct.pack_into("<QQ", elf.data, at + 8, rela[3] + len(kept) * RELA.size, len(deferred))
    with open(path + ".tmp", "wb") as f:
        f.write(elf.data)
    os.chmod(path + ".tmp", os.stat(path).st_mode)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
