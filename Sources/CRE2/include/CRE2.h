#ifndef LOOKOUT_CRE2_H
#define LOOKOUT_CRE2_H
// Google RE2 behind a C surface (RE2's API is C++). Patterns and texts are UTF-8 byte
// ranges with a length (they may hold NUL bytes); offsets are byte offsets into the text.
// A compiled regex is immutable and may be matched from several threads at once.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled regular expression.
typedef struct lookout_re2 lookout_re2;

/// Where a match may start and end.
typedef enum {
    LOOKOUT_RE2_UNANCHORED = 0,   ///< anywhere in the text
    LOOKOUT_RE2_ANCHOR_START = 1, ///< starting at `start`
    LOOKOUT_RE2_ANCHOR_BOTH = 2,  ///< from `start` to the end of the text
} lookout_re2_anchor;

/// Compiles `pattern` (`length` bytes of UTF-8) with Go's regexp options: UTF-8, leftmost-first
/// (not longest) matching, capturing groups kept, `.` not matching `\n`; RE2 logs nothing.
/// `max_mem` bounds the compiled program and the DFA caches of this regex (bytes).
/// Returns NULL when the pattern is refused; then `*error` (when `error` is not NULL) is a
/// NUL-terminated reason to release with lookout_re2_free_error.
lookout_re2 *lookout_re2_compile(const char *pattern, size_t length, int64_t max_mem, char **error);
void lookout_re2_free(lookout_re2 *re);
void lookout_re2_free_error(char *error);

/// The number of capturing groups (the whole match, group 0, not counted).
int lookout_re2_group_count(const lookout_re2 *re);
/// The name of capturing group `index` (1...group count) as a NUL-terminated string, or NULL
/// when the group has no name. Valid while `re` lives.
const char *lookout_re2_group_name(const lookout_re2 *re, int index);

/// Whether `re` matches in text[start...] (text before `start` is context for `^` and `\b`).
bool lookout_re2_match(const lookout_re2 *re, const char *text, size_t length, size_t start,
                       lookout_re2_anchor anchor);

/// Like lookout_re2_match, and on a match writes the byte offsets of the whole match and of
/// the first `groups - 1` capturing groups to `offsets` (2 × `groups` entries: begin, end);
/// a group that took no part in the match gets -1, -1. `groups` is at least 1.
bool lookout_re2_match_groups(const lookout_re2 *re, const char *text, size_t length, size_t start,
                              lookout_re2_anchor anchor, ptrdiff_t *offsets, int groups);

#ifdef __cplusplus
}
#endif

#endif
