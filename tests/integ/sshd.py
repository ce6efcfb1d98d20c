"""A throwaway OpenSSH server for tunnel tests: `/usr/sbin/sshd -D -e` on a loopback port with
its own host key, config and authorized key in the test's directory, public-key sign-in only for
the user running the tests, no PAM. `ssh_argv` gives the client command line that trusts exactly
this server's host key (under the name the tunnel uses) and nothing from ~/.ssh."""
import os
import shutil
import subprocess

from harness import Proc, Skip, free_port, wait_until

SSHD = "/usr/sbin/sshd"


class Sshd:
    def __init__(self, h, name="sshd"):
        if not os.path.exists(SSHD) or shutil.which("ssh") is None:
            raise Skip("openssh-server / openssh-client not installed (scripts/setup.sh)")
        self.dir = h.path(name)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.host_key = os.path.join(self.dir, "host_ed25519")
        self.user_key = os.path.join(self.dir, "user_ed25519")
        for key in (self.host_key, self.user_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                           check=True, capture_output=True)
        auth = os.path.join(self.dir, "authorized_keys")
        shutil.copy(self.user_key + ".pub", auth)
        os.chmod(auth, 0o600)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        self.port = free_port()
        self.user = os.environ.get("USER") or subprocess.run(
            ["id", "-un"], capture_output=True, text=True).stdout.strip()
        cfg = os.path.join(self.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1",
                "Port %d" % self.port,
                "HostKey %s" % self.host_key,
                "AuthorizedKeysFile %s" % auth,
                "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
                "UsePAM no",
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "AllowUsers %s" % self.user,
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                ""]))
        self.proc = Proc(name, [SSHD, "-D", "-e", "-f", cfg], h.dir)
        h.procs.append(self.proc)
        wait_until(self._listening, 10)

    def _listening(self):
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def known_hosts(self, host, port):
        """A known_hosts file naming this server's key for host:port (what ssh checks when the
        connection goes through a ProxyCommand)."""
        path = os.path.join(self.dir, "known_hosts")
        with open(self.host_key + ".pub") as f:
            key = " ".join(f.read().split()[:2])
        name = host if port == 22 else "[%s]:%d" % (host, port)
        with open(path, "w") as f:
            f.write("%s %s\n" % (name, key))
        return path

    def ssh_argv(self, host, port, proxy_command=None, prog="ssh"):
        """ssh (or scp with prog="scp") options: this user key only, this host key only."""
        opts = ["-F", "/dev/null", "-i", self.user_key,
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=%s" % self.known_hosts(host, port),
                "-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR"]
        if proxy_command is not None:
            opts += ["-o", "ProxyCommand=%s" % proxy_command]
        opts += ["-P" if prog == "scp" else "-p", str(port)]
        return [prog] + opts
