"""Request smuggling and malformed framing (security.md §4.1): each ambiguous request is answered
400 (431 for oversized heads) and the connection closed; a sentinel request sent behind it in the
same write never reaches the upstream."""
from harness import check, eq, exchange

SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: app.test\r\n\r\n"


def _head(*lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _rejected(h, payload, statuses=(400,), body_level=False):
    """Sends payload + sentinel; asserts one error response, a closed connection, no sentinel
    upstream. body_level: the head itself was valid, so the upstream may have seen it."""
    gw, up = h.simple()
    responses, closed, raw = exchange(gw.port, payload + SENTINEL, timeout_s=5)
    check(responses, "no response at all (raw %r)" % raw[:200])
    check(responses[0].status in statuses,
          "status %d, expected one of %s" % (responses[0].status, statuses))
    eq(len(responses), 1, "number of responses (a second one answers the smuggled request)")
    check(closed, "connection must be closed after the error")
    paths = up.paths()
    check("/sentinel" not in [p.split("?")[0] for p in paths],
          "smuggled sentinel reached the upstream: %r" % paths)
    if not body_level:
        eq(paths, [], "requests seen upstream")
    else:
        check(len(paths) <= 1, "upstream saw %d requests" % len(paths))


def test_control_valid_chunked_then_sentinel_both_served(h):
    """The method itself works: a valid request followed by the sentinel gives two answers."""
    gw, up = h.simple()
    payload = _head("POST /first HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked")
    payload += b"5\r\nhello\r\n0\r\n\r\n"
    responses, _, _ = exchange(gw.port, payload + SENTINEL, timeout_s=3)
    eq([r.status for r in responses], [200, 200], "statuses")
    eq(up.paths(), ["/first", "/sentinel"], "upstream requests")


def test_cl_te(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: 6",
                       "Transfer-Encoding: chunked") + b"0\r\n\r\nG")


def test_te_cl(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked",
                       "Content-Length: 4") + b"5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n")


def test_duplicate_content_length(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: 5",
                       "Content-Length: 6") + b"hello!")


def test_content_length_list(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: 5, 6") + b"hello!")


def test_content_length_plus_sign(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: +5") + b"hello")


def test_content_length_negative(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: -1"))


def test_content_length_empty(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Content-Length: "))


def test_transfer_encoding_xchunked(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: xchunked")
              + b"0\r\n\r\n")


def test_transfer_encoding_chunked_not_last(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test",
                       "Transfer-Encoding: chunked, identity") + b"0\r\n\r\n")


def test_transfer_encoding_twice(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked",
                       "Transfer-Encoding: identity") + b"0\r\n\r\n")


def test_space_before_colon(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding : chunked")
              + b"0\r\n\r\n")


def test_obs_fold(h):
    _rejected(h, _head("GET / HTTP/1.1", "Host: app.test", "X-Folded: a", " b"))


def test_bare_lf_in_header_block(h):
    _rejected(h, b"GET / HTTP/1.1\r\nHost: app.test\r\nX-A: 1\nX-B: 2\r\n\r\n")


def test_bare_cr_in_header_value(h):
    _rejected(h, b"GET / HTTP/1.1\r\nHost: app.test\r\nX-A: 1\rX-B: 2\r\n\r\n")


def test_nul_in_header_value(h):
    _rejected(h, b"GET / HTTP/1.1\r\nHost: app.test\r\nX-A: a\x00b\r\n\r\n")


def test_empty_header_name(h):
    _rejected(h, _head("GET / HTTP/1.1", "Host: app.test", ": empty"))


def test_invalid_chunk_size(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked")
              + b"zz\r\nhello\r\n0\r\n\r\n", body_level=True)


def test_chunk_size_overflow(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked")
              + b"ffffffffffffffffff1\r\nhello\r\n0\r\n\r\n", body_level=True)


def test_chunk_size_with_prefix(h):
    _rejected(h, _head("POST / HTTP/1.1", "Host: app.test", "Transfer-Encoding: chunked")
              + b"0x5\r\nhello\r\n0\r\n\r\n", body_level=True)


def test_header_block_over_32k(h):
    _rejected(h, _head("GET / HTTP/1.1", "Host: app.test", "X-Big: " + "a" * (34 * 1024)),
              statuses=(431,))


def test_header_block_over_32k_in_many_lines(h):
    lines = ["GET / HTTP/1.1", "Host: app.test"]
    lines += ["X-Fill-%02d: %s" % (i, "b" * 1000) for i in range(40)]
    _rejected(h, _head(*lines), statuses=(431,))


def test_too_many_headers(h):
    lines = ["GET / HTTP/1.1", "Host: app.test"] + ["X-H%d: v" % i for i in range(150)]
    _rejected(h, _head(*lines), statuses=(431,))


def test_missing_host(h):
    _rejected(h, _head("GET / HTTP/1.1", "X-A: 1"))


def test_duplicate_host(h):
    _rejected(h, _head("GET / HTTP/1.1", "Host: app.test", "Host: other.test"))


def test_http2_request_line(h):
    # 505 (version not supported) is as good as 400 here: refused and closed.
    _rejected(h, _head("GET / HTTP/2.0", "Host: app.test"), statuses=(400, 505))


def test_garbage_request_line(h):
    _rejected(h, b"GET /a b HTTP/1.1\r\nHost: app.test\r\n\r\n")
