#ifndef LOOKOUT_CCURL_H
#define LOOKOUT_CCURL_H
// libcurl, loaded with dlopen on first use: an agent that makes no HTTP request never maps
// libcurl and the libraries it needs (OpenSSL's libssl, gnutls, LDAP, SSH, GSSAPI, ...), nor
// pays for curl_global_init. Every libcurl function is called through lookout_curl_*: typed
// wrappers for the variadic ones, which Swift cannot call, and plain forwarders for the rest.
#include <curl/curl.h>
#include <sys/prctl.h>

/// The libcurl functions lookout calls, resolved from libcurl.so.4 on first use.
struct lookout_curl_functions {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *h);
    void (*easy_reset)(CURL *h);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_setopt)(CURL *h, CURLoption o, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO i, ...);
    const char *(*easy_strerror)(CURLcode c);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *m);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption o, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int *ret);
    CURLMcode (*multi_wakeup)(CURLM *m);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *s, CURLSHoption o, ...);
    CURLSHcode (*share_cleanup)(CURLSH *s);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *u);
    CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
    const char *(*url_strerror)(CURLUcode c);
    void (*free)(void *p);
};

/// Loads libcurl once (thread-safe) and returns its functions; a missing libcurl ends the
/// process with a message naming the library and dlerror's reason.
const struct lookout_curl_functions *lookout_curl(void);

static inline CURLcode lookout_curl_global_init(long flags) { return lookout_curl()->global_init(flags); }
static inline CURL *lookout_curl_easy_init(void) { return lookout_curl()->easy_init(); }
static inline void lookout_curl_easy_cleanup(CURL *h) { lookout_curl()->easy_cleanup(h); }
static inline void lookout_curl_easy_reset(CURL *h) { lookout_curl()->easy_reset(h); }
static inline CURLcode lookout_curl_easy_perform(CURL *h) { return lookout_curl()->easy_perform(h); }
static inline const char *lookout_curl_easy_strerror(CURLcode c) { return lookout_curl()->easy_strerror(c); }
static inline struct curl_slist *lookout_curl_slist_append(struct curl_slist *list, const char *s) { return lookout_curl()->slist_append(list, s); }
static inline void lookout_curl_slist_free_all(struct curl_slist *list) { lookout_curl()->slist_free_all(list); }
static inline CURLM *lookout_curl_multi_init(void) { return lookout_curl()->multi_init(); }
static inline CURLMcode lookout_curl_multi_cleanup(CURLM *m) { return lookout_curl()->multi_cleanup(m); }
static inline CURLMcode lookout_curl_multi_add_handle(CURLM *m, CURL *h) { return lookout_curl()->multi_add_handle(m, h); }
static inline CURLMcode lookout_curl_multi_remove_handle(CURLM *m, CURL *h) { return lookout_curl()->multi_remove_handle(m, h); }
static inline CURLMcode lookout_curl_multi_perform(CURLM *m, int *running) { return lookout_curl()->multi_perform(m, running); }
static inline CURLMsg *lookout_curl_multi_info_read(CURLM *m, int *left) { return lookout_curl()->multi_info_read(m, left); }
static inline CURLMcode lookout_curl_multi_poll(CURLM *m, int timeout_ms) { return lookout_curl()->multi_poll(m, 0, 0, timeout_ms, 0); }
static inline CURLMcode lookout_curl_multi_wakeup(CURLM *m) { return lookout_curl()->multi_wakeup(m); }
static inline CURLSH *lookout_curl_share_init(void) { return lookout_curl()->share_init(); }
static inline CURLSHcode lookout_curl_share_cleanup(CURLSH *s) { return lookout_curl()->share_cleanup(s); }
static inline CURLU *lookout_curl_url(void) { return lookout_curl()->url(); }
static inline void lookout_curl_url_cleanup(CURLU *u) { lookout_curl()->url_cleanup(u); }
static inline const char *lookout_curl_url_strerror(CURLUcode c) { return lookout_curl()->url_strerror(c); }
static inline void lookout_curl_free(void *p) { lookout_curl()->free(p); }

static inline CURLcode lookout_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return lookout_curl()->easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return lookout_curl()->easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return lookout_curl()->easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return lookout_curl()->easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return lookout_curl()->easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback cb) { return lookout_curl()->easy_setopt(h, o, cb); }
typedef int (*lookout_curl_xferinfo_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode lookout_curl_easy_setopt_xferinfo_callback(CURL *h, lookout_curl_xferinfo_callback cb) { return lookout_curl()->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }

static inline CURLcode lookout_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return lookout_curl()->easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return lookout_curl()->easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return lookout_curl()->easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return lookout_curl()->easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return lookout_curl()->easy_getinfo(h, i, v); }

static inline CURLMcode lookout_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return lookout_curl()->multi_setopt(m, o, v); }

static inline CURLSHcode lookout_curl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return lookout_curl()->share_setopt(s, o, v); }

/// `CURLAUTH_BASIC` (a cast-and-shift macro Swift does not import).
static const long lookout_curl_auth_basic = (long)CURLAUTH_BASIC;

/// Names the calling thread (as /proc/PID/task/TID/comm shows it), for the thread that drives curl.
static inline void lookout_curl_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/// The kind of a `CURLMsg` (`CURLMSG_DONE` for a finished transfer).
static inline int lookout_curl_msg_is_done(const CURLMsg *msg) { return msg->msg == CURLMSG_DONE; }

/// The result code of a finished transfer (`CURLMsg.data.result`; a union Swift cannot read).
static inline CURLcode lookout_curl_msg_result(const CURLMsg *msg) { return msg->data.result; }

/// Parses `url` into `u` as libcurl parses what it fetches: a scheme is required (none is
/// guessed), spaces and control characters are refused.
static inline CURLUcode lookout_curl_url_parse(CURLU *u, const char *url) { return lookout_curl()->url_set(u, CURLUPART_URL, url, 0); }

/// One part of a parsed URL (`CURLUPART_SCHEME`, `_HOST`, `_PORT`, ...), NULL when the URL has
/// none; free it with `lookout_curl_free`.
static inline char *lookout_curl_url_part(CURLU *u, CURLUPart part) {
    char *out = NULL;
    return lookout_curl()->url_get(u, part, &out, 0) == CURLUE_OK ? out : NULL;
}
#endif
