#ifndef LOOKOUT_CCURL_H
#define LOOKOUT_CCURL_H
// Typed wrappers for libcurl's variadic functions, which Swift cannot call.
#include <curl/curl.h>
#include <sys/prctl.h>

static inline CURLcode lookout_curl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode lookout_curl_easy_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback cb) { return curl_easy_setopt(h, o, cb); }
typedef int (*lookout_curl_xferinfo_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode lookout_curl_easy_setopt_xferinfo_callback(CURL *h, lookout_curl_xferinfo_callback cb) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }

static inline CURLcode lookout_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode lookout_curl_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode lookout_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

static inline CURLSHcode lookout_curl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }

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
static inline CURLUcode lookout_curl_url_parse(CURLU *u, const char *url) { return curl_url_set(u, CURLUPART_URL, url, 0); }

/// One part of a parsed URL (`CURLUPART_SCHEME`, `_HOST`, `_PORT`, ...), NULL when the URL has
/// none; free it with `curl_free`.
static inline char *lookout_curl_url_part(CURLU *u, CURLUPart part) {
    char *out = NULL;
    return curl_url_get(u, part, &out, 0) == CURLUE_OK ? out : NULL;
}
#endif
