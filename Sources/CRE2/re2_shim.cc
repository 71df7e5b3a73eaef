// The C surface of CRE2.h over RE2's C++ API.
#include "CRE2.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct lookout_re2 {
    re2::RE2 regex;
    // Names by group index (empty: unnamed), so a name can be handed out as a C string.
    std::vector<std::string> names;

    lookout_re2(const re2::StringPiece &pattern, const re2::RE2::Options &options) : regex(pattern, options) {}
};

namespace {

re2::RE2::Options goOptions(int64_t max_mem) {
    re2::RE2::Options o;
    o.set_encoding(re2::RE2::Options::EncodingUTF8);
    o.set_posix_syntax(false);  // Perl classes, \b, non-greedy operators: Go's syntax.Perl
    o.set_longest_match(false); // leftmost-first, as Go's regexp (not its POSIX variant)
    o.set_never_capture(false);
    o.set_dot_nl(false);
    o.set_log_errors(false);
    o.set_max_mem(max_mem);
    return o;
}

void setError(char **error, const std::string &reason) {
    if (error == nullptr) return;
    char *copy = static_cast<char *>(std::malloc(reason.size() + 1));
    if (copy != nullptr) {
        std::memcpy(copy, reason.data(), reason.size());
        copy[reason.size()] = '\0';
    }
    *error = copy;
}

// RE2 cannot tell an empty group from one that took no part when the text pointer is NULL.
const char *nonNull(const char *text) { return text != nullptr ? text : ""; }

re2::RE2::Anchor anchorOf(lookout_re2_anchor a) {
    switch (a) {
    case LOOKOUT_RE2_ANCHOR_START: return re2::RE2::ANCHOR_START;
    case LOOKOUT_RE2_ANCHOR_BOTH: return re2::RE2::ANCHOR_BOTH;
    default: return re2::RE2::UNANCHORED;
    }
}

} // namespace

extern "C" lookout_re2 *lookout_re2_compile(const char *pattern, size_t length, int64_t max_mem, char **error) {
    if (error != nullptr) *error = nullptr;
    lookout_re2 *re = new (std::nothrow) lookout_re2(re2::StringPiece(nonNull(pattern), length), goOptions(max_mem));
    if (re == nullptr) {
        setError(error, "out of memory");
        return nullptr;
    }
    if (!re->regex.ok()) {
        setError(error, re->regex.error());
        delete re;
        return nullptr;
    }
    int groups = re->regex.NumberOfCapturingGroups();
    re->names.resize(static_cast<size_t>(groups) + 1);
    for (const auto &entry : re->regex.CapturingGroupNames()) {
        if (entry.first > 0 && entry.first <= groups) re->names[static_cast<size_t>(entry.first)] = entry.second;
    }
    return re;
}

extern "C" void lookout_re2_free(lookout_re2 *re) { delete re; }

extern "C" void lookout_re2_free_error(char *error) { std::free(error); }

extern "C" int lookout_re2_group_count(const lookout_re2 *re) { return re->regex.NumberOfCapturingGroups(); }

extern "C" const char *lookout_re2_group_name(const lookout_re2 *re, int index) {
    if (index <= 0 || static_cast<size_t>(index) >= re->names.size()) return nullptr;
    const std::string &name = re->names[static_cast<size_t>(index)];
    return name.empty() ? nullptr : name.c_str();
}

extern "C" bool lookout_re2_match(const lookout_re2 *re, const char *text, size_t length, size_t start,
                                  lookout_re2_anchor anchor) {
    if (start > length) return false;
    return re->regex.Match(re2::StringPiece(nonNull(text), length), start, length, anchorOf(anchor), nullptr, 0);
}

extern "C" bool lookout_re2_match_groups(const lookout_re2 *re, const char *text, size_t length, size_t start,
                                         lookout_re2_anchor anchor, ptrdiff_t *offsets, int groups) {
    if (start > length || groups < 1) return false;
    const char *base = nonNull(text);
    // Few groups live on the stack; label_replace and templates rarely use more.
    re2::StringPiece small[16];
    std::vector<re2::StringPiece> large;
    re2::StringPiece *sub = small;
    if (groups > 16) {
        large.resize(static_cast<size_t>(groups));
        sub = large.data();
    }
    if (!re->regex.Match(re2::StringPiece(base, length), start, length, anchorOf(anchor), sub, groups)) return false;
    for (int i = 0; i < groups; i++) {
        if (sub[i].data() == nullptr) {
            offsets[2 * i] = -1;
            offsets[2 * i + 1] = -1;
        } else {
            offsets[2 * i] = sub[i].data() - base;
            offsets[2 * i + 1] = sub[i].data() - base + static_cast<ptrdiff_t>(sub[i].size());
        }
    }
    return true;
}
