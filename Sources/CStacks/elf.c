#include "CStacks.h"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

struct lookout_elf {
    Elf *elf;
};

static void init_libelf(void) {
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        elf_version(EV_CURRENT);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
}

lookout_elf *lookout_elf_open(int fd) {
    init_libelf();
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) return NULL;
    if (elf_kind(elf) != ELF_K_ELF) {
        elf_end(elf);
        return NULL;
    }
    lookout_elf *e = calloc(1, sizeof *e);
    if (!e) {
        elf_end(elf);
        return NULL;
    }
    e->elf = elf;
    return e;
}

void lookout_elf_close(lookout_elf *e) {
    if (!e) return;
    elf_end(e->elf);
    free(e);
}

int lookout_elf_type(const lookout_elf *e) {
    GElf_Ehdr ehdr;
    if (!gelf_getehdr(e->elf, &ehdr)) return -1;
    return ehdr.e_type;
}

/// Finds the GNU build-id in one note data block.
static size_t build_id_in(Elf_Data *data, uint8_t *out, size_t cap) {
    size_t offset = 0, name_offset, desc_offset;
    GElf_Nhdr nhdr;
    while ((offset = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
        if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
            memcmp((const char *)data->d_buf + name_offset, "GNU", 4) == 0) {
            size_t n = nhdr.n_descsz < cap ? nhdr.n_descsz : cap;
            memcpy(out, (const char *)data->d_buf + desc_offset, n);
            return n;
        }
    }
    return 0;
}

size_t lookout_elf_build_id(lookout_elf *e, uint8_t *out, size_t cap) {
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data) continue;
        size_t n = build_id_in(data, out, cap);
        if (n) return n;
    }
    // No section headers (or no note sections): the PT_NOTE segments.
    size_t phnum;
    if (elf_getphdrnum(e->elf, &phnum) != 0) return 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        if (!gelf_getphdr(e->elf, (int)i, &phdr) || phdr.p_type != PT_NOTE) continue;
        Elf_Data *data = elf_getdata_rawchunk(e->elf, phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
        if (!data) continue;
        size_t n = build_id_in(data, out, cap);
        if (n) return n;
    }
    return 0;
}

static Elf_Scn *section_named(lookout_elf *e, const char *name, GElf_Shdr *shdr) {
    size_t shstrndx;
    if (elf_getshdrstrndx(e->elf, &shstrndx) != 0) return NULL;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
        if (!gelf_getshdr(scn, shdr)) continue;
        const char *n = elf_strptr(e->elf, shstrndx, shdr->sh_name);
        if (n && strcmp(n, name) == 0) return scn;
    }
    return NULL;
}

size_t lookout_elf_debuglink(lookout_elf *e, char *out, size_t cap, uint32_t *crc) {
    GElf_Shdr shdr;
    Elf_Scn *scn = section_named(e, ".gnu_debuglink", &shdr);
    if (!scn || cap == 0) return 0;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || data->d_size < 8) return 0;
    const char *name = data->d_buf;
    size_t len = strnlen(name, data->d_size);
    if (len == 0 || len >= cap) return 0;
    size_t crc_at = (len + 4) & ~(size_t)3;
    if (crc_at + 4 > data->d_size) return 0;
    memcpy(out, name, len);
    out[len] = 0;
    memcpy(crc, (const char *)data->d_buf + crc_at, 4);
    return len;
}

int lookout_elf_segments(lookout_elf *e, lookout_elf_segment *out, int cap) {
    size_t phnum;
    if (elf_getphdrnum(e->elf, &phnum) != 0) return 0;
    int n = 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        if (!gelf_getphdr(e->elf, (int)i, &phdr) || phdr.p_type != PT_LOAD) continue;
        if (n < cap) {
            out[n].offset = phdr.p_offset;
            out[n].vaddr = phdr.p_vaddr;
            out[n].filesz = phdr.p_filesz;
            out[n].memsz = phdr.p_memsz;
            out[n].flags = phdr.p_flags;
        }
        n++;
    }
    return n;
}

int lookout_elf_has_section(lookout_elf *e, const char *name) {
    GElf_Shdr shdr;
    Elf_Scn *scn = section_named(e, name, &shdr);
    return scn && shdr.sh_type != SHT_NOBITS && shdr.sh_size > 0;
}

long lookout_elf_symbols(lookout_elf *e, int dynamic, lookout_elf_symbol *out, long cap) {
    Elf_Scn *scn = NULL;
    GElf_Shdr shdr;
    Elf32_Word want = dynamic ? SHT_DYNSYM : SHT_SYMTAB;
    while ((scn = elf_nextscn(e->elf, scn)) != NULL) {
        if (gelf_getshdr(scn, &shdr) && shdr.sh_type == want) break;
    }
    if (!scn || shdr.sh_entsize == 0) return 0;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data) return 0;
    size_t count = shdr.sh_size / shdr.sh_entsize;
    long n = 0;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym)) continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
        const char *name = elf_strptr(e->elf, shdr.sh_link, sym.st_name);
        if (!name || !*name) continue;
        if (n < cap) {
            out[n].value = sym.st_value;
            out[n].size = sym.st_size;
            out[n].name = name;
            out[n].binding = (uint8_t)GELF_ST_BIND(sym.st_info);
        }
        n++;
    }
    return n;
}

