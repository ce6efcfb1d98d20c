"""The docs are tested: every command, config key, admin-API path, metric name and example URL
that README.md and docs/*.md show is checked against the real binaries, so a doc cannot promise
what the software does not do.

Nothing here is a hard-coded list of what exists: subcommands and flags come from the binaries'
own help, config keys from probing `ztgate check-config` (its unknown-key errors list every key
of a section), admin paths from requests to a running gateway, metric names from its /metrics.
So the test keeps working when someone adds a key or a command, and fails when a doc names one
that is not there. Each test collects every problem and reports them all at once.
"""
import glob
import json
import os
import re
import shlex
import subprocess

from admin_auth import personal_token
from harness import Conn, check, free_port, get, port_open, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BINARIES = ("ztgate", "ztagent")
PORTAL_HOST = "app.test"  # the docs gateway's portal host (the identity provider's pages)
FILE_EXTS = {"log", "md", "c", "h", "pem", "key", "conf", "yaml", "yml", "json", "txt", "mmdb",
             "py", "sh", "crt", "csv", "mjs", "js", "inc", "token", "db", "example", "org",
             "com", "test", "localhost"}
# Dotted names the docs show that are not config keys although their first word is the name of
# a config section: fields of audit records (OCSF) and of agent posture reports.
NOT_CONFIG = {"device.uid", "session.uid", "device.name", "device.platform",
              "device.hostname", "device.os.type",
              "device.os.type_source",  # OCSF record fields, not config keys
              # the messages of the SAML IdP's audit records (docs/AUDIT.md, docs/SAML.md)
              "saml.sso.allow", "saml.sso.challenge", "saml.sso.block", "saml.assertion",
              "saml.response.error", "saml.logout", "saml.logout.backchannel",
              # the api.operation of the SCIM endpoint's audit records (docs/SCIM.md)
              "scim.user.create",
              # the operations of the administrators' records (docs/ADMINS.md)
              "admin.grant", "admin.revoke", "admin.first", "admin.list",
              # the api.operation of the admin API's risk and device records (docs/AUDIT.md)
              "risk.dismiss", "risk.dismiss_user", "risk.confirm_compromised", "device.revoke"}


def doc_files():
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs",
                                                                           "*.md")))


def rel(path):
    return os.path.relpath(path, ROOT)


