/* libFuzzer target for the WebSocket frame tracker: the first byte picks the direction, the
 * rest is fed whole and then again in pieces whose sizes come from the input. Wherever the
 * bytes are cut, the verdict (error or not), the bytes passed and the frame ends seen must be
 * the same; a close frame we write must always be a valid frame for its direction, and the
 * fill that completes a cut frame must end exactly at that frame's end. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proxy/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct run {
    size_t passed, frames;
    bool failed;
    zt_ws_track t; /* where it stopped */
} run;

/* Pieces of 1 + (cut byte % 17) bytes when cuts is given, else all at once. */
static run feed(bool from_client, const uint8_t *p, size_t n, const uint8_t *cuts, size_t n_cuts)
{
    zt_ws_track t;
    zt_ws_track_init(&t, from_client);
    run r = {0, 0, false, t};
    size_t ci = 0;
    while (r.passed < n && !r.failed) {
        size_t piece = n - r.passed;
        if (n_cuts > 0) {
            size_t want = 1 + cuts[ci++ % n_cuts] % 17;
            piece = want < piece ? want : piece;
        }
        size_t end = r.passed + piece;
        while (r.passed < end) {
            const char *why = NULL;
            size_t k = zt_ws_track_feed(&t, p + r.passed, end - r.passed, true, &why);
            CHECK(k <= end - r.passed);
            r.passed += k;
            if (zt_ws_track_failed(&t)) {
                CHECK(why != NULL);
                r.failed = true;
                break;
            }
            CHECK(why == NULL);
            r.t = t;
            if (zt_ws_track_at_boundary(&t))
                r.frames++;
            else
                CHECK(r.passed == end);
        }
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool from_client = data[0] & 1;
    size_t n_cuts = data[1] % 8;
    if (size < 2 + n_cuts)
        return 0;
    const uint8_t *cuts = data + 2;
    const uint8_t *p = data + 2 + n_cuts;
    size_t n = size - 2 - n_cuts;
    run whole = feed(from_client, p, n, NULL, 0);
    run split = feed(from_client, p, n, cuts, n_cuts);
    run bytes = feed(from_client, p, n, (const uint8_t[]){0}, 1);
    CHECK(whole.failed == split.failed && whole.failed == bytes.failed);
    CHECK(whole.frames == split.frames && whole.frames == bytes.frames);
    if (!whole.failed)
        CHECK(whole.passed == n && split.passed == n && bytes.passed == n);

    /* a frame cut where the input ends: the fill completes it and nothing more */
    if (!whole.failed && whole.t.have == 0 && whole.t.left > 0 && whole.t.left <= 4096) {
        uint8_t fill[4096];
        zt_ws_track t = whole.t;
        const char *why = NULL;
        zt_ws_track_fill(&t, 0, fill, (size_t)t.left);
        size_t left = (size_t)t.left;
        CHECK(zt_ws_track_feed(&t, fill, left, true, &why) == left);
        CHECK(why == NULL && zt_ws_track_at_boundary(&t));
    }

    uint8_t frame[ZT_WS_CLOSE_MAX];
    char reason[200];
    size_t rn = n < sizeof(reason) - 1 ? n : sizeof(reason) - 1;
    memcpy(reason, p, rn);
    reason[rn] = '\0';
    size_t fn = zt_ws_close_frame(frame, !from_client, ZT_WS_POLICY, reason);
    CHECK(fn <= sizeof(frame));
    run close = feed(!from_client, frame, fn, NULL, 0);
    CHECK(!close.failed && close.passed == fn && close.frames == 1);
    return 0;
}
