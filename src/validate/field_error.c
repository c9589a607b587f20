/*
 * field_error: the field-error list and its rendering, with apimachinery's exact texts
 * (pkg/util/validation/field/errors.go at v0.33) and Go's fmt/strconv quoting rules.
 *
 * Upstream quirks kept on purpose: Required, Forbidden, TooLong and Internal never show the bad
 * value even when one was given; the aggregate de-duplicates by the whole "<field>: <body>"
 * string while the list itself (the Status causes) keeps duplicates; NotSupported prints its
 * values in the caller's order. Depends on libc and jansson only: not even on util/strbuf, so
 * that the header's promise holds and the module can be lifted out.
 */
#include "svc/field_error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory: out of memory aborts ------------------------------------------------------------ */

static void *fe_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

static char *fe_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = fe_xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

/* A growable string; the project's strbuf is not used (see the top of the file). */
struct fe_buf {
    char *s;
    size_t len;
    size_t alloc;
};

static void buf_grow(struct fe_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        abort();
    if (b->len + extra + 1 <= b->alloc)
        return;
    size_t want = b->alloc ? b->alloc : 32;
    while (want < b->len + extra + 1)
        want *= 2;
    b->s = fe_xrealloc(b->s, want);
    b->alloc = want;
}

static void buf_add(struct fe_buf *b, const char *s, size_t n)
{
    buf_grow(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_puts(struct fe_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_putc(struct fe_buf *b, char c)
{
    buf_add(b, &c, 1);
}

static void buf_vprintf(struct fe_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        abort();
    buf_grow(b, (size_t)n);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

static void buf_printf(struct fe_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_printf(struct fe_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* The contents, never NULL; the caller frees. */
static char *buf_detach(struct fe_buf *b)
{
    char *s = b->s ? b->s : fe_xstrdup("");
    b->s = NULL;
    b->len = b->alloc = 0;
    return s;
}

/* ---- Go's strconv.IsPrint ---------------------------------------------------------------------
 * Go 1.24 (the compiler of kube-apiserver 1.33) calls a rune printable when its Unicode 15.0
 * category is a letter, mark, number, punctuation or symbol, or it is the ASCII space. The table
 * lists the non-ASCII ranges of such runes. It was derived from the Unicode Character Database
 * (14.0 data plus the characters Unicode 15.0 added), not from Go's own tables.
 */
static const uint32_t go_print_ranges[][2] = {
    {0x000a1, 0x000ac}, {0x000ae, 0x00377}, {0x0037a, 0x0037f}, {0x00384, 0x0038a},
    {0x0038c, 0x0038c}, {0x0038e, 0x003a1}, {0x003a3, 0x0052f}, {0x00531, 0x00556},
    {0x00559, 0x0058a}, {0x0058d, 0x0058f}, {0x00591, 0x005c7}, {0x005d0, 0x005ea},
    {0x005ef, 0x005f4}, {0x00606, 0x0061b}, {0x0061d, 0x006dc}, {0x006de, 0x0070d},
    {0x00710, 0x0074a}, {0x0074d, 0x007b1}, {0x007c0, 0x007fa}, {0x007fd, 0x0082d},
    {0x00830, 0x0083e}, {0x00840, 0x0085b}, {0x0085e, 0x0085e}, {0x00860, 0x0086a},
    {0x00870, 0x0088e}, {0x00898, 0x008e1}, {0x008e3, 0x00983}, {0x00985, 0x0098c},
    {0x0098f, 0x00990}, {0x00993, 0x009a8}, {0x009aa, 0x009b0}, {0x009b2, 0x009b2},
    {0x009b6, 0x009b9}, {0x009bc, 0x009c4}, {0x009c7, 0x009c8}, {0x009cb, 0x009ce},
    {0x009d7, 0x009d7}, {0x009dc, 0x009dd}, {0x009df, 0x009e3}, {0x009e6, 0x009fe},
    {0x00a01, 0x00a03}, {0x00a05, 0x00a0a}, {0x00a0f, 0x00a10}, {0x00a13, 0x00a28},
    {0x00a2a, 0x00a30}, {0x00a32, 0x00a33}, {0x00a35, 0x00a36}, {0x00a38, 0x00a39},
    {0x00a3c, 0x00a3c}, {0x00a3e, 0x00a42}, {0x00a47, 0x00a48}, {0x00a4b, 0x00a4d},
    {0x00a51, 0x00a51}, {0x00a59, 0x00a5c}, {0x00a5e, 0x00a5e}, {0x00a66, 0x00a76},
    {0x00a81, 0x00a83}, {0x00a85, 0x00a8d}, {0x00a8f, 0x00a91}, {0x00a93, 0x00aa8},
    {0x00aaa, 0x00ab0}, {0x00ab2, 0x00ab3}, {0x00ab5, 0x00ab9}, {0x00abc, 0x00ac5},
    {0x00ac7, 0x00ac9}, {0x00acb, 0x00acd}, {0x00ad0, 0x00ad0}, {0x00ae0, 0x00ae3},
    {0x00ae6, 0x00af1}, {0x00af9, 0x00aff}, {0x00b01, 0x00b03}, {0x00b05, 0x00b0c},
    {0x00b0f, 0x00b10}, {0x00b13, 0x00b28}, {0x00b2a, 0x00b30}, {0x00b32, 0x00b33},
    {0x00b35, 0x00b39}, {0x00b3c, 0x00b44}, {0x00b47, 0x00b48}, {0x00b4b, 0x00b4d},
    {0x00b55, 0x00b57}, {0x00b5c, 0x00b5d}, {0x00b5f, 0x00b63}, {0x00b66, 0x00b77},
    {0x00b82, 0x00b83}, {0x00b85, 0x00b8a}, {0x00b8e, 0x00b90}, {0x00b92, 0x00b95},
    {0x00b99, 0x00b9a}, {0x00b9c, 0x00b9c}, {0x00b9e, 0x00b9f}, {0x00ba3, 0x00ba4},
    {0x00ba8, 0x00baa}, {0x00bae, 0x00bb9}, {0x00bbe, 0x00bc2}, {0x00bc6, 0x00bc8},
    {0x00bca, 0x00bcd}, {0x00bd0, 0x00bd0}, {0x00bd7, 0x00bd7}, {0x00be6, 0x00bfa},
    {0x00c00, 0x00c0c}, {0x00c0e, 0x00c10}, {0x00c12, 0x00c28}, {0x00c2a, 0x00c39},
    {0x00c3c, 0x00c44}, {0x00c46, 0x00c48}, {0x00c4a, 0x00c4d}, {0x00c55, 0x00c56},
    {0x00c58, 0x00c5a}, {0x00c5d, 0x00c5d}, {0x00c60, 0x00c63}, {0x00c66, 0x00c6f},
    {0x00c77, 0x00c8c}, {0x00c8e, 0x00c90}, {0x00c92, 0x00ca8}, {0x00caa, 0x00cb3},
    {0x00cb5, 0x00cb9}, {0x00cbc, 0x00cc4}, {0x00cc6, 0x00cc8}, {0x00cca, 0x00ccd},
    {0x00cd5, 0x00cd6}, {0x00cdd, 0x00cde}, {0x00ce0, 0x00ce3}, {0x00ce6, 0x00cef},
    {0x00cf1, 0x00cf3}, {0x00d00, 0x00d0c}, {0x00d0e, 0x00d10}, {0x00d12, 0x00d44},
    {0x00d46, 0x00d48}, {0x00d4a, 0x00d4f}, {0x00d54, 0x00d63}, {0x00d66, 0x00d7f},
    {0x00d81, 0x00d83}, {0x00d85, 0x00d96}, {0x00d9a, 0x00db1}, {0x00db3, 0x00dbb},
    {0x00dbd, 0x00dbd}, {0x00dc0, 0x00dc6}, {0x00dca, 0x00dca}, {0x00dcf, 0x00dd4},
    {0x00dd6, 0x00dd6}, {0x00dd8, 0x00ddf}, {0x00de6, 0x00def}, {0x00df2, 0x00df4},
    {0x00e01, 0x00e3a}, {0x00e3f, 0x00e5b}, {0x00e81, 0x00e82}, {0x00e84, 0x00e84},
    {0x00e86, 0x00e8a}, {0x00e8c, 0x00ea3}, {0x00ea5, 0x00ea5}, {0x00ea7, 0x00ebd},
    {0x00ec0, 0x00ec4}, {0x00ec6, 0x00ec6}, {0x00ec8, 0x00ece}, {0x00ed0, 0x00ed9},
    {0x00edc, 0x00edf}, {0x00f00, 0x00f47}, {0x00f49, 0x00f6c}, {0x00f71, 0x00f97},
    {0x00f99, 0x00fbc}, {0x00fbe, 0x00fcc}, {0x00fce, 0x00fda}, {0x01000, 0x010c5},
    {0x010c7, 0x010c7}, {0x010cd, 0x010cd}, {0x010d0, 0x01248}, {0x0124a, 0x0124d},
    {0x01250, 0x01256}, {0x01258, 0x01258}, {0x0125a, 0x0125d}, {0x01260, 0x01288},
    {0x0128a, 0x0128d}, {0x01290, 0x012b0}, {0x012b2, 0x012b5}, {0x012b8, 0x012be},
    {0x012c0, 0x012c0}, {0x012c2, 0x012c5}, {0x012c8, 0x012d6}, {0x012d8, 0x01310},
    {0x01312, 0x01315}, {0x01318, 0x0135a}, {0x0135d, 0x0137c}, {0x01380, 0x01399},
    {0x013a0, 0x013f5}, {0x013f8, 0x013fd}, {0x01400, 0x0167f}, {0x01681, 0x0169c},
    {0x016a0, 0x016f8}, {0x01700, 0x01715}, {0x0171f, 0x01736}, {0x01740, 0x01753},
    {0x01760, 0x0176c}, {0x0176e, 0x01770}, {0x01772, 0x01773}, {0x01780, 0x017dd},
    {0x017e0, 0x017e9}, {0x017f0, 0x017f9}, {0x01800, 0x0180d}, {0x0180f, 0x01819},
    {0x01820, 0x01878}, {0x01880, 0x018aa}, {0x018b0, 0x018f5}, {0x01900, 0x0191e},
    {0x01920, 0x0192b}, {0x01930, 0x0193b}, {0x01940, 0x01940}, {0x01944, 0x0196d},
    {0x01970, 0x01974}, {0x01980, 0x019ab}, {0x019b0, 0x019c9}, {0x019d0, 0x019da},
    {0x019de, 0x01a1b}, {0x01a1e, 0x01a5e}, {0x01a60, 0x01a7c}, {0x01a7f, 0x01a89},
    {0x01a90, 0x01a99}, {0x01aa0, 0x01aad}, {0x01ab0, 0x01ace}, {0x01b00, 0x01b4c},
    {0x01b50, 0x01b7e}, {0x01b80, 0x01bf3}, {0x01bfc, 0x01c37}, {0x01c3b, 0x01c49},
    {0x01c4d, 0x01c88}, {0x01c90, 0x01cba}, {0x01cbd, 0x01cc7}, {0x01cd0, 0x01cfa},
    {0x01d00, 0x01f15}, {0x01f18, 0x01f1d}, {0x01f20, 0x01f45}, {0x01f48, 0x01f4d},
    {0x01f50, 0x01f57}, {0x01f59, 0x01f59}, {0x01f5b, 0x01f5b}, {0x01f5d, 0x01f5d},
    {0x01f5f, 0x01f7d}, {0x01f80, 0x01fb4}, {0x01fb6, 0x01fc4}, {0x01fc6, 0x01fd3},
    {0x01fd6, 0x01fdb}, {0x01fdd, 0x01fef}, {0x01ff2, 0x01ff4}, {0x01ff6, 0x01ffe},
    {0x02010, 0x02027}, {0x02030, 0x0205e}, {0x02070, 0x02071}, {0x02074, 0x0208e},
    {0x02090, 0x0209c}, {0x020a0, 0x020c0}, {0x020d0, 0x020f0}, {0x02100, 0x0218b},
    {0x02190, 0x02426}, {0x02440, 0x0244a}, {0x02460, 0x02b73}, {0x02b76, 0x02b95},
    {0x02b97, 0x02cf3}, {0x02cf9, 0x02d25}, {0x02d27, 0x02d27}, {0x02d2d, 0x02d2d},
    {0x02d30, 0x02d67}, {0x02d6f, 0x02d70}, {0x02d7f, 0x02d96}, {0x02da0, 0x02da6},
    {0x02da8, 0x02dae}, {0x02db0, 0x02db6}, {0x02db8, 0x02dbe}, {0x02dc0, 0x02dc6},
    {0x02dc8, 0x02dce}, {0x02dd0, 0x02dd6}, {0x02dd8, 0x02dde}, {0x02de0, 0x02e5d},
    {0x02e80, 0x02e99}, {0x02e9b, 0x02ef3}, {0x02f00, 0x02fd5}, {0x02ff0, 0x02ffb},
    {0x03001, 0x0303f}, {0x03041, 0x03096}, {0x03099, 0x030ff}, {0x03105, 0x0312f},
    {0x03131, 0x0318e}, {0x03190, 0x031e3}, {0x031f0, 0x0321e}, {0x03220, 0x0a48c},
    {0x0a490, 0x0a4c6}, {0x0a4d0, 0x0a62b}, {0x0a640, 0x0a6f7}, {0x0a700, 0x0a7ca},
    {0x0a7d0, 0x0a7d1}, {0x0a7d3, 0x0a7d3}, {0x0a7d5, 0x0a7d9}, {0x0a7f2, 0x0a82c},
    {0x0a830, 0x0a839}, {0x0a840, 0x0a877}, {0x0a880, 0x0a8c5}, {0x0a8ce, 0x0a8d9},
    {0x0a8e0, 0x0a953}, {0x0a95f, 0x0a97c}, {0x0a980, 0x0a9cd}, {0x0a9cf, 0x0a9d9},
    {0x0a9de, 0x0a9fe}, {0x0aa00, 0x0aa36}, {0x0aa40, 0x0aa4d}, {0x0aa50, 0x0aa59},
    {0x0aa5c, 0x0aac2}, {0x0aadb, 0x0aaf6}, {0x0ab01, 0x0ab06}, {0x0ab09, 0x0ab0e},
    {0x0ab11, 0x0ab16}, {0x0ab20, 0x0ab26}, {0x0ab28, 0x0ab2e}, {0x0ab30, 0x0ab6b},
    {0x0ab70, 0x0abed}, {0x0abf0, 0x0abf9}, {0x0ac00, 0x0d7a3}, {0x0d7b0, 0x0d7c6},
    {0x0d7cb, 0x0d7fb}, {0x0f900, 0x0fa6d}, {0x0fa70, 0x0fad9}, {0x0fb00, 0x0fb06},
    {0x0fb13, 0x0fb17}, {0x0fb1d, 0x0fb36}, {0x0fb38, 0x0fb3c}, {0x0fb3e, 0x0fb3e},
    {0x0fb40, 0x0fb41}, {0x0fb43, 0x0fb44}, {0x0fb46, 0x0fbc2}, {0x0fbd3, 0x0fd8f},
    {0x0fd92, 0x0fdc7}, {0x0fdcf, 0x0fdcf}, {0x0fdf0, 0x0fe19}, {0x0fe20, 0x0fe52},
    {0x0fe54, 0x0fe66}, {0x0fe68, 0x0fe6b}, {0x0fe70, 0x0fe74}, {0x0fe76, 0x0fefc},
    {0x0ff01, 0x0ffbe}, {0x0ffc2, 0x0ffc7}, {0x0ffca, 0x0ffcf}, {0x0ffd2, 0x0ffd7},
    {0x0ffda, 0x0ffdc}, {0x0ffe0, 0x0ffe6}, {0x0ffe8, 0x0ffee}, {0x0fffc, 0x0fffd},
    {0x10000, 0x1000b}, {0x1000d, 0x10026}, {0x10028, 0x1003a}, {0x1003c, 0x1003d},
    {0x1003f, 0x1004d}, {0x10050, 0x1005d}, {0x10080, 0x100fa}, {0x10100, 0x10102},
    {0x10107, 0x10133}, {0x10137, 0x1018e}, {0x10190, 0x1019c}, {0x101a0, 0x101a0},
    {0x101d0, 0x101fd}, {0x10280, 0x1029c}, {0x102a0, 0x102d0}, {0x102e0, 0x102fb},
    {0x10300, 0x10323}, {0x1032d, 0x1034a}, {0x10350, 0x1037a}, {0x10380, 0x1039d},
    {0x1039f, 0x103c3}, {0x103c8, 0x103d5}, {0x10400, 0x1049d}, {0x104a0, 0x104a9},
    {0x104b0, 0x104d3}, {0x104d8, 0x104fb}, {0x10500, 0x10527}, {0x10530, 0x10563},
    {0x1056f, 0x1057a}, {0x1057c, 0x1058a}, {0x1058c, 0x10592}, {0x10594, 0x10595},
    {0x10597, 0x105a1}, {0x105a3, 0x105b1}, {0x105b3, 0x105b9}, {0x105bb, 0x105bc},
    {0x10600, 0x10736}, {0x10740, 0x10755}, {0x10760, 0x10767}, {0x10780, 0x10785},
    {0x10787, 0x107b0}, {0x107b2, 0x107ba}, {0x10800, 0x10805}, {0x10808, 0x10808},
    {0x1080a, 0x10835}, {0x10837, 0x10838}, {0x1083c, 0x1083c}, {0x1083f, 0x10855},
    {0x10857, 0x1089e}, {0x108a7, 0x108af}, {0x108e0, 0x108f2}, {0x108f4, 0x108f5},
    {0x108fb, 0x1091b}, {0x1091f, 0x10939}, {0x1093f, 0x1093f}, {0x10980, 0x109b7},
    {0x109bc, 0x109cf}, {0x109d2, 0x10a03}, {0x10a05, 0x10a06}, {0x10a0c, 0x10a13},
    {0x10a15, 0x10a17}, {0x10a19, 0x10a35}, {0x10a38, 0x10a3a}, {0x10a3f, 0x10a48},
    {0x10a50, 0x10a58}, {0x10a60, 0x10a9f}, {0x10ac0, 0x10ae6}, {0x10aeb, 0x10af6},
    {0x10b00, 0x10b35}, {0x10b39, 0x10b55}, {0x10b58, 0x10b72}, {0x10b78, 0x10b91},
    {0x10b99, 0x10b9c}, {0x10ba9, 0x10baf}, {0x10c00, 0x10c48}, {0x10c80, 0x10cb2},
    {0x10cc0, 0x10cf2}, {0x10cfa, 0x10d27}, {0x10d30, 0x10d39}, {0x10e60, 0x10e7e},
    {0x10e80, 0x10ea9}, {0x10eab, 0x10ead}, {0x10eb0, 0x10eb1}, {0x10efd, 0x10f27},
    {0x10f30, 0x10f59}, {0x10f70, 0x10f89}, {0x10fb0, 0x10fcb}, {0x10fe0, 0x10ff6},
    {0x11000, 0x1104d}, {0x11052, 0x11075}, {0x1107f, 0x110bc}, {0x110be, 0x110c2},
    {0x110d0, 0x110e8}, {0x110f0, 0x110f9}, {0x11100, 0x11134}, {0x11136, 0x11147},
    {0x11150, 0x11176}, {0x11180, 0x111df}, {0x111e1, 0x111f4}, {0x11200, 0x11211},
    {0x11213, 0x11241}, {0x11280, 0x11286}, {0x11288, 0x11288}, {0x1128a, 0x1128d},
    {0x1128f, 0x1129d}, {0x1129f, 0x112a9}, {0x112b0, 0x112ea}, {0x112f0, 0x112f9},
    {0x11300, 0x11303}, {0x11305, 0x1130c}, {0x1130f, 0x11310}, {0x11313, 0x11328},
    {0x1132a, 0x11330}, {0x11332, 0x11333}, {0x11335, 0x11339}, {0x1133b, 0x11344},
    {0x11347, 0x11348}, {0x1134b, 0x1134d}, {0x11350, 0x11350}, {0x11357, 0x11357},
    {0x1135d, 0x11363}, {0x11366, 0x1136c}, {0x11370, 0x11374}, {0x11400, 0x1145b},
    {0x1145d, 0x11461}, {0x11480, 0x114c7}, {0x114d0, 0x114d9}, {0x11580, 0x115b5},
    {0x115b8, 0x115dd}, {0x11600, 0x11644}, {0x11650, 0x11659}, {0x11660, 0x1166c},
    {0x11680, 0x116b9}, {0x116c0, 0x116c9}, {0x11700, 0x1171a}, {0x1171d, 0x1172b},
    {0x11730, 0x11746}, {0x11800, 0x1183b}, {0x118a0, 0x118f2}, {0x118ff, 0x11906},
    {0x11909, 0x11909}, {0x1190c, 0x11913}, {0x11915, 0x11916}, {0x11918, 0x11935},
    {0x11937, 0x11938}, {0x1193b, 0x11946}, {0x11950, 0x11959}, {0x119a0, 0x119a7},
    {0x119aa, 0x119d7}, {0x119da, 0x119e4}, {0x11a00, 0x11a47}, {0x11a50, 0x11aa2},
    {0x11ab0, 0x11af8}, {0x11b00, 0x11b09}, {0x11c00, 0x11c08}, {0x11c0a, 0x11c36},
    {0x11c38, 0x11c45}, {0x11c50, 0x11c6c}, {0x11c70, 0x11c8f}, {0x11c92, 0x11ca7},
    {0x11ca9, 0x11cb6}, {0x11d00, 0x11d06}, {0x11d08, 0x11d09}, {0x11d0b, 0x11d36},
    {0x11d3a, 0x11d3a}, {0x11d3c, 0x11d3d}, {0x11d3f, 0x11d47}, {0x11d50, 0x11d59},
    {0x11d60, 0x11d65}, {0x11d67, 0x11d68}, {0x11d6a, 0x11d8e}, {0x11d90, 0x11d91},
    {0x11d93, 0x11d98}, {0x11da0, 0x11da9}, {0x11ee0, 0x11ef8}, {0x11f00, 0x11f10},
    {0x11f12, 0x11f3a}, {0x11f3e, 0x11f59}, {0x11fb0, 0x11fb0}, {0x11fc0, 0x11ff1},
    {0x11fff, 0x12399}, {0x12400, 0x1246e}, {0x12470, 0x12474}, {0x12480, 0x12543},
    {0x12f90, 0x12ff2}, {0x13000, 0x1342f}, {0x13440, 0x13455}, {0x14400, 0x14646},
    {0x16800, 0x16a38}, {0x16a40, 0x16a5e}, {0x16a60, 0x16a69}, {0x16a6e, 0x16abe},
    {0x16ac0, 0x16ac9}, {0x16ad0, 0x16aed}, {0x16af0, 0x16af5}, {0x16b00, 0x16b45},
    {0x16b50, 0x16b59}, {0x16b5b, 0x16b61}, {0x16b63, 0x16b77}, {0x16b7d, 0x16b8f},
    {0x16e40, 0x16e9a}, {0x16f00, 0x16f4a}, {0x16f4f, 0x16f87}, {0x16f8f, 0x16f9f},
    {0x16fe0, 0x16fe4}, {0x16ff0, 0x16ff1}, {0x17000, 0x187f7}, {0x18800, 0x18cd5},
    {0x18d00, 0x18d08}, {0x1aff0, 0x1aff3}, {0x1aff5, 0x1affb}, {0x1affd, 0x1affe},
    {0x1b000, 0x1b122}, {0x1b132, 0x1b132}, {0x1b150, 0x1b152}, {0x1b155, 0x1b155},
    {0x1b164, 0x1b167}, {0x1b170, 0x1b2fb}, {0x1bc00, 0x1bc6a}, {0x1bc70, 0x1bc7c},
    {0x1bc80, 0x1bc88}, {0x1bc90, 0x1bc99}, {0x1bc9c, 0x1bc9f}, {0x1cf00, 0x1cf2d},
    {0x1cf30, 0x1cf46}, {0x1cf50, 0x1cfc3}, {0x1d000, 0x1d0f5}, {0x1d100, 0x1d126},
    {0x1d129, 0x1d172}, {0x1d17b, 0x1d1ea}, {0x1d200, 0x1d245}, {0x1d2c0, 0x1d2d3},
    {0x1d2e0, 0x1d2f3}, {0x1d300, 0x1d356}, {0x1d360, 0x1d378}, {0x1d400, 0x1d454},
    {0x1d456, 0x1d49c}, {0x1d49e, 0x1d49f}, {0x1d4a2, 0x1d4a2}, {0x1d4a5, 0x1d4a6},
    {0x1d4a9, 0x1d4ac}, {0x1d4ae, 0x1d4b9}, {0x1d4bb, 0x1d4bb}, {0x1d4bd, 0x1d4c3},
    {0x1d4c5, 0x1d505}, {0x1d507, 0x1d50a}, {0x1d50d, 0x1d514}, {0x1d516, 0x1d51c},
    {0x1d51e, 0x1d539}, {0x1d53b, 0x1d53e}, {0x1d540, 0x1d544}, {0x1d546, 0x1d546},
    {0x1d54a, 0x1d550}, {0x1d552, 0x1d6a5}, {0x1d6a8, 0x1d7cb}, {0x1d7ce, 0x1da8b},
    {0x1da9b, 0x1da9f}, {0x1daa1, 0x1daaf}, {0x1df00, 0x1df1e}, {0x1df25, 0x1df2a},
    {0x1e000, 0x1e006}, {0x1e008, 0x1e018}, {0x1e01b, 0x1e021}, {0x1e023, 0x1e024},
    {0x1e026, 0x1e02a}, {0x1e030, 0x1e06d}, {0x1e08f, 0x1e08f}, {0x1e100, 0x1e12c},
    {0x1e130, 0x1e13d}, {0x1e140, 0x1e149}, {0x1e14e, 0x1e14f}, {0x1e290, 0x1e2ae},
    {0x1e2c0, 0x1e2f9}, {0x1e2ff, 0x1e2ff}, {0x1e4d0, 0x1e4f9}, {0x1e7e0, 0x1e7e6},
    {0x1e7e8, 0x1e7eb}, {0x1e7ed, 0x1e7ee}, {0x1e7f0, 0x1e7fe}, {0x1e800, 0x1e8c4},
    {0x1e8c7, 0x1e8d6}, {0x1e900, 0x1e94b}, {0x1e950, 0x1e959}, {0x1e95e, 0x1e95f},
    {0x1ec71, 0x1ecb4}, {0x1ed01, 0x1ed3d}, {0x1ee00, 0x1ee03}, {0x1ee05, 0x1ee1f},
    {0x1ee21, 0x1ee22}, {0x1ee24, 0x1ee24}, {0x1ee27, 0x1ee27}, {0x1ee29, 0x1ee32},
    {0x1ee34, 0x1ee37}, {0x1ee39, 0x1ee39}, {0x1ee3b, 0x1ee3b}, {0x1ee42, 0x1ee42},
    {0x1ee47, 0x1ee47}, {0x1ee49, 0x1ee49}, {0x1ee4b, 0x1ee4b}, {0x1ee4d, 0x1ee4f},
    {0x1ee51, 0x1ee52}, {0x1ee54, 0x1ee54}, {0x1ee57, 0x1ee57}, {0x1ee59, 0x1ee59},
    {0x1ee5b, 0x1ee5b}, {0x1ee5d, 0x1ee5d}, {0x1ee5f, 0x1ee5f}, {0x1ee61, 0x1ee62},
    {0x1ee64, 0x1ee64}, {0x1ee67, 0x1ee6a}, {0x1ee6c, 0x1ee72}, {0x1ee74, 0x1ee77},
    {0x1ee79, 0x1ee7c}, {0x1ee7e, 0x1ee7e}, {0x1ee80, 0x1ee89}, {0x1ee8b, 0x1ee9b},
    {0x1eea1, 0x1eea3}, {0x1eea5, 0x1eea9}, {0x1eeab, 0x1eebb}, {0x1eef0, 0x1eef1},
    {0x1f000, 0x1f02b}, {0x1f030, 0x1f093}, {0x1f0a0, 0x1f0ae}, {0x1f0b1, 0x1f0bf},
    {0x1f0c1, 0x1f0cf}, {0x1f0d1, 0x1f0f5}, {0x1f100, 0x1f1ad}, {0x1f1e6, 0x1f202},
    {0x1f210, 0x1f23b}, {0x1f240, 0x1f248}, {0x1f250, 0x1f251}, {0x1f260, 0x1f265},
    {0x1f300, 0x1f6d7}, {0x1f6dc, 0x1f6ec}, {0x1f6f0, 0x1f6fc}, {0x1f700, 0x1f776},
    {0x1f77b, 0x1f7d9}, {0x1f7e0, 0x1f7eb}, {0x1f7f0, 0x1f7f0}, {0x1f800, 0x1f80b},
    {0x1f810, 0x1f847}, {0x1f850, 0x1f859}, {0x1f860, 0x1f887}, {0x1f890, 0x1f8ad},
    {0x1f8b0, 0x1f8b1}, {0x1f900, 0x1fa53}, {0x1fa60, 0x1fa6d}, {0x1fa70, 0x1fa7c},
    {0x1fa80, 0x1fa88}, {0x1fa90, 0x1fabd}, {0x1fabf, 0x1fac5}, {0x1face, 0x1fadb},
    {0x1fae0, 0x1fae8}, {0x1faf0, 0x1faf8}, {0x1fb00, 0x1fb92}, {0x1fb94, 0x1fbca},
    {0x1fbf0, 0x1fbf9}, {0x20000, 0x2a6df}, {0x2a700, 0x2b739}, {0x2b740, 0x2b81d},
    {0x2b820, 0x2cea1}, {0x2ceb0, 0x2ebe0}, {0x2f800, 0x2fa1d}, {0x30000, 0x3134a},
    {0x31350, 0x323af}, {0xe0100, 0xe01ef},
};

static bool go_is_print(uint32_t r)
{
    if (r < 0x80)
        return r >= 0x20 && r < 0x7f;
    size_t lo = 0, hi = sizeof(go_print_ranges) / sizeof(go_print_ranges[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r < go_print_ranges[mid][0])
            hi = mid;
        else if (r > go_print_ranges[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/*
 * Go's utf8.DecodeRuneInString: the rune at s and its width, or width 1 and *bad set for any
 * byte that does not start a valid, shortest-form, non-surrogate sequence.
 */
static size_t go_decode_rune(const unsigned char *s, size_t n, uint32_t *r, bool *bad)
{
    unsigned char c = s[0];
    *bad = false;
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        *r = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        *r = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f; /* the surrogate half of the plane is not valid UTF-8 */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        *r = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        *bad = true;
        return 1;
    }
    if (n < need || s[1] < lo || s[1] > hi) {
        *bad = true;
        return 1;
    }
    for (size_t i = 1; i < need; i++) {
        if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf)) {
            *bad = true;
            return 1;
        }
        *r = (*r << 6) | (s[i] & 0x3f);
    }
    return need;
}

size_t fe_decode_rune(const char *s, size_t n, uint32_t *rune)
{
    bool bad;
    size_t w = go_decode_rune((const unsigned char *)s, n, rune, &bad);
    if (bad)
        *rune = 0xfffd;
    return w;
}

bool fe_is_print(uint32_t rune)
{
    return go_is_print(rune);
}

static const char lowerhex[] = "0123456789abcdef";

/* strconv.appendEscapedRune with quote '"', ASCIIonly and graphicOnly false. */
static void quote_rune(struct fe_buf *b, uint32_t r, const unsigned char *raw, size_t width)
{
    if (r == '"' || r == '\\') {
        buf_putc(b, '\\');
        buf_putc(b, (char)r);
        return;
    }
    if (go_is_print(r)) {
        buf_add(b, (const char *)raw, width);
        return;
    }
    switch (r) {
    case '\a':
        buf_puts(b, "\\a");
        return;
    case '\b':
        buf_puts(b, "\\b");
        return;
    case '\f':
        buf_puts(b, "\\f");
        return;
    case '\n':
        buf_puts(b, "\\n");
        return;
    case '\r':
        buf_puts(b, "\\r");
        return;
    case '\t':
        buf_puts(b, "\\t");
        return;
    case '\v':
        buf_puts(b, "\\v");
        return;
    default:
        break;
    }
    if (r < ' ' || r == 0x7f) {
        char x[5] = {'\\', 'x', lowerhex[r >> 4], lowerhex[r & 0xf], 0};
        buf_puts(b, x);
    } else if (r < 0x10000) {
        buf_printf(b, "\\u%04x", (unsigned)r);
    } else {
        buf_printf(b, "\\U%08x", (unsigned)r);
    }
}

static void quote_into(struct fe_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    buf_putc(b, '"');
    while (n > 0) {
        uint32_t r;
        bool bad;
        size_t w = go_decode_rune(p, n, &r, &bad);
        if (bad) {
            /* Go prints each byte that is not part of valid UTF-8 as \xHH. */
            char x[5] = {'\\', 'x', lowerhex[p[0] >> 4], lowerhex[p[0] & 0xf], 0};
            buf_puts(b, x);
        } else {
            quote_rune(b, r, p, w);
        }
        p += w;
        n -= w;
    }
    buf_putc(b, '"');
}

char *fe_quote_len(const char *s, size_t len)
{
    struct fe_buf b = {0};
    quote_into(&b, s ? s : "", s ? len : 0);
    return buf_detach(&b);
}

char *fe_quote(const char *s)
{
    return fe_quote_len(s, s ? strlen(s) : 0);
}

char *fe_int(long long v)
{
    struct fe_buf b = {0};
    buf_printf(&b, "%lld", v);
    return buf_detach(&b);
}

char *fe_bool(bool v)
{
    return fe_xstrdup(v ? "true" : "false");
}

char *fe_strings(const char *const *v, size_t n)
{
    struct fe_buf b = {0};
    buf_puts(&b, "[]string{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_puts(&b, ", ");
        const char *s = v && v[i] ? v[i] : "";
        quote_into(&b, s, strlen(s));
    }
    buf_putc(&b, '}');
    return buf_detach(&b);
}

char *fe_json_strings(const json_t *array)
{
    if (!json_is_array(array))
        return fe_xstrdup(FE_NIL_STRINGS);
    struct fe_buf b = {0};
    buf_puts(&b, "[]string{");
    for (size_t i = 0; i < json_array_size(array); i++) {
        const json_t *item = json_array_get(array, i);
        if (i)
            buf_puts(&b, ", ");
        if (json_is_string(item))
            quote_into(&b, json_string_value(item), json_string_length(item));
        else
            buf_puts(&b, "\"\"");
    }
    buf_putc(&b, '}');
    return buf_detach(&b);
}

/* ---- the list -------------------------------------------------------------------------------- */

void fe_init(struct field_errors *errs)
{
    errs->items = NULL;
    errs->len = 0;
    errs->alloc = 0;
    errs->bytes = 0;
}

static void error_release(struct field_error *e)
{
    free(e->field);
    free(e->value);
    free(e->detail);
}

void fe_release(struct field_errors *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->len; i++)
        error_release(&errs->items[i]);
    free(errs->items);
    fe_init(errs);
}

bool fe_full(const struct field_errors *errs)
{
    return errs->len >= FE_MAX_ERRORS || errs->bytes >= FE_MAX_BYTES;
}

static size_t text_size(const char *s)
{
    return s ? strlen(s) : 0;
}

/* Append an error whose strings are already owned; frees them when the list is full. */
static void add_owned(struct field_errors *errs, enum fe_type type, char *field, char *value,
                      char *detail)
{
    size_t size = text_size(field) + text_size(value) + text_size(detail);
    if (fe_full(errs) || size > FE_MAX_BYTES - errs->bytes) {
        free(field);
        free(value);
        free(detail);
        return;
    }
    if (errs->len == errs->alloc) {
        errs->alloc = errs->alloc ? errs->alloc * 2 : 8;
        errs->items = fe_xrealloc(errs->items, errs->alloc * sizeof(*errs->items));
    }
    struct field_error *e = &errs->items[errs->len++];
    e->type = type;
    e->field = field;
    e->value = value;
    e->detail = detail;
    errs->bytes += size;
}

void fe_add(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
            const char *detail)
{
    if (fe_full(errs))
        return;
    add_owned(errs, type, fe_xstrdup(field ? field : ""), value ? fe_xstrdup(value) : NULL,
              detail ? fe_xstrdup(detail) : NULL);
}

void fe_addf(struct field_errors *errs, enum fe_type type, const char *field, const char *value,
             const char *detail_fmt, ...)
{
    if (fe_full(errs))
        return;
    struct fe_buf b = {0};
    va_list ap;
    va_start(ap, detail_fmt);
    buf_vprintf(&b, detail_fmt, ap);
    va_end(ap);
    add_owned(errs, type, fe_xstrdup(field ? field : ""), value ? fe_xstrdup(value) : NULL,
              buf_detach(&b));
}

void fe_append(struct field_errors *dst, struct field_errors *src)
{
    for (size_t i = 0; i < src->len; i++) {
        struct field_error *e = &src->items[i];
        add_owned(dst, e->type, e->field, e->value, e->detail);
    }
    free(src->items);
    fe_init(src);
}

void fe_required(struct field_errors *errs, const char *field, const char *detail)
{
    fe_add(errs, FE_REQUIRED, field, NULL, detail);
}

void fe_forbidden(struct field_errors *errs, const char *field, const char *detail)
{
    fe_add(errs, FE_FORBIDDEN, field, NULL, detail);
}

void fe_internal(struct field_errors *errs, const char *field, const char *detail)
{
    fe_add(errs, FE_INTERNAL, field, NULL, detail);
}

void fe_invalid(struct field_errors *errs, const char *field, const char *value, const char *detail)
{
    fe_add(errs, FE_INVALID, field, value, detail);
}

void fe_invalid_str(struct field_errors *errs, const char *field, const char *raw,
                    const char *detail)
{
    if (fe_full(errs))
        return;
    add_owned(errs, FE_INVALID, fe_xstrdup(field ? field : ""), fe_quote(raw),
              detail ? fe_xstrdup(detail) : NULL);
}

void fe_invalid_int(struct field_errors *errs, const char *field, long long v, const char *detail)
{
    if (fe_full(errs))
        return;
    add_owned(errs, FE_INVALID, fe_xstrdup(field ? field : ""), fe_int(v),
              detail ? fe_xstrdup(detail) : NULL);
}

void fe_duplicate(struct field_errors *errs, const char *field, const char *value)
{
    fe_add(errs, FE_DUPLICATE, field, value, NULL);
}

void fe_duplicate_str(struct field_errors *errs, const char *field, const char *raw)
{
    if (fe_full(errs))
        return;
    add_owned(errs, FE_DUPLICATE, fe_xstrdup(field ? field : ""), fe_quote(raw), NULL);
}

void fe_not_found(struct field_errors *errs, const char *field, const char *value)
{
    fe_add(errs, FE_NOT_FOUND, field, value, NULL);
}

void fe_too_long(struct field_errors *errs, const char *field, long long max)
{
    /* field.TooLong stores "<value omitted>" as the value, but TooLong bodies never show it. */
    if (max >= 0)
        fe_addf(errs, FE_TOO_LONG, field, NULL, "may not be more than %lld bytes", max);
    else
        fe_add(errs, FE_TOO_LONG, field, NULL, "value is too long");
}

void fe_too_many(struct field_errors *errs, const char *field, long long actual, long long max)
{
    if (fe_full(errs))
        return;
    struct fe_buf d = {0};
    if (max >= 0)
        buf_printf(&d, "must have at most %lld items", max);
    else
        buf_puts(&d, "has too many items");
    add_owned(errs, FE_TOO_MANY, fe_xstrdup(field ? field : ""),
              actual >= 0 ? fe_int(actual) : NULL, buf_detach(&d));
}

void fe_not_supported(struct field_errors *errs, const char *field, const char *value,
                      const char *const *supported, size_t n)
{
    if (fe_full(errs))
        return;
    char *detail = NULL;
    if (n > 0) {
        struct fe_buf d = {0};
        buf_puts(&d, "supported values: ");
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_puts(&d, ", ");
            const char *s = supported[i] ? supported[i] : "";
            quote_into(&d, s, strlen(s));
        }
        detail = buf_detach(&d);
    }
    add_owned(errs, FE_NOT_SUPPORTED, fe_xstrdup(field ? field : ""),
              value ? fe_xstrdup(value) : NULL, detail);
}

/* ---- rendering ------------------------------------------------------------------------------- */

/* field.ErrorType.String(). */
static const char *type_text(enum fe_type type)
{
    switch (type) {
    case FE_REQUIRED:
        return "Required value";
    case FE_INVALID:
    case FE_TYPE_INVALID:
        return "Invalid value";
    case FE_DUPLICATE:
        return "Duplicate value";
    case FE_NOT_SUPPORTED:
        return "Unsupported value";
    case FE_FORBIDDEN:
        return "Forbidden";
    case FE_TOO_LONG:
        return "Too long";
    case FE_TOO_MANY:
        return "Too many";
    case FE_NOT_FOUND:
        return "Not found";
    case FE_INTERNAL:
        return "Internal error";
    }
    return "Internal error";
}

const char *fe_reason(enum fe_type type)
{
    switch (type) {
    case FE_REQUIRED:
        return "FieldValueRequired";
    case FE_INVALID:
        return "FieldValueInvalid";
    case FE_DUPLICATE:
        return "FieldValueDuplicate";
    case FE_NOT_SUPPORTED:
        return "FieldValueNotSupported";
    case FE_FORBIDDEN:
        return "FieldValueForbidden";
    case FE_TOO_LONG:
        return "FieldValueTooLong";
    case FE_TOO_MANY:
        return "FieldValueTooMany";
    case FE_NOT_FOUND:
        return "FieldValueNotFound";
    case FE_INTERNAL:
        return "InternalError";
    case FE_TYPE_INVALID:
        return "FieldValueTypeInvalid";
    }
    return "InternalError";
}

static void body_into(struct fe_buf *b, const struct field_error *e)
{
    buf_puts(b, type_text(e->type));
    switch (e->type) {
    case FE_REQUIRED:
    case FE_FORBIDDEN:
    case FE_TOO_LONG:
    case FE_INTERNAL:
        break; /* ErrorBody never prints a value for these types */
    default:
        if (e->value) {
            buf_puts(b, ": ");
            buf_puts(b, e->value);
        }
        break;
    }
    if (e->detail && *e->detail) {
        buf_puts(b, ": ");
        buf_puts(b, e->detail);
    }
}

char *fe_body(const struct field_error *e)
{
    struct fe_buf b = {0};
    body_into(&b, e);
    return buf_detach(&b);
}

char *fe_error_string(const struct field_error *e)
{
    struct fe_buf b = {0};
    buf_puts(&b, e->field ? e->field : "");
    buf_puts(&b, ": ");
    body_into(&b, e);
    return buf_detach(&b);
}

struct rendered {
    char *s;
    size_t index;
};

static int rendered_cmp(const void *a, const void *b)
{
    const struct rendered *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

char *fe_aggregate(const struct field_errors *errs)
{
    if (!errs || errs->len == 0)
        return fe_xstrdup("");
    size_t n = errs->len;
    struct rendered *r = fe_xrealloc(NULL, n * sizeof(*r));
    bool *keep = fe_xrealloc(NULL, n * sizeof(*keep));
    for (size_t i = 0; i < n; i++) {
        r[i].s = fe_error_string(&errs->items[i]);
        r[i].index = i;
        keep[i] = true;
    }
    /* Sorting by (text, position) groups equal texts with the first occurrence leading, so the
     * de-duplication of ToAggregate costs n log n and the order of first occurrences is kept. */
    qsort(r, n, sizeof(*r), rendered_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(r[i].s, r[i - 1].s) == 0)
            keep[r[i].index] = false;
    char **text = fe_xrealloc(NULL, n * sizeof(*text));
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        text[r[i].index] = r[i].s;
        kept += keep[r[i].index];
    }
    struct fe_buf b = {0};
    if (kept > 1)
        buf_putc(&b, '[');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) {
            if (!first)
                buf_puts(&b, ", ");
            buf_puts(&b, text[i]);
            first = false;
        }
        free(text[i]);
    }
    if (kept > 1)
        buf_putc(&b, ']');
    free(text);
    free(keep);
    free(r);
    return buf_detach(&b);
}

/* ---- paths ----------------------------------------------------------------------------------- */

char *fe_path_child(const char *parent, const char *name)
{
    struct fe_buf b = {0};
    if (parent && *parent) {
        buf_puts(&b, parent);
        buf_putc(&b, '.');
    }
    buf_puts(&b, name ? name : "");
    return buf_detach(&b);
}

char *fe_path_index(const char *parent, size_t i)
{
    struct fe_buf b = {0};
    buf_printf(&b, "%s[%zu]", parent ? parent : "", i);
    return buf_detach(&b);
}

char *fe_path_key(const char *parent, const char *key)
{
    struct fe_buf b = {0};
    buf_puts(&b, parent ? parent : "");
    buf_putc(&b, '[');
    buf_puts(&b, key ? key : "");
    buf_putc(&b, ']');
    return buf_detach(&b);
}
