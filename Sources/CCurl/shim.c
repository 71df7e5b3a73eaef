// libcurl's functions, resolved from libcurl.so.4 the first time one is called (see include/CCurl.h).
#include "CCurl.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static struct lookout_curl_functions functions;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void *resolve(void *library, const char *name) {
    void *f = dlsym(library, name);
    if (!f) {
        fprintf(stderr, "lookout: libcurl.so.4 has no %s: %s\n", name, dlerror());
        abort();
    }
    return f;
}

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "lookout: cannot load libcurl (libcurl.so.4, Debian package libcurl4): %s\n", dlerror());
        abort();
    }
#define RESOLVE(field) *(void **)&functions.field = resolve(library, "curl_" #field)
    RESOLVE(global_init);
    RESOLVE(easy_init);
    RESOLVE(easy_cleanup);
    RESOLVE(easy_reset);
    RESOLVE(easy_perform);
    RESOLVE(easy_setopt);
    RESOLVE(easy_getinfo);
    RESOLVE(easy_strerror);
    RESOLVE(slist_append);
    RESOLVE(slist_free_all);
    RESOLVE(multi_init);
    RESOLVE(multi_cleanup);
    RESOLVE(multi_setopt);
    RESOLVE(multi_add_handle);
    RESOLVE(multi_remove_handle);
    RESOLVE(multi_perform);
    RESOLVE(multi_info_read);
    RESOLVE(multi_poll);
    RESOLVE(multi_wakeup);
    RESOLVE(share_init);
    RESOLVE(share_setopt);
    RESOLVE(share_cleanup);
    RESOLVE(url);
    RESOLVE(url_cleanup);
    RESOLVE(url_set);
    RESOLVE(url_get);
    RESOLVE(url_strerror);
    RESOLVE(free);
#undef RESOLVE
}

const struct lookout_curl_functions *lookout_curl(void) {
    pthread_once(&loaded, load);
    return &functions;
}