def code_blocks(text):
    """(lang, first line number, [lines]) of every fenced block."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^\s*```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start, body = m.group(1), i + 2, []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        out.append((lang, start, body))
        i += 1
    return out


def prose_lines(text):
    """(line number, line) outside fenced blocks."""
    inside = False
    for n, line in enumerate(text.split("\n"), 1):
        if re.match(r"^\s*```", line):
            inside = not inside
            continue
        if not inside:
            yield n, line


def inline_spans(text):
    """(line number, span) of every `code span` outside fenced blocks."""
    for n, line in prose_lines(text):
        for m in re.finditer(r"`([^`]+)`", line):
            yield n, m.group(1)


def all_docs():
    for path in doc_files():
        with open(path, encoding="utf-8") as f:
            yield rel(path), f.read()


def run(argv, timeout_s=15):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, ZTGATE_CONFIG=""))
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------------------------------------
# commands

_CMD_START = re.compile(r"(?:^\s*(?:\$\s+)?|[|;&]\s*|\$\(\s*)(?:[A-Z_]+=\S*\s+)*(?:sudo\s+)?"
                        r"(?:[\w./-]*/)?(ztgate|ztagent)(?=\s|$)")


def shown_commands():
    """(where, binary, words) for every ztgate/ztagent command line in code blocks and spans."""
    found = []
    for name, text in all_docs():
        for lang, start, body in code_blocks(text):
            if lang not in ("", "sh", "console", "text", "bash"):
                continue
            joined, first = [], None
            for k, line in enumerate(body):
                first = start + k if first is None else first
                if line.rstrip().endswith("\\"):
                    joined.append(line.rstrip()[:-1])
                    continue
                joined.append(line)
                found += _commands_in(" ".join(joined), "%s:%d" % (name, first))
                joined, first = [], None
        for n, span in inline_spans(text):
            if re.match(r"^(?:sudo\s+)?(?:\S*/)?(ztgate|ztagent)(\s|$)", span):
                found += _commands_in(span, "%s:%d" % (name, n))
        for n, line in prose_lines(text):  # indented code blocks (docs/AGENT.md)
            if re.match(r"^ {4}(?:\$ )?(?:sudo\s+)?(?:\S*/)?(ztgate|ztagent)\s", line):
                found += _commands_in(line, "%s:%d" % (name, n))
    return found


def _commands_in(line, where):
    out = []
    if "\\n" in line:
        return out  # a data string that starts with the word (AUDIT.md's checkpoint text)
    line = re.sub(r"\s#.*$", "", line)  # shell comment
    for m in _CMD_START.finditer(line):
        rest = re.split(r"\s(?:\||&&|;|>|2>)\s|[)`]", line[m.end():])[0]
        try:
            words = shlex.split(rest)
        except ValueError:
            words = rest.split()
        out.append((where, m.group(1), words))
    return out


class Help:
    """What a binary says it accepts, read from its own help output."""

    def __init__(self, build):
        self.build = build
        self.cache = {}

    def path(self, binary):
        return os.path.join(self.build, binary)

    def top(self, binary):
        key = (binary, None)
        if key not in self.cache:
            self.cache[key] = run([self.path(binary), "--help"])[1]
        return self.cache[key]

    def subcommands(self, binary):
        names = set()
        for line in self.top(binary).split("\n"):
            m = re.match(r"^  ([a-z][a-z-]*)(\s|$)", line)
            if m:
                names.add(m.group(1))
        return names

    def sub(self, binary, sub):
        """The help text for one subcommand: its lines in the top-level usage, and for ztgate
        the output of `ztgate SUB help` (run against a config that does not exist, so that
        nothing can start)."""
        key = (binary, sub)
        if key in self.cache:
            return self.cache[key]
        lines, keep = [], False
        for line in self.top(binary).split("\n"):
            m = re.match(r"^  (\S+)", line)
            if m:
                keep = m.group(1) == sub
            elif not line.startswith("    "):
                keep = False
            if keep:
                lines.append(line)
        text = "\n".join(lines)
        if binary == "ztgate":
            text += "\n" + run([self.path(binary), sub, "help", "--config",
                                "/nonexistent/ztgate-docs-test.yaml"])[1]
        self.cache[key] = text
        return text


def _is_placeholder(word):
    return (word.isupper() or "…" in word or word.startswith(("[", "(", "<", "{", "$"))
            or word == "...")


def _flags(words):
    flags = set()
    for w in words:
        for m in re.finditer(r"(?:^|[\[(|])(--?[A-Za-z][A-Za-z0-9-]*)", w):
            f = m.group(1)
            if f.startswith("--") or len(f) == 2:
                flags.add(f)
    return flags


def command_problems(build):
    helps = Help(build)
    problems, seen = [], set()
    for where, binary, words in shown_commands():
        key = (binary, tuple(words))
        if key in seen:
            continue
        seen.add(key)
        shown = "%s %s" % (binary, " ".join(words))
        if not words or _is_placeholder(words[0]):
            continue
        for sub in words[0].split("|"):  # `ztgate user|group|risk ...`
            problems += _command_problems(helps, where, binary, shown, sub, words)
    return problems


def _command_problems(helps, where, binary, shown, sub, words):
    """What is wrong with one shown command: its subcommand, its action, its flags."""
    if sub.startswith("-"):
        if sub in ("--help", "--version") and run([helps.path(binary), sub])[0] == 0:
            return []
        return ["%s: `%s`: %s does not accept %s" % (where, shown, binary, sub)]
    if sub not in helps.subcommands(binary):
        return ["%s: `%s`: %s has no subcommand '%s'" % (where, shown, binary, sub)]
    text = helps.sub(binary, sub)
    actions = set(re.findall(r"(?=\b%s ([a-z][a-z-]+)\b)" % re.escape(sub), text)) - {sub}
    if len(words) > 1 and actions and re.match(r"^[a-z][a-z-]*$", words[1]) \
            and words[1] not in actions:
        return ["%s: `%s`: '%s %s' is not an action of %s %s (help lists: %s)" %
                (where, shown, sub, words[1], binary, sub, ", ".join(sorted(actions)))]
    problems = []
    for flag in sorted(_flags(words[1:])):
        if binary == "ztgate" and flag == "--config":
            continue  # global: `ztgate SUBCOMMAND [--config FILE]`
        if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(flag), text):
            problems.append("%s: `%s`: %s %s does not list %s in its help" %
                            (where, shown, binary, sub, flag))
    return problems


def help_problems(build):
    """Every subcommand's help names its actions once: `ztgate device list`, not
    `ztgate device device list`."""
    helps = Help(build)
    problems = []
    for sub in sorted(helps.subcommands("ztgate")):
        text = helps.sub("ztgate", sub)
        if re.search(r"\b%s %s\b" % (re.escape(sub), re.escape(sub)), text):
            problems.append("`ztgate %s help` repeats the subcommand: %s" %
                            (sub, [ln.strip() for ln in text.split("\n")
                                   if "%s %s" % (sub, sub) in ln][0]))
    return problems


def test_docs_commands(h):
    check(len(shown_commands()) >= 30, "the extractor found almost no commands in the docs")
    problems = command_problems(h.build_dir) + help_problems(h.build_dir)
    check(not problems, "commands shown in the docs that the binaries refuse:\n  " +
          "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# config keys

_UNKNOWN = re.compile(r"unknown key 'zz_probe' (?:at top level|in '([^']*)') "
                      r"\(expected one of: ([^)]*)\)")


def _nest(path, leaf):
    """A config object with leaf at path (names; '[]' for a list item)."""
    obj = leaf
    for part in reversed(path):
        obj = [obj] if part == "[]" else {part: obj}
    return obj


def _probe(h, objs):
    """check-config on each object (JSON is YAML); {section path: [keys]} from the errors."""
    found = {}
    for i, obj in enumerate(objs):
        f = h.path("probe-%d.yaml" % i)
        with open(f, "w") as out:
            json.dump(obj, out)
        for m in _UNKNOWN.finditer(run([h.ztgate, "check-config", f])[1]):
            where = re.sub(r"\[\d+\]", ".[]", m.group(1) or "")
            found[tuple(p for p in where.split(".") if p)] = [
                k.strip() for k in m.group(2).split(",") if k.strip()]
    return found


def config_schema(h):
    """Every config key the loader knows, as paths ('[]' marks a list item), found by writing
    an unknown key into each section and reading the key list of the error."""
    schema = {(): _probe(h, [{"zz_probe": 1}]).get((), [])}
    check(schema[()], "check-config did not list the top-level keys")
    todo = [()]
    while todo:
        section = todo.pop()
        for shape in ({"zz_probe": 1}, [{"zz_probe": 1}]):
            obj = {}
            for key in schema[section]:
                obj[key] = shape
            nested = _nest(section, obj)
            for path, keys in _probe(h, [nested]).items():
                if path not in schema and len(path) > len(section):
                    schema[path] = keys
                    todo.append(path)
    keys = set()
    for section, names in schema.items():
        for name in names:
            keys.add(section + (name,))
    return schema, keys


def _strip(path):
    return tuple(p for p in path if p != "[]")


def key_known(keys, parts, rooted):
    """parts (with or without '[]') names a known key: from the top when rooted, else as the
    tail of some key's path."""
    want = _strip(parts)
    for k in keys:
        s = _strip(k)
        if (rooted and s == want) or (not rooted and s[-len(want):] == want):
            return True
    return False


_DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(?:\[\])?(?:\.[a-z_][a-z0-9_]*(?:\[\])?)+$")


def dotted_key_problems(h, schema, keys):
    top = set(schema[()])
    sections = {k[-1] for k in schema if k} | {k[-2] for k in schema if len(k) > 1 and
                                               k[-1] == "[]"}
    problems = []
    for name, text in all_docs():
        for n, span in inline_spans(text):
            if not _DOTTED.match(span) or span in NOT_CONFIG:
                continue
            parts = [p for p in re.split(r"\.|(\[\])", span) if p]
            if parts[-1] in FILE_EXTS:
                continue
            if parts[0] in top:
                if not key_known(keys, parts, True):
                    problems.append("%s:%d: `%s` is not a config key" % (name, n, span))
            elif parts[0] in sections and not key_known(keys, parts, False):
                problems.append("%s:%d: `%s` is not a config key (no section has it)" %
                                (name, n, span))
    return problems


# Environment-dependent refusals: a doc snippet names files and hosts of its own reader.
_ENV_ERRORS = re.compile(r"missing required key|cannot read|No such file|not found|cannot "
                         r"resolve|does not exist|not a directory|readable|Permission|getaddrinfo|"
                         r"is not an? (app|location|group) name|no enabled method can satisfy")


