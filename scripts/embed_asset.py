#!/usr/bin/env python3
"""Build step (src/portal/meson.build): turn a static asset into C, so the binary serves it
with no file lookup at run time.

    embed_asset.py INPUT OUTPUT.c SYMBOL

writes `const unsigned char SYMBOL[]` (the bytes), `const size_t SYMBOL_len` and
`const char SYMBOL_etag[]`, a strong ETag: the quoted hex SHA-256 of the bytes (first 32
digits), so a browser keeps its copy until the file changes."""
import hashlib
import sys


def main():
    src, out, sym = sys.argv[1:4]
    with open(src, "rb") as f:
        data = f.read()
    etag = '\\"%s\\"' % hashlib.sha256(data).hexdigest()[:32]
    lines = ["/* Generated from %s by scripts/embed_asset.py: do not edit. */" % src.split("/")[-1],
             "#include <stddef.h>", "",
             "extern const unsigned char %s[];" % sym,
             "extern const size_t %s_len;" % sym,
             "extern const char %s_etag[];" % sym, "",
             "const unsigned char %s[] = {" % sym]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
    lines += ["};", "const size_t %s_len = %d;" % (sym, len(data)),
              'const char %s_etag[] = "%s";' % (sym, etag), ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
