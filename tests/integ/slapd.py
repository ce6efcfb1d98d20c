"""A throwaway OpenLDAP slapd for the directory tests: its own temp dir, its own ports, a test CA
whose server certificate covers 127.0.0.1 and "ldap.test", the memberof overlay, and seed data
with Japanese names, nested groups and a disabled account. Started through the harness's Proc, so
the test's cleanup (or the atexit hook) stops it like every other process.

    d = Slapd(h)                   # started; d.ldaps_url, d.ldap_url, d.ca, d.admin_dn, ...
    d.modify(ldif)                 # ldapmodify as the rootdn over ldapi
    d.stop() / d.start()           # the directory goes away and comes back (same data)

Layout (suffix dc=example,dc=test): ou=people holds the users (inetOrgPerson, employeeType
"disabled" marks a disabled account), ou=groups the groupOfNames groups; "teachers" contains the
group "staff-all" through "grade1", so nesting is three deep. The service account is
cn=ztgate-svc,ou=system with read access to everything but passwords.
"""

import atexit
import os
import shutil
import tempfile
import time
import subprocess
import urllib.parse

from harness import Proc, check, free_port, port_open, wait_until

SUFFIX = "dc=example,dc=test"
ADMIN_DN = "cn=admin," + SUFFIX
ADMIN_PW = "admin-secret"
SVC_DN = "cn=ztgate-svc,ou=system," + SUFFIX
SVC_PW = "svc-secret-123"
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"

# Users: uid -> (mail, cn (display name), password, employeeType or None)
USERS = {
    "taro": ("taro@example.test", "山田 太郎", "taro-pass-1", None),
    "hanako": ("hanako@example.test", "佐藤 花子", "hanako-pass-2", None),
    "jiro": ("jiro@example.test", "鈴木 次郎", "jiro-pass-3", "disabled"),
    "evil": ("evil*star@example.test", "Evil Star", "evil-pass-4", None),
}
# Groups: cn -> (description, members: ("uid", x) or ("group", y))
GROUPS = {
    "grade1": ("1年1組", [("uid", "taro"), ("uid", "hanako")]),
    "teachers": ("教員", [("uid", "hanako"), ("group", "grade1")]),
    "staff-all": ("全職員", [("group", "teachers")]),
    "nurses": ("看護師", [("uid", "jiro")]),
}


# Active Directory's userAccountControl and objectGUID (AD's own OIDs) on an auxiliary class, so
# the `kind: ad` account reading can run against slapd. AD's in-chain matching rule is not here.
AD_SCHEMA = """attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.99.1 NAME 'ztAdUser' SUP top AUXILIARY
  MAY ( userAccountControl $ objectGUID ) )
"""


def user_dn(uid):
    return "uid=%s,ou=people,%s" % (uid, SUFFIX)


def group_dn(cn):
    return "cn=%s,ou=groups,%s" % (cn, SUFFIX)


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=cwd)


