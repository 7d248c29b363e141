"""What the side-by-side benchmarks share: starting jobd, systemd --user,
cron and supervisord in throwaway directories without touching the
system's own configuration, and reading a daemon's footprint from /proc.

systemd --user is started by hand as root in a private mount namespace in
which /run/systemd/system exists, with its own HOME, XDG_RUNTIME_DIR and
cgroup (as systemd runs it); cron runs in a private mount namespace
with its crontab directories bind-mounted; supervisord gets its own config,
socket and log directory.
"""

import math
import os
import signal
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOBD = os.path.join(ROOT, "target/release/jobd")


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]


def summary(xs):
    return {"n": len(xs), "p50": statistics.median(xs), "p99": pct(xs, 99), "max": max(xs), "min": min(xs)}


def ctx_switches(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
    return total


def memory_kib(pid):
    rss = pss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


class Jobd:
    def __init__(self, d, jobs=(), yaml=None, cgroup=None):
        """jobs: list of (name, on_calendar, command); or the whole config
        as `yaml`. With `cgroup`, the daemon starts inside that (delegated)
        cgroup directory."""
        self.d = d
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/jobd.yaml", "w") as f:
            if yaml is not None:
                f.write(yaml)
            else:
                f.write("jobs:\n")
                for name, cal, cmd in jobs:
                    f.write(f"  {name}:\n    exec: ['sh', '-c', '{cmd}']\n    on_calendar: '{cal}'\n")
        self.args = ["--config", f"{d}/jobd.yaml", "--socket", f"{d}/run/jobd.sock", "--state-dir", f"{d}/state"]
        notify = f"{d}/notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify)
        sock.settimeout(30)
        env = dict(os.environ, NOTIFY_SOCKET=notify, TZ="UTC")
        t0 = time.monotonic()
        argv = [JOBD, *self.args, "daemon"]
        if cgroup:
            argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, *argv]
        self.proc = subprocess.Popen(argv, env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(f"{d}/log", "w"))
        while b"READY=1" not in sock.recv(4096):
            pass
        self.ready_s = time.monotonic() - t0
        sock.close()

    def cli(self, *args):
        return subprocess.run([JOBD, *self.args, *args], check=True, capture_output=True, text=True).stdout

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class SystemdUser:
    def __init__(self, d, timers=(), accuracy="1us", services=None):
        """timers: list of (name, on_calendar, command); services: name ->
        unit file text. All started at once."""
        self.d = d
        units = f"{d}/.config/systemd/user"
        os.makedirs(units)
        os.makedirs(f"{d}/run", mode=0o700)
        for name, cal, cmd in timers:
            with open(f"{units}/{name}.timer", "w") as f:
                f.write(f"[Timer]\nOnCalendar={cal}\nAccuracySec={accuracy}\n")
            with open(f"{units}/{name}.service", "w") as f:
                f.write(f"[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\n"
                        f"ExecStart=/bin/sh -c '{cmd.replace('%', '%%')}'\n")
        for name, text in (services or {}).items():
            with open(f"{units}/{name}.service", "w") as f:
                f.write(text)
        self.cg = "bench-" + os.path.basename(d)
        for h in ("systemd", "unified"):
            os.makedirs(f"/sys/fs/cgroup/{h}/{self.cg}", exist_ok=True)
        script = (
            "mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && "
            f"echo $$ > /sys/fs/cgroup/systemd/{self.cg}/cgroup.procs && "
            f"echo $$ > /sys/fs/cgroup/unified/{self.cg}/cgroup.procs && "
            "exec /lib/systemd/systemd --user"
        )
        env = dict(os.environ, HOME=d, XDG_RUNTIME_DIR=f"{d}/run", TZ="UTC")
        self.env = env
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                     env=env, stdout=subprocess.DEVNULL, stderr=open(f"{d}/log", "w"))
        deadline = time.monotonic() + 30
        while not os.path.exists(f"{d}/run/systemd/private"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"systemd --user did not start; see {d}/log")
            time.sleep(0.05)
        # Wait until the manager answers.
        while subprocess.run(["systemctl", "--user", "show", "-p", "Version"], env=env,
                             capture_output=True).returncode != 0:
            time.sleep(0.05)
        if timers:
            self.ctl("start", *[f"{n}.timer" for n, _, _ in timers])
        if services:
            self.ctl("start", *[f"{n}.service" for n in services])

    def ctl(self, *args):
        return subprocess.run(["systemctl", "--user", *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for h in ("systemd", "unified"):
            base = f"/sys/fs/cgroup/{h}/{self.cg}"
            for dirpath, _, _ in sorted(os.walk(base), key=lambda w: -w[0].count("/")):
                try:
                    with open(f"{dirpath}/cgroup.procs") as f:
                        for pid in f.read().split():
                            os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            for dirpath, _, _ in sorted(os.walk(base), key=lambda w: -w[0].count("/")):
                for _ in range(50):
                    try:
                        os.rmdir(dirpath)
                        break
                    except OSError:
                        time.sleep(0.05)


class Cron:
    def __init__(self, d, lines):
        self.d = d
        for sub in ("crond", "spool", "run"):
            os.makedirs(f"{d}/{sub}")
        with open(f"{d}/crontab", "w") as f:
            f.write("")
        with open(f"{d}/crond/bench", "w") as f:
            f.write("SHELL=/bin/sh\nPATH=/usr/bin:/bin\nMAILTO=\"\"\n")
            for sched, cmd in lines:
                f.write(f"{sched} root {cmd.replace('%', chr(92) + '%')}\n")
        os.chmod(f"{d}/crond/bench", 0o644)
        script = (
            f"mount --bind {d}/crond /etc/cron.d && mount --bind {d}/spool /var/spool/cron/crontabs && "
            f"mount --bind {d}/crontab /etc/crontab && mount --bind {d}/run /run && exec cron -f"
        )
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                     stdout=subprocess.DEVNULL, stderr=open(f"{d}/log", "w"))
        time.sleep(1)
        if self.proc.poll() is not None:
            raise RuntimeError(f"cron did not start; see {d}/log")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Supervisord:
    def __init__(self, d, programs):
        """programs: name -> (command, extra config lines)."""
        self.d = d
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/supervisord.conf", "w") as f:
            f.write(f"[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n"
                    f"childlogdir={d}\n[unix_http_server]\nfile={d}/supervisor.sock\n"
                    f"[supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n"
                    "[rpcinterface:supervisor]\n"
                    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n")
            for name, (cmd, extra) in programs.items():
                logs = "" if "stdout_logfile" in extra else "stdout_logfile=NONE\nstderr_logfile=NONE\n"
                f.write(f"[program:{name}]\ncommand={cmd}\n{logs}{extra}\n")
        self.proc = subprocess.Popen(["supervisord", "-n", "-c", f"{d}/supervisord.conf"],
                                     stdout=subprocess.DEVNULL, stderr=open(f"{d}/log", "w"))
        deadline = time.monotonic() + 30
        while not os.path.exists(f"{d}/supervisor.sock"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"supervisord did not start; see {d}/log")
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
