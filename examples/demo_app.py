#!/usr/bin/env python3
"""Demo upstream for `make run`: one HTML page that shows the request headers it received, so a
user sees what ztgate adds (X-Forwarded-*, and the X-ZT-* identity headers once signed in).

    usage: examples/demo_app.py [PORT]     (default 8081; binds 127.0.0.1 only)
"""
import html
import http.server
import sys

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ztgate demo app</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 50rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
tr.zt td {{ background: #eef7ee; }}
code {{ word-break: break-all; }}
</style></head>
<body>
<h1>Hello from the demo app behind ztgate</h1>
<p>This page is served by <code>examples/demo_app.py</code>. Below is the request exactly as it
reached the app: headers set by ztgate (<code>X-Forwarded-*</code>, <code>X-ZT-*</code>)
are highlighted.</p>
<p><b>{method}</b> <code>{path}</code> {version}</p>
<table>
<tr><th>Header</th><th>Value</th></tr>
{rows}
</table>
</body>
</html>
"""


class DemoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    server_version = "ztgate-demo-app/1"

    def _respond(self, send_body):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)  # drain a request body so the connection stays usable
        rows = []
        for name, value in self.headers.items():
            lname = name.lower()
            cls = ' class="zt"' if lname.startswith(("x-zt-", "x-forwarded-")) else ""
            rows.append('<tr%s><td>%s</td><td><code>%s</code></td></tr>'
                        % (cls, html.escape(name), html.escape(value)))
        body = PAGE.format(method=html.escape(self.command), path=html.escape(self.path),
                           version=html.escape(self.request_version),
                           rows="\n".join(rows)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_GET(self):
        self._respond(True)

    def do_HEAD(self):
        self._respond(False)

    def do_POST(self):
        self._respond(True)

    def log_message(self, fmt, *args):
        sys.stderr.write("demo-app: %s %s\n" % (self.address_string(), fmt % args))


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8081
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), DemoHandler)
    server.daemon_threads = True
    print("demo-app: listening on http://127.0.0.1:%d/" % port, file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
