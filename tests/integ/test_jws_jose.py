"""The identity provider's JOSE cross-checked with npm jose (tests/integ/jwt/check_idp.sh): ID
and logout tokens we sign in RS256 and ES256 verify there (also after rotation), kids are RFC 7638
thumbprints, and private_key_jwt assertions jose signs pass our verifier while the attacks (alg
none, HS256 keyed with the client's RSA public key, alg not fitting the key, foreign keys,
audience, times, jti) fail with the expected status."""
import os
import shutil
import subprocess

from harness import Skip, check


def test_idp_jose_cross_check(h):
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Skip("node/npm not installed")
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.path.dirname(h.ztgate)
    res = subprocess.run([os.path.join(here, "jwt", "check_idp.sh"), build], capture_output=True,
                         text=True, timeout=240, stdin=subprocess.DEVNULL)
    check(res.returncode == 0, "idp jose cross-check failed:\n%s\n%s" % (res.stdout[-3000:],
                                                                          res.stderr[-3000:]))
    check(" 0 failed" in res.stdout, "no summary line:\n%s" % res.stdout[-2000:])
