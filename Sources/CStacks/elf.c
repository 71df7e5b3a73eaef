#include "CStacks.h"

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <malloc.h>
#include <stdbool.h>
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

void lookout_trim_heap(void) { malloc_trim(0); }

// MARK: DWARF line tables

// A compact copy of the line tables: one row where the (file, line) changes, 12 bytes each,
// file names interned. Built from .debug_line alone (DWARF 5 line tables are self-contained,
// so the far larger .debug_info is not decompressed), then libdw is closed: memory is the
// rows and the names, not the DWARF.

typedef struct line_row {
    uint32_t addr;  // from base
    uint32_t line;  // 0: end of a sequence (no line here)
    uint32_t file;
} line_row;

struct lookout_lines {
    uint64_t base;
    line_row *rows;
    size_t count;
    char **files;
    size_t nfiles;
    size_t bytes;
};

typedef struct raw_row {
    uint64_t addr;
    uint32_t line;
    uint32_t file;
} raw_row;

static int compare_raw(const void *a, const void *b) {
    const raw_row *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    // At one address an end of sequence goes first: the next sequence starts there.
    return (x->line != 0) - (y->line != 0);
}

/// File names interned by content (open addressing on an FNV-1a hash).
typedef struct names {
    char **all;
    size_t count, cap;
    uint32_t *slots;  // index + 1, 0 empty
    size_t nslots;
    size_t bytes;
} names;

static uint32_t intern_name(names *n, const char *s) {
    if (n->count * 2 >= n->nslots) {
        size_t nslots = n->nslots ? n->nslots * 2 : 1024;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (!slots) return 0;
        for (size_t i = 0; i < n->nslots; i++) {
            if (!n->slots[i]) continue;
            uint64_t h = 1469598103934665603ull;
            for (const char *p = n->all[n->slots[i] - 1]; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
            size_t j = h & (nslots - 1);
            while (slots[j]) j = (j + 1) & (nslots - 1);
            slots[j] = n->slots[i];
        }
        free(n->slots);
        n->slots = slots;
        n->nslots = nslots;
    }
    uint64_t h = 1469598103934665603ull;
    for (const char *p = s; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    size_t j = h & (n->nslots - 1);
    while (n->slots[j]) {
        if (strcmp(n->all[n->slots[j] - 1], s) == 0) return n->slots[j] - 1;
        j = (j + 1) & (n->nslots - 1);
    }
    if (n->count == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 256;
        char **all = realloc(n->all, cap * sizeof *all);
        if (!all) return 0;
        n->all = all;
        n->cap = cap;
    }
    n->all[n->count] = strdup(s);
    n->bytes += strlen(s) + 1 + sizeof(char *);
    n->slots[j] = (uint32_t)(n->count + 1);
    return (uint32_t)n->count++;
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
    raw_row *raw = NULL;
    size_t count = 0, cap = 0;
    names files = {0};
    Dwarf_Off off = 0, next;
    Dwarf_CU *cu = NULL;
    Dwarf_Lines *lines;
    size_t nlines;
    while (dwarf_next_lines(dwarf, off, &next, &cu, NULL, NULL, &lines, &nlines) == 0) {
        off = next;
        uint32_t last_file = UINT32_MAX, last_line = UINT32_MAX;
        for (size_t i = 0; i < nlines; i++) {
            Dwarf_Line *dl = dwarf_onesrcline(lines, i);
            Dwarf_Addr addr;
            int n = 0;
            bool end = false;
            if (!dl || dwarf_lineaddr(dl, &addr) != 0 || dwarf_lineno(dl, &n) != 0) continue;
            dwarf_lineendsequence(dl, &end);
            uint32_t file = 0, line = end ? 0 : (uint32_t)(n > 0 ? n : 1);
            if (!end) {
                const char *f = dwarf_linesrc(dl, NULL, NULL);
                file = intern_name(&files, f ? f : "");
                if (file == last_file && line == last_line) continue;
            }
            last_file = end ? UINT32_MAX : file;
            last_line = end ? UINT32_MAX : line;
            if (count == cap) {
                cap = cap ? cap * 2 : 4096;
                raw_row *grown = realloc(raw, cap * sizeof *raw);
                if (!grown) break;
                raw = grown;
            }
            raw[count++] = (raw_row){addr, line, file};
        }
    }
    dwarf_end(dwarf);
    elf_end(elf);
    lookout_lines *l = calloc(1, sizeof *l);
    if (!l || count == 0) {
        free(raw);
        for (size_t i = 0; i < files.count; i++) free(files.all[i]);
        free(files.all);
        free(files.slots);
        free(l);
        return NULL;
    }
    qsort(raw, count, sizeof *raw, compare_raw);
    l->base = raw[0].addr;
    l->rows = malloc(count * sizeof *l->rows);
    for (size_t i = 0; i < count && l->rows; i++) {
        if (raw[i].addr - l->base > UINT32_MAX) break;
        l->rows[l->count++] = (line_row){(uint32_t)(raw[i].addr - l->base), raw[i].line, raw[i].file};
    }
    free(raw);
    free(files.slots);
    // libdw decoded every unit's table in small allocations: give the freed memory back.
    malloc_trim(0);
    l->files = files.all;
    l->nfiles = files.count;
    l->bytes = l->count * sizeof *l->rows + files.bytes + sizeof *l;
    return l;
}

void lookout_lines_close(lookout_lines *l) {
    if (!l) return;
    for (size_t i = 0; i < l->nfiles; i++) free(l->files[i]);
    free(l->files);
    free(l->rows);
    free(l);
}

int lookout_lines_find(lookout_lines *l, uint64_t addr, const char **file, int *line) {
    if (addr < l->base || addr - l->base > UINT32_MAX) return 0;
    uint32_t a = (uint32_t)(addr - l->base);
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->rows[mid].addr <= a) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return 0;
    const line_row *r = &l->rows[lo - 1];
    if (r->line == 0 || r->file >= l->nfiles) return 0;
    *file = l->files[r->file];
    *line = (int)r->line;
    return 1;
}

size_t lookout_lines_bytes(const lookout_lines *l) { return l->bytes; }
