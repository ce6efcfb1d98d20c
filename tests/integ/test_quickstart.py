"""examples/quickstart.yaml stays valid and its baseline policies do what its comments say:
check-config is clean, examples/quickstart-policy-tests.yaml passes against it, the policies
for confidential and restricted apps hold on a copy with two such apps, and the commented
`risk:` and `devices:` sections use only keys ztgate knows.

The quickstart's OpenID Connect client reads its secret from ./data/demo-oidc.secret, which
`make run` creates (mode 0600) and without which the file is refused: each test makes one in
its own directory, where the CLI runs. tests/integ/test_quickstart_oidc.py signs in through it."""
import base64
import os
import re

from harness import check, eq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "examples", "quickstart.yaml")
CASES = os.path.join(ROOT, "examples", "quickstart-policy-tests.yaml")

# Two more apps for the policies that only apply above `internal`.
EXTRA_APPS = """\
  - name: files
    host: files.localhost
    upstream: http://127.0.0.1:8081
    sensitivity: confidential
  - name: payroll
    host: payroll.localhost
    upstream: http://127.0.0.1:8081
    sensitivity: restricted
"""

SENSITIVE_CASES = """\
- name: confidential app from a Tor exit is blocked, even after MFA
  groups: []
  app: files
  anonymous_ip: true
  sign_in_risk: medium
  mfa: true
  expect: block
  expect_policy: block-anonymous-ip-sensitive-apps
- name: restricted app from a Tor exit is blocked
  groups: []
  app: payroll
  anonymous_ip: true
  device: compliant
  mfa: true
  expect: block
  expect_policy: block-anonymous-ip-sensitive-apps
- name: confidential app without an enrolled device is fine
  groups: []
  app: files
  device: unknown
  mfa: true
  expect: allow
- name: confidential app from a device with a malware alert is blocked
  groups: []
  app: files
  device: compliant
  device_risk: high
  mfa: true
  expect: block
  expect_policy: block-high-risk-devices
- name: the same device once the alert is resolved gets in
  groups: []
  app: files
  device: compliant
  device_risk: none
  mfa: true
  expect: allow
- name: restricted app needs a compliant device
  groups: []
  app: payroll
  device: unknown
  mfa: true
  expect: compliant_device
  expect_policy: restricted-apps-compliant-device
- name: restricted app from a device failing posture
  groups: []
  app: payroll
  device: noncompliant
  mfa: true
  expect: compliant_device
- name: restricted app from a compliant device
  groups: []
  app: payroll
  device: compliant
  mfa: true
  expect: allow
- name: restricted app from a compliant device with a malware alert is blocked
  groups: []
  app: payroll
  device: compliant
  device_risk: high
  mfa: true
  expect: block
  expect_policy: block-high-risk-devices
- name: break-glass is outside the device policies too
  groups: [breakglass]
  app: payroll
  device: unknown
  anonymous_ip: true
  expect: allow
"""


def _read(path):
    with open(path) as f:
        return f.read()


def client_secret(h):
    """./data/demo-oidc.secret under the test's directory (the CLI's working directory), as
    scripts/run-quickstart.sh creates it."""
    os.makedirs(h.path("data"), mode=0o700, exist_ok=True)
    path = h.path(os.path.join("data", "demo-oidc.secret"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=") + "\n")
    return path


def test_quickstart_check_config(h):
    client_secret(h)
    r = h.cli("check-config", QUICKSTART)
    eq(r.returncode, 0, "check-config: " + r.stdout + r.stderr)
    check("OK" in r.stdout, r.stdout)
    eq(r.stderr.strip(), "", "no warnings from check-config")


def test_quickstart_policy_tests(h):
    client_secret(h)
    r = h.cli("policy", "test", CASES, "--config", QUICKSTART)
    eq(r.returncode, 0, "policy test:\n" + r.stdout + r.stderr)
    check(re.search(r": (\d+) case\(s\): \1 passed, 0 failed", r.stdout), r.stdout)
    check("FAIL" not in r.stdout, r.stdout)


def test_quickstart_policies_for_sensitive_apps(h):
    client_secret(h)
    text = _read(QUICKSTART)
    check(text.count("\napps:\n") == 1, "one top-level apps: key in the quickstart")
    cfg = h.path("quickstart-plus.yaml")
    with open(cfg, "w") as f:
        f.write(text.replace("\napps:\n", "\napps:\n" + EXTRA_APPS, 1))
    cases = h.path("sensitive-cases.yaml")
    with open(cases, "w") as f:
        f.write(SENSITIVE_CASES)
    r = h.cli("check-config", cfg)
    eq(r.returncode, 0, "check-config of the copy: " + r.stdout + r.stderr)
    r = h.cli("policy", "test", cases, "--config", cfg)
    eq(r.returncode, 0, "policy test:\n" + r.stdout + r.stderr)
    check("10 passed, 0 failed" in r.stdout, r.stdout)


def test_quickstart_commented_sections_are_valid(h):
    """Uncommented, `risk:` and `devices:` are refused only because their files are missing
    here: every key and value is one ztgate knows."""
    out, on, seen = [], False, set()
    for line in _read(QUICKSTART).split("\n"):
        m = re.match(r"^# (risk|devices):\s*$", line)
        if m:
            on = True
            seen.add(m.group(1))
        if on and line.startswith("# "):
            line = line[2:]
        elif on:
            on = False
        out.append(line)
    eq(seen, {"risk", "devices"}, "commented sections found")
    client_secret(h)
    cfg = h.path("quickstart-uncommented.yaml")
    with open(cfg, "w") as f:
        f.write("\n".join(out))
    r = h.cli("check-config", cfg)
    errors = [ln for ln in r.stderr.splitlines() if re.match(r"^\S+:\d+:\d+: ", ln)]
    check(all("cannot be read" in ln for ln in errors),
          "only missing feed files may be reported:\n" + r.stderr)
    if r.returncode == 0:
        return
    eq(r.returncode, 1, "check-config exit status")
    check(errors, "errors are FILE:LINE:COL: " + r.stderr)


def test_quickstart_needs_the_client_secret(h):
    """Without ./data/demo-oidc.secret (before `make run` made it) or with a mode that lets
    others read it, check-config names the file: the run script must make it, 0600."""
    r = h.cli("check-config", QUICKSTART)
    eq(r.returncode, 1, "check-config without the secret file: " + r.stdout + r.stderr)
    check("demo-oidc.secret" in r.stderr, "the missing file is named: " + r.stderr)
    os.chmod(client_secret(h), 0o640)
    r = h.cli("check-config", QUICKSTART)
    eq(r.returncode, 1, "check-config with a group-readable secret: " + r.stdout + r.stderr)
    check("readable by group or others" in r.stderr, r.stderr)