def yaml_problems(h, schema):
    """Each YAML snippet written from the top level of a config goes through check-config;
    everything it refuses is a problem except what depends on the reader's machine (files,
    host names) or on the rest of their config (required sections, app names)."""
    top = set(schema[()])
    problems = []
    for name, text in all_docs():
        for k, (lang, start, body) in enumerate(code_blocks(text)):
            if lang not in ("yaml", "yml"):
                continue
            roots = {m.group(1) for m in (re.match(r"^([A-Za-z_][A-Za-z0-9_]*):", ln)
                                          for ln in body) if m}
            if not roots or not roots <= top:
                continue  # a fragment, or not a ztgate config (Prometheus, policy tests)
            f = h.path("snippet-%s-%d.yaml" % (os.path.basename(name), k))
            with open(f, "w") as out:
                out.write("\n".join(body) + "\n")
            for line in run([h.ztgate, "check-config", f])[1].split("\n"):
                m = re.match(r"^[^:]+:(\d+):\d+: (.*)$", line)
                if m and not _ENV_ERRORS.search(m.group(2)):
                    problems.append("%s:%d: check-config refuses the snippet: %s" %
                                    (name, start + int(m.group(1)) - 1, m.group(2)))
    return problems


def _section_paths(spans, top):
    """Config section paths named by backticked spans of a heading ("`gateway.listen[]`",
    "`auth`", "`risk:`"); only spans that look like config paths count."""
    out = []
    for span in spans:
        span = span.rstrip(":")
        parts = [p for p in re.split(r"\.|(\[\])", span) if p]
        if parts and parts[0] in top and re.match(r"^[a-z_\[\].]+$", span):
            out.append(tuple(parts))
    return out


def key_table_problems(schema, keys):
    """Key tables (a `| key |` header) under a heading that names a config section: every key
    in the first column must be a key of that section (CONFIG.md is the reference)."""
    top = set(schema[()])
    problems = []
    for name, text in all_docs():
        sections, base, in_table = [], [], False
        for n, line in prose_lines(text):
            hm = re.match(r"^#+\s+(.*)$", line)
            if hm:
                title = hm.group(1)
                base = [()] if title.strip().lower() == "top level" else \
                    _section_paths(re.findall(r"`([^`]+)`", title), top)
                sections, in_table = base, False
                continue
            sub = re.match(r"^`([a-z_]+)`:\s*$", line)  # "`conditions`:" under a policy
            if sub and base:
                sections = [b + (sub.group(1),) for b in base]
                continue
            under = re.search(r"\bunder `([a-z_.\[\]]+):?`", line)
            if under and not line.startswith("|"):
                sections = _section_paths([under.group(1)], top) or sections
            if re.match(r"^\|\s*key\s*\|", line):
                in_table = True
                continue
            if not line.startswith("|"):
                in_table = False
                continue
            if not in_table or not sections or re.match(r"^\|[\s|:-]+$", line):
                continue
            cell = line.split("|")[1]
            for key in re.findall(r"`([a-z_][a-z0-9_]*)`", cell):
                for sec in sections:
                    if not key_known(keys, sec + (key,), True):
                        problems.append("%s:%d: `%s` is not a key of `%s`" %
                                        (name, n, key, ".".join(sec).replace(".[]", "[]")
                                         or "top level"))
    return problems