def make_ca(d):
    """A test CA and a server certificate it signed (SAN 127.0.0.1, ldap.test, localhost)."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=ztgate test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=ldap.test", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:ldap.test,DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext",
             cwd=d)
    # A second CA that signed nothing here: a client trusting only it must refuse the server.
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-days", "2", "-keyout", "other-ca.key", "-out", "other-ca.pem",
             "-subj", "/CN=some other CA", cwd=d)
    return os.path.join(d, "ca.pem"), os.path.join(d, "other-ca.pem")


def seed_ldif(users=USERS, groups=GROUPS):
    out = ["dn: " + SUFFIX, "objectClass: dcObject", "objectClass: organization", "dc: example",
           "o: Example", ""]
    for ou in ("people", "groups", "system"):
        out += ["dn: ou=%s,%s" % (ou, SUFFIX), "objectClass: organizationalUnit", "ou: " + ou, ""]
    out += ["dn: " + SVC_DN, "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
            "cn: ztgate-svc", "userPassword: " + SVC_PW, ""]
    for uid, (mail, cn, pw, etype) in users.items():
        out += ["dn: " + user_dn(uid), "objectClass: inetOrgPerson", "uid: " + uid,
                "cn: " + cn, "sn: " + cn.split()[0], "displayName: " + cn, "mail: " + mail,
                "userPassword: " + pw]
        if etype:
            out.append("employeeType: " + etype)
        out.append("")
    for cn, (desc, members) in groups.items():
        out += ["dn: " + group_dn(cn), "objectClass: groupOfNames", "cn: " + cn,
                "description: " + desc]
        for kind, name in members:
            out.append("member: " + (user_dn(name) if kind == "uid" else group_dn(name)))
        out.append("")
    return "\n".join(out) + "\n"


class Slapd:
    def __init__(self, h, start=True, users=USERS, groups=GROUPS, ad_schema=False):
        self.ad_schema = ad_schema
        self.h = h
        self.dir = os.path.join(h.dir, "slapd")
        os.makedirs(os.path.join(self.dir, "db"))
        self.ca, self.other_ca = make_ca(self.dir)
        self._pick_ports()
        # A unix socket path is at most 107 bytes: the test's own dir may be longer.
        self.sock_dir = tempfile.mkdtemp(prefix="zt-slapd-")
        atexit.register(shutil.rmtree, self.sock_dir, True)
        self.sock = os.path.join(self.sock_dir, "ldapi")
        self.ldapi_url = "ldapi://" + urllib.parse.quote(self.sock, safe="")
        self.suffix, self.admin_dn, self.admin_pw = SUFFIX, ADMIN_DN, ADMIN_PW
        self.svc_dn, self.svc_pw = SVC_DN, SVC_PW
        self.conf = os.path.join(self.dir, "slapd.conf")
        self._write_conf()
        seed = os.path.join(self.dir, "seed.ldif")
        with open(seed, "w", encoding="utf-8") as f:
            f.write(seed_ldif(users, groups))
        # Loaded online after the first start, not with slapadd: the memberof overlay keeps
        # memberOf only for changes the running server makes.
        self.proc = None
        self._seed = seed
        self._seeded = False
        if start:
            self.start()

    def _write_conf(self):
        d = self.dir
        lines = ["include %s/%s.schema" % (SCHEMA_DIR, s)
                 for s in ("core", "cosine", "inetorgperson", "nis")]
        if self.ad_schema:
            with open(os.path.join(d, "ad.schema"), "w") as f:
                f.write(AD_SCHEMA)
            lines.append("include %s/ad.schema" % d)
        lines += [
            "pidfile %s/slapd.pid" % d,
            "argsfile %s/slapd.args" % d,
            "modulepath " + MODULE_DIR,
            "moduleload back_mdb",
            "moduleload memberof",
            "TLSCACertificateFile %s/ca.pem" % d,
            "TLSCertificateFile %s/server.pem" % d,
            "TLSCertificateKeyFile %s/server.key" % d,
            # Passwords: only their owner binds with them; the service account reads the rest.
            "access to attrs=userPassword by self =xw by anonymous auth by * none",
            "access to * by dn.exact=\"%s\" read by self read by * none" % SVC_DN,
            "database mdb",
            "maxsize 33554432",
            "suffix \"%s\"" % SUFFIX,
            "rootdn \"%s\"" % ADMIN_DN,
            "rootpw %s" % ADMIN_PW,
            "directory %s/db" % d,
            # As docs/LDAP.md asks: the service account reads every user in pages.
            "limits dn.exact=\"%s\" size.prtotal=unlimited" % SVC_DN,
            "index objectClass,uid,mail,member eq",
            "overlay memberof",
            "memberof-refint TRUE",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _pick_ports(self):
        self.port = free_port()
        self.tls_port = free_port()
        # The same server at an address its certificate does not name (host name check).
        self.wrong_name_port = free_port()
        self.ldap_url = "ldap://127.0.0.1:%d" % self.port
        self.ldaps_url = "ldaps://127.0.0.1:%d" % self.tls_port
        self.wrong_name_url = "ldaps://127.0.0.2:%d" % self.wrong_name_port

    def _launch(self):
        urls = "%s/ %s/ %s/ %s" % (self.ldap_url, self.ldaps_url, self.wrong_name_url,
                                   self.ldapi_url)
        # "-d none -s any": foreground, and errors such as a failed bind on stderr (with
        # "-d 0" slapd exits 1 saying nothing).
        self.proc = Proc("slapd", ["/usr/sbin/slapd", "-f", self.conf, "-h", urls,
                                   "-d", "none", "-s", "any"], self.h.dir)
        self.h.procs.append(self.proc)
        wait_until(lambda: not self.proc.alive()
                   or (port_open(self.port) and port_open(self.tls_port)), 15)
        return self.proc.alive()

    def start(self):
        for attempt in range(5):
            if self._launch() or "Address already in use" not in self.proc.stderr_text():
                break
            # A port that looked free was taken meanwhile (often as the source port of a
            # client connection elsewhere on the machine). Before the first start nothing
            # knows our ports yet, so take new ones; on a restart the same ones again.
            self.h.procs.remove(self.proc)
            if not self._seeded:
                self._pick_ports()
            time.sleep(0.2)
        ok = self.proc.alive() and port_open(self.port) and port_open(self.tls_port)
        check(ok, "slapd did not start: " + self.proc.stderr_text()[-2000:])
        if not self._seeded:
            self._seeded = True
            self.add(open(self._seed, encoding="utf-8").read())

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            if self.proc in self.h.procs:
                self.h.procs.remove(self.proc)
            self.proc = None

    def _tool(self, tool, ldif, extra=()):
        env = dict(os.environ, LDAPNOINIT="1")
        r = subprocess.run([tool, "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_url] + list(extra),
                           input=ldif.encode("utf-8"), capture_output=True, env=env, timeout=20)
        if r.returncode != 0:
            # ldapi EXTERNAL maps root to the rootdn only with an authz rule; fall back to simple
            r = subprocess.run([tool, "-x", "-D", ADMIN_DN, "-w", ADMIN_PW, "-H", self.ldapi_url]
                               + list(extra), input=ldif.encode("utf-8"), capture_output=True,
                               env=env, timeout=20)
        check(r.returncode == 0, "%s failed: %s" % (tool, r.stderr.decode("utf-8", "replace")))
        return r.stdout.decode("utf-8", "replace")

    def add(self, ldif):
        return self._tool("ldapadd", ldif)

    def modify(self, ldif):
        return self._tool("ldapmodify", ldif)

    def search(self, base, flt="(objectClass=*)", *attrs):
        env = dict(os.environ, LDAPNOINIT="1")
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-D", ADMIN_DN,
                            "-w", ADMIN_PW, "-H", self.ldapi_url, "-b", base, flt] + list(attrs),
                           capture_output=True, env=env, timeout=20)
        check(r.returncode == 0, "ldapsearch failed: " + r.stderr.decode("utf-8", "replace"))
        return r.stdout.decode("utf-8", "replace")

    def delete(self, dn):
        self._tool("ldapdelete", dn + "\n")

    def set_disabled(self, uid, disabled=True):
        op = ("replace: employeeType\nemployeeType: disabled\n" if disabled
              else "delete: employeeType\n")
        self.modify("dn: %s\nchangetype: modify\n%s" % (user_dn(uid), op))

    def add_member(self, group, dn):
        self.modify("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n" % (group_dn(group), dn))

    def remove_member(self, group, dn):
        self.modify("dn: %s\nchangetype: modify\ndelete: member\nmember: %s\n"
                    % (group_dn(group), dn))


def available():
    return shutil.which("/usr/sbin/slapd") is not None and os.path.isdir(MODULE_DIR)