size_t lookout_elf_read(lookout_elf *e, uint64_t addr, uint8_t *out, size_t n) {
    size_t phnum;
    if (elf_getphdrnum(e->elf, &phnum) != 0) return 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr phdr;
        if (!gelf_getphdr(e->elf, (int)i, &phdr) || phdr.p_type != PT_LOAD) continue;
        if (addr < phdr.p_vaddr || addr >= phdr.p_vaddr + phdr.p_filesz) continue;
        uint64_t avail = phdr.p_vaddr + phdr.p_filesz - addr;
        size_t len = n < avail ? n : (size_t)avail;
        size_t file_size = 0;
        const char *image = elf_rawfile(e->elf, &file_size);
        uint64_t at = phdr.p_offset + (addr - phdr.p_vaddr);
        if (!image || at + len > file_size) return 0;
        memcpy(out, image + at, len);
        return len;
    }
    return 0;
}

// MARK: DWARF line tables

/// The address ranges of one compilation unit, sorted for a binary search.
typedef struct unit_range {
    uint64_t low, high;
    Dwarf_Off die_offset;
} unit_range;

struct lookout_lines {
    Elf *elf;
    Dwarf *dwarf;
    unit_range *ranges;
    size_t count;
    size_t bytes;
};

static int compare_ranges(const void *a, const void *b) {
    const unit_range *x = a, *y = b;
    return x->low < y->low ? -1 : x->low > y->low;
}

static size_t section_bytes(Elf *elf, const char *prefix) {
    size_t shstrndx, total = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) return 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) continue;
        const char *n = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (n && strncmp(n, prefix, strlen(prefix)) == 0) total += shdr.sh_size;
    }
    return total;
}

lookout_lines *lookout_lines_open(int fd) {
    init_libelf();
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf) return NULL;
    Dwarf *dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
    if (!dwarf) {
        elf_end(elf);
        return NULL;
    }
    lookout_lines *l = calloc(1, sizeof *l);
    if (!l) {
        dwarf_end(dwarf);
        elf_end(elf);
        return NULL;
    }
    l->elf = elf;
    l->dwarf = dwarf;
    // Every unit's ranges (DW_AT_low_pc/high_pc or DW_AT_ranges): .debug_aranges is
    // optional and compilers no longer always write it.
    size_t cap = 0;
    Dwarf_Off off = 0, next;
    size_t header_size;
    while (dwarf_nextcu(dwarf, off, &next, &header_size, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dwarf, off + header_size, &cu)) {
            Dwarf_Addr base, low, high;
            ptrdiff_t r = 0;
            while ((r = dwarf_ranges(&cu, r, &base, &low, &high)) > 0) {
                if (high <= low) continue;
                if (l->count == cap) {
                    cap = cap ? cap * 2 : 64;
                    unit_range *grown = realloc(l->ranges, cap * sizeof *grown);
                    if (!grown) break;
                    l->ranges = grown;
                }
                l->ranges[l->count++] = (unit_range){low, high, off + header_size};
            }
        }
        off = next;
    }
    qsort(l->ranges, l->count, sizeof *l->ranges, compare_ranges);
    l->bytes = section_bytes(elf, ".debug_line") + section_bytes(elf, ".debug_info") +
               section_bytes(elf, ".zdebug_line") + section_bytes(elf, ".zdebug_info") +
               l->count * sizeof *l->ranges;
    return l;
}

void lookout_lines_close(lookout_lines *l) {
    if (!l) return;
    dwarf_end(l->dwarf);
    elf_end(l->elf);
    free(l->ranges);
    free(l);
}

int lookout_lines_find(lookout_lines *l, uint64_t addr, const char **file, int *line) {
    // The last range starting at or before addr, then back over overlapping ones.
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->ranges[mid].low <= addr) lo = mid + 1; else hi = mid;
    }
    for (size_t i = lo; i > 0; i--) {
        unit_range *r = &l->ranges[i - 1];
        if (addr >= r->high) continue;
        Dwarf_Die cu;
        if (!dwarf_offdie(l->dwarf, r->die_offset, &cu)) continue;
        Dwarf_Line *dl = dwarf_getsrc_die(&cu, addr);
        if (!dl) continue;
        int n = 0;
        const char *f = dwarf_linesrc(dl, NULL, NULL);
        if (!f || dwarf_lineno(dl, &n) != 0) continue;
        *file = f;
        *line = n;
        return 1;
    }
    return 0;
}

size_t lookout_lines_bytes(const lookout_lines *l) { return l->bytes; }