def test_docs_config_keys(h):
    schema, keys = config_schema(h)
    # The probe must see deep keys, or every check below would be vacuous.
    for known in (("auth", "keys_dir"), ("devices", "posture_max_age"),
                  ("policies", "[]", "conditions", "device", "platforms"),
                  ("gateway", "listen", "[]", "tls", "cert")):
        check(known in keys, "schema probe missed %s (found %d keys)" % (".".join(known),
                                                                          len(keys)))
    problems = (dotted_key_problems(h, schema, keys) + yaml_problems(h, schema) +
                key_table_problems(schema, keys))
    check(not problems, "config keys shown in the docs that the loader refuses:\n  " +
          "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# admin API paths, metric names, example URLs

_SAMPLE_ID = "0" * 32


def shown_admin_paths():
    """(where, method or None, path) of every /api/v1/ path in the docs."""
    out = []
    for name, text in all_docs():
        for n, line in enumerate(text.split("\n"), 1):
            for m in re.finditer(r"(?:\b(GET|POST|DELETE|PUT|PATCH|HEAD)\s+)?"
                                 r"(?:https?://[^/\s]+)?(/api/v1/[^\s`'\"),]*)", line):
                method, path = m.group(1), m.group(2)
                out.append(("%s:%d" % (name, n), method, path))
                # "POST /api/v1/users/{u}/disable · /enable · /reset-mfa": siblings
                tail = line[m.end():]
                for sib in re.findall(r"^\s*`?\s*·\s*`?(/[a-z-]+)`?", tail) or []:
                    out.append(("%s:%d" % (name, n), method, path.rsplit("/", 1)[0] + sib))
                while True:
                    sm = re.match(r"^`?\s*·\s*`(/[a-z-]+)`", tail)
                    if not sm:
                        break
                    out.append(("%s:%d" % (name, n), method, path.rsplit("/", 1)[0] +
                                sm.group(1)))
                    tail = tail[sm.end():]
    return out


def _concrete(path):
    path = re.sub(r"\[\?[^\]]*\]", "", path)  # optional query in brackets
    path = path.split("?")[0].rstrip(".")
    segs = path.split("/")
    for i, s in enumerate(segs):
        if re.match(r"^\{.*\}$", s) or "…" in s or (s.isupper() and s):
            prev = segs[i - 1] if i else ""
            segs[i] = _SAMPLE_ID if prev == "devices" else (
                "nogroup" if prev == "groups" else "nobody%40example.test")
    return "/".join(segs)


def _admin_request(port, token, method, path):
    headers = [("Authorization", "Bearer %s" % token)]
    body = None
    if method == "POST":
        headers.append(("Content-Type", "application/json"))
        body = b"{}"
    c = Conn(port, tls=True, server_name="localhost")
    try:
        return c.request(method, path, host="127.0.0.1:%d" % port, headers=headers, body=body)
    finally:
        c.close()


SAML_SP_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
 entityID="https://sp.test/md"><md:SPSSODescriptor
 protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService
 index="0" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/acs"/>
 </md:SPSSODescriptor></md:EntityDescriptor>
"""


def _idp_apps(h):
    """A SAML service provider, so the identity provider's pages the docs name exist."""
    md = h.path("sp-metadata.xml")
    with open(md, "w") as f:
        f.write(SAML_SP_METADATA)
    return [{"name": "docs-sp", "kind": "saml", "saml": {"metadata_file": md}}]


def admin_gateway(h):
    up = h.upstream()
    port = free_port()
    admin = {"listen": "127.0.0.1:%d" % port,
             "tls": {"cert": os.path.join(h.dir, "state", "admin.crt"),
                     "key": os.path.join(h.dir, "state", "admin.key"), "self_signed": True}}
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}  # its metrics too
    # An OpenID Connect client, so the provider's pages (docs/OIDC.md) exist; they live on the
    # portal host, which is the host these checks ask.
    secret = h.path("docs-rp.secret")
    with open(secret, "w") as f:
        f.write("docs-secret\n")
    os.chmod(secret, 0o600)
    rp = {"name": "docs-rp", "kind": "oidc",
          "oidc": {"client_id": "docs-rp", "client_secret_file": secret,
                   "redirect_uris": ["https://rp.example/cb"]}}
    auth = {"argon2_memory": "19MiB", "argon2_passes": 2, "portal_host": "app.test"}
    h.gateway(h.config([h.app(up), rp] + _idp_apps(h), extra={"admin": admin, "audit": audit, "auth": auth}))
    check(wait_until(lambda: port_open(port), 10.0), "admin port %d never opened" % port)
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token file")
    with open(token_path) as f:
        return port, personal_token(port, bootstrap=f.read().strip(), tls=True)


def admin_path_problems(port, token):
    problems, seen = [], set()
    for where, method, path in shown_admin_paths():
        if path.rstrip("/") == "/api/v1":
            continue  # the prefix itself, named in prose
        concrete = _concrete(path)
        for m in ([method] if method else ["GET"]):
            if (m, concrete) in seen:
                continue
            seen.add((m, concrete))
            r = _admin_request(port, token, m, concrete)
            if r is None:
                problems.append("%s: %s %s: no answer" % (where, m, concrete))
                continue
            doc = {}
            try:
                doc = r.json()
            except ValueError:
                pass
            if r.status == 404 and "no such endpoint" in str(doc.get("message", "")):
                problems.append("%s: %s %s: no such endpoint (404)" % (where, m, path))
            elif r.status == 405 and method:
                problems.append("%s: %s %s: method not allowed (Allow: %s)" %
                                (where, m, path, r.header("Allow")))
    return problems


