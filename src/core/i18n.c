#include "core/i18n.h"

#include <stdbool.h>

#include "lib/str.h"

static const char *const catalogue[ZT_MSG_COUNT][ZT_LANG_COUNT] = {
#define ZT_MSG_ROW(id, en, ja) [id] = {en, ja},
    ZT_MESSAGES(ZT_MSG_ROW)
#undef ZT_MSG_ROW
};

const char *zt_msg_text(zt_lang lang, zt_msg id)
{
    if ((unsigned)id >= ZT_MSG_COUNT)
        return "";
    if ((unsigned)lang >= ZT_LANG_COUNT)
        lang = ZT_LANG_EN;
    return catalogue[id][lang];
}

const char *zt_lang_tag(zt_lang lang)
{
    return lang == ZT_LANG_JA ? "ja" : "en";
}

/* q-value in thousandths from ";q=0.5"; 1000 when absent, -1 when malformed. */
static int parse_q(zt_span params)
{
    zt_span p = zt_span_trim(params);
    if (p.n == 0)
        return 1000;
    if (p.n < 3 || !zt_span_istarts(p, "q="))
        return -1;
    int q = 0, scale = 1000;
    bool dot = false;
    for (size_t i = 2; i < p.n; i++) {
        char c = p.p[i];
        if (c == '.' && !dot) {
            dot = true;
        } else if (c >= '0' && c <= '9') {
            if (!dot) {
                q = q * 10 + (c - '0') * 1000;
            } else if (scale > 1) {
                scale /= 10;
                q += (c - '0') * scale;
            }
        } else {
            return -1;
        }
        if (q > 1000)
            return -1;
    }
    return q;
}

static zt_lang lang_of(zt_span tag, bool *known)
{
    *known = true;
    if (zt_span_ieq_cstr(tag, "ja") || zt_span_istarts(tag, "ja-"))
        return ZT_LANG_JA;
    if (zt_span_ieq_cstr(tag, "en") || zt_span_istarts(tag, "en-") || zt_span_ieq_cstr(tag, "*"))
        return ZT_LANG_EN;
    *known = false;
    return ZT_LANG_EN;
}

zt_lang zt_lang_from_accept(const char *value, size_t len)
{
    zt_lang best = ZT_LANG_EN;
    int best_q = 0;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && value[i] != ',')
            i++;
        zt_span item = {value + start, i - start};
        i++; /* skip ',' */
        size_t semi = 0;
        while (semi < item.n && item.p[semi] != ';')
            semi++;
        zt_span tag = zt_span_trim((zt_span){item.p, semi});
        int q = 1000; /* no parameters: q=1 */
        if (semi < item.n) {
            zt_span params = {item.p + semi + 1, item.n - semi - 1};
            q = parse_q(params);
        }
        bool known;
        zt_lang l = lang_of(tag, &known);
        if (known && q > best_q) {
            best = l;
            best_q = q;
        }
    }
    return best;
}
