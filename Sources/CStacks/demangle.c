#include "CStacks.h"

#include <stdlib.h>

// libstdc++'s demangler (linked by every Swift program on Linux).
extern char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);

char *lookout_demangle_cxx(const char *name) {
    int status = 0;
    char *out = __cxa_demangle(name, NULL, NULL, &status);
    if (status != 0) {
        free(out);
        return NULL;
    }
    return out;
}

// The Swift runtime's demangler. Weak: the symbol comes from libswiftCore, shared or
// statically linked (--static-swift-stdlib), which every Swift program links.
extern char *swift_demangle(const char *mangled, size_t length, char *buffer, size_t *buffer_size,
                            uint32_t flags) __attribute__((weak));

char *lookout_demangle_swift(const char *name, size_t length) {
    if (!swift_demangle) return NULL;
    return swift_demangle(name, length, NULL, NULL, 0);
}

void lookout_free(void *p) { free(p); }