def metric_names_shown():
    """(where, name) of metric names in Metrics sections (cookie names look alike elsewhere)."""
    out = []
    for name, text in all_docs():
        in_metrics = False
        for n, line in enumerate(text.split("\n"), 1):
            hm = re.match(r"^(#+)\s+(.*)$", line)
            if hm:
                in_metrics = "metric" in hm.group(2).lower()
                continue
            if in_metrics:
                for m in re.finditer(r"\b(ztgate_[a-z0-9_]*[a-z0-9])(?!\w)(\*)?", line):
                    out.append(("%s:%d" % (name, n), m.group(1), bool(m.group(2))))
    return out


def metric_problems(port, token):
    r = _admin_request(port, token, "GET", "/metrics")
    check(r is not None and r.status == 200, "GET /metrics failed: %r" % (r,))
    exposed = set()
    for line in r.body.decode().split("\n"):
        m = re.match(r"^# (?:TYPE|HELP) (\S+)", line) or re.match(r"^([a-z_][a-z0-9_]*)", line)
        if m:
            exposed.add(m.group(1))
    problems = []
    for where, name, family in metric_names_shown():
        if family or name.endswith("_"):
            ok = any(e.startswith(name) for e in exposed)
        else:
            ok = name in exposed
        if not ok:
            problems.append("%s: metric `%s` is not in /metrics" % (where, name))
    return problems


def quickstart_schemes():
    """{port: scheme} of the quickstart's listeners, the ports every doc example uses."""
    with open(os.path.join(ROOT, "examples", "quickstart.yaml")) as f:
        text = f.read()
    schemes = {}
    for m in re.finditer(r"address:\s*\"?[\d.]+:(\d+)\"?(.*?)(?=\n\s*-\s*address|\n\S|\Z)", text,
                         re.S):
        schemes[int(m.group(1))] = "https" if re.search(r"\btls:", m.group(2)) else "http"
    am = re.search(r"^admin:\s*\n((?:[ \t]+.*\n?)*)", text, re.M)
    if am:
        pm = re.search(r"listen:\s*\"?[\d.]+:(\d+)", am.group(1))
        if pm:
            schemes[int(pm.group(1))] = "https" if re.search(r"\btls:", am.group(1)) else "http"
    return schemes


def url_problems():
    schemes = quickstart_schemes()
    check(schemes, "no listeners found in examples/quickstart.yaml")
    problems = []
    for name, text in all_docs():
        for n, line in enumerate(text.split("\n"), 1):
            for m in re.finditer(r"\b(https?)://(?:127\.0\.0\.1|localhost|app\.localhost|"
                                 r"\[::1\]):(\d+)", line):
                want = schemes.get(int(m.group(2)))
                if want is not None and want != m.group(1):
                    problems.append("%s:%d: %s on port %s, which the quickstart serves over %s" %
                                    (name, n, m.group(0), m.group(2), want))
    return problems


def portal_path_problems(gw_port):
    """Every /.ztgate/ page the docs name answers something other than 404 (a method or
    authentication refusal still proves the page exists)."""
    problems, seen = [], set()
    for name, text in all_docs():
        for n, line in enumerate(text.split("\n"), 1):
            for m in re.finditer(r"/\.ztgate/[a-z][a-z0-9/._-]*[a-z0-9]/?", line):
                path = m.group(0)
                if path.endswith("/") or path in seen:  # a prefix, not a page
                    continue
                seen.add(path)
                # The identity provider's pages are on the portal host only.
                idp = path.startswith(("/.ztgate/saml", "/.ztgate/oidc"))
                r = get(gw_port, path, host=PORTAL_HOST) if idp else get(gw_port, path)
                if r is None or r.status == 404:
                    problems.append("%s:%d: %s: %s" % (name, n, path,
                                                        "404" if r is not None else "no answer"))
    check(len(seen) >= 8, "found only %d portal paths in the docs" % len(seen))
    return problems


