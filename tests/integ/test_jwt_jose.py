"""ES256 identity assertions cross-checked with npm jose, an independent JOSE implementation
(tests/integ/jwt/check.sh): our tokens verify there, forged ones fail in both."""
import os
import shutil
import subprocess

from harness import Skip, check


def test_assertions_cross_checked_with_jose(h):
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Skip("node/npm not installed")
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.dirname(h.ztgate)
    res = subprocess.run([os.path.join(here, "jwt", "check.sh"), build], capture_output=True,
                         text=True, timeout=240, stdin=subprocess.DEVNULL)
    check(res.returncode == 0, "jose cross-check failed:\n%s\n%s" % (res.stdout[-3000:],
                                                                      res.stderr[-3000:]))