def test_docs_admin_paths_metrics_urls(h):
    port, token = admin_gateway(h)
    paths = shown_admin_paths()
    check(len(paths) >= 10, "found only %d admin paths in the docs" % len(paths))
    problems = (admin_path_problems(port, token) + metric_problems(port, token) +
                url_problems() + portal_path_problems(h.gateways[0].port))
    check(not problems, "admin paths, metrics and URLs in the docs that do not exist:\n  " +
          "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# files of this repository

_REPO_PATH = re.compile(r"^(?:src|tests|docs|examples|scripts|bench|fuzz)/[A-Za-z0-9_./*-]+$")


def test_docs_repo_files(h):
    """Every file or folder of this repository that the docs name (`src/risk/feeds.h`,
    `tests/integ/test_forward_auth.py`, ...) exists."""
    problems, n = [], 0
    for name, text in all_docs():
        for ln, span in inline_spans(text):
            path = span.split(" ")[0].rstrip(".,:")
            if not _REPO_PATH.match(path) or "..." in path:
                continue
            n += 1
            if not glob.glob(os.path.join(ROOT, path)):
                problems.append("%s:%d: `%s` does not exist" % (name, ln, path))
    check(n >= 10, "found only %d repository paths in the docs" % n)
    check(not problems, "files the docs name that do not exist:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# the README's passkey walk-through

def _readme_section(title_start):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^### %s.*?$(.*?)^#{2,3} " % re.escape(title_start), text, re.M | re.S)
    check(m, "README.md has a section '### %s'" % title_start)
    return m.group(1)


def test_docs_passkey_walkthrough(h):
    """What README.md's passkey section tells a person to press and read is what the pages
    show: every **label** is a text of the catalogue, and the pages the steps name (the
    sign-in page, the account page, the passkey page) show it; the second-factor label is the
    one the MFA page's passkey block uses."""
    from browser import catalogue
    from portal_client import Browser, add_user, sign_in
    section = _readme_section("Passkeys")
    labels = re.findall(r"\*\*([^*]+)\*\*", section)
    check(len(labels) >= 4, "the walk-through names the buttons and fields: %r" % labels)
    english = {en: mid for mid, (en, ja) in catalogue().items()}
    unknown = [x for x in labels if x not in english]
    check(not unknown, "README labels that no page shows (not in the catalogue): %r" % unknown)
    for page in ("/.ztgate/", "/.ztgate/login", "/.ztgate/passkey"):
        check("`%s`" % page in section, "the walk-through names %s" % page)

    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, "docs@example.test", "a long passphrase for the docs")
    anon = Browser(gw.port)
    b = Browser(gw.port)
    check(sign_in(b, "docs@example.test", "a long passphrase for the docs").status == 303,
          "password sign-in")
    shown = "".join(r.body.decode() for r in (anon.get("/.ztgate/login"), b.get("/.ztgate/"),
                                              b.get("/.ztgate/passkey")))
    with open(os.path.join(ROOT, "src", "portal", "mfa.c"), encoding="utf-8") as f:
        mfa_src = f.read()
    missing = []
    for x in labels:
        if english[x] == "PK_BUTTON_USE":
            # The MFA page shows it for a user with a passkey: its block is the second-factor
            # one, whose button is this text (passkey_ui.c); the browser test clicks it.
            if "ZT_PASSKEY_SECOND_FACTOR" not in mfa_src:
                missing.append(x + " (the MFA page has no passkey block)")
        elif x not in shown:
            missing.append(x)
    check(not missing, "README labels not on the pages it names: %r" % missing)


def test_docs_example_replace_vpn(h):
    """examples/replace-vpn.yaml (docs/REPLACE_VPN.md) passes check-config, run from a directory
    that holds the internal CA and the gateway's client certificate it names, made with the
    openssl commands the page shows."""
    cwd = h.path("replace-vpn")
    d = os.path.join(cwd, "data", "replace-vpn")
    os.makedirs(d)

    def openssl(*args):
        p = subprocess.run(["openssl"] + list(args), cwd=d, capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr))

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-keyout", "internal-ca.key",
            "-out", "internal-ca.pem", "-subj", "/CN=Corp internal CA")
    openssl("req", *ec, "-subj", "/CN=ztgate", "-keyout", "gateway-client.key",
            "-out", "gateway-client.csr")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "gateway-client.csr", "-CA", "internal-ca.pem",
            "-CAkey", "internal-ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "client.ext", "-out", "gateway-client.pem")
    os.chmod(os.path.join(d, "gateway-client.key"), 0o600)
    p = subprocess.run([h.ztgate, "check-config", os.path.join(ROOT, "examples",
                                                               "replace-vpn.yaml")],
                       cwd=cwd, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, ZTGATE_CONFIG=""))
    check(p.returncode == 0, "check-config examples/replace-vpn.yaml failed:\n%s%s" %
          (p.stdout, p.stderr))
