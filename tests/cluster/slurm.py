"""A throw-away single-node SLURM cluster on localhost, for tests.

Everything (munge key and socket, slurm.conf, state, spool, logs, pid files,
a fake GPU device file) lives under one directory; nothing is written to /etc
and no system service is touched. Daemons run in the foreground as children of
the test process and are stopped by pid.

Layout under ``root``::

    munge/      munge.key, munged.sock (dir mode 755), munged.log/.pid/.seed
    etc/        slurm.conf, gres.conf
    dev/        nvidia0, nvidia1, ... (char device 1,3 = /dev/null, each stands in for a GPU)
    state/      StateSaveLocation
    spool/      SlurmdSpoolDir
    log/        slurmctld.log, slurmd.log
    run/        pid files
    bin/        srun wrapper re-exporting SLURM_CONF (put first on PATH)

Usage::

    cluster = SlurmCluster(tmpdir)
    try:
        cluster.start()
        subprocess.run([...sbatch...], env=cluster.env())
    finally:
        cluster.stop()

Needs root (SlurmUser=root, mknod). Tested on Debian 12 with slurm 22.05.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / ".ci" / "install_slurm.sh"

# Binaries the fixture needs. Debian puts daemons in /usr/sbin, which is not
# always on a non-root PATH, so look there too.
DAEMONS = ("slurmctld", "slurmd", "munged", "mungekey")
CLIENTS = ("sbatch", "squeue", "scontrol", "srun", "sinfo")
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"]
)

# Advertised node size. With SlurmdParameters=config_overrides slurmd accepts
# a node description larger than the machine, so the shipped profile's memory
# and CPU requests (GPU rules ask for 16-32 GB) can be scheduled unchanged on a
# small CI runner, two GPU jobs and a CPU job at once. Nothing is enforced (no
# cgroups): jobs use what they use.
MIN_ADVERTISED_CPUS = 8
MIN_ADVERTISED_MEM_MB = 128000


def which(name: str) -> str | None:
    return shutil.which(name, path=_SEARCH_PATH)


def missing_binaries() -> list[str]:
    return [b for b in DAEMONS + CLIENTS if which(b) is None]


def ensure_installed(install: bool = True) -> str | None:
    """Return None if SLURM + munge are usable, else a reason to skip.

    If binaries are missing and ``install`` is true, runs .ci/install_slurm.sh
    (apt-get) when we are root and apt-get exists.
    """
    if os.geteuid() != 0:
        return (
            "the throw-away SLURM cluster needs root (SlurmUser=root, munged, "
            "mknod of a fake GPU device); run the cluster tests as root, e.g. "
            "in CI or a container"
        )
    missing = missing_binaries()
    if not missing:
        return None
    if not install:
        return f"SLURM/munge binaries missing: {', '.join(missing)}"
    if shutil.which("apt-get") is None:
        return (
            f"SLURM/munge binaries missing ({', '.join(missing)}) and apt-get "
            "is unavailable; install slurm-wlm and munge (see .ci/install_slurm.sh)"
        )
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=600
    )
    missing = missing_binaries()
    if proc.returncode != 0 or missing:
        return (
            f"installing SLURM with {INSTALL_SCRIPT.name} failed "
            f"(rc={proc.returncode}, still missing: {', '.join(missing) or '-'}): "
            f"{proc.stderr.strip()[-500:]}"
        )
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_memory_mb() -> int:
    with open("/proc/meminfo") as fh:
        info = {line.split(":")[0]: line.split()[1] for line in fh}
    return int(info.get("MemAvailable", info["MemFree"])) // 1024


_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_:/]*=")


class SlurmError(RuntimeError):
    pass


class SlurmCluster:
    """A single-node SLURM (slurmctld + slurmd + munged) under ``root``."""

    def __init__(
        self,
        root: Path,
        cpus: int | None = None,
        memory_mb: int | None = None,
        gpus: int = 1,
        cluster_name: str = "steeringtest",
    ):
        self.root = Path(root).resolve()
        self.real_cpus = os.cpu_count() or 1
        self.real_memory_mb = max(_free_memory_mb() // 2, 500)
        self.cpus = cpus or max(self.real_cpus, MIN_ADVERTISED_CPUS)
        self.memory_mb = memory_mb or max(self.real_memory_mb, MIN_ADVERTISED_MEM_MB)
        self.gpus = gpus
        self.cluster_name = cluster_name
        self.dirs = {
            name: self.root / name
            for name in ("munge", "etc", "dev", "state", "spool", "log", "run", "bin")
        }
        self.munge_socket = self.dirs["munge"] / "munged.sock"
        self.munge_key = self.dirs["munge"] / "munge.key"
        self.conf = self.dirs["etc"] / "slurm.conf"
        self.gres_conf = self.dirs["etc"] / "gres.conf"
        self.procs: dict[str, subprocess.Popen] = {}
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ env
    def env(self, base: dict | None = None) -> dict:
        """Environment for clients (sbatch, snakemake) talking to this cluster.

        SLURM_CONF points the clients at our slurm.conf; bin/ (first on PATH)
        holds an ``srun`` wrapper that re-exports SLURM_CONF, because the
        snakemake SLURM plugin deletes all SLURM_* variables inside a job
        before calling srun.
        """
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = os.pathsep.join([str(self.dirs["bin"]), env.get("PATH", "")])
        for var in list(env):
            # do not inherit an outer allocation (e.g. CI itself under SLURM)
            if var.startswith("SLURM_") and var != "SLURM_CONF":
                del env[var]
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 30, **kw):
        """Run a SLURM client command against this cluster."""
        return subprocess.run(
            list(args),
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
            **kw,
        )

    # ------------------------------------------------------------ configure
    def _write_files(self) -> None:
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # munged refuses a socket dir writable by others; slurmstepd and the
        # clients need to reach the socket: 755.
        os.chmod(self.dirs["munge"], 0o755)
        os.chmod(self.root, 0o755)

        if not self.munge_key.exists():
            subprocess.run(
                [which("mungekey"), "--create", f"--keyfile={self.munge_key}"],
                check=True,
                capture_output=True,
            )
        os.chmod(self.munge_key, 0o600)

        # A GPU without a device file is dropped ("Removing file-less GPU")
        # and the node drains: give it a harmless char device (= /dev/null).
        gres_lines = ["AutoDetect=off"]
        for i in range(self.gpus):
            dev = self.dirs["dev"] / f"nvidia{i}"
            if not os.path.lexists(dev):
                try:
                    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
                except (PermissionError, OSError):
                    # no CAP_MKNOD (some containers): a link to /dev/null
                    os.symlink("/dev/null", dev)
            gres_lines.append(f"NodeName=localhost Name=gpu File={dev}")
        self.gres_conf.write_text("\n".join(gres_lines) + "\n")

        self.ctld_port = _free_port()
        self.slurmd_port = _free_port()
        d = self.dirs
        def_mem = max(self.memory_mb // self.cpus, 100)
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        self.conf.write_text(
            "\n".join(
                [
                    f"ClusterName={self.cluster_name}",
                    "SlurmctldHost=localhost",
                    f"SlurmctldPort={self.ctld_port}",
                    f"SlurmdPort={self.slurmd_port}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "CredType=cred/munge",
                    f"StateSaveLocation={d['state']}",
                    f"SlurmdSpoolDir={d['spool']}",
                    f"SlurmctldPidFile={d['run'] / 'slurmctld.pid'}",
                    f"SlurmdPidFile={d['run'] / 'slurmd.pid'}",
                    f"SlurmctldLogFile={d['log'] / 'slurmctld.log'}",
                    f"SlurmdLogFile={d['log'] / 'slurmd.log'}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "JobCompType=jobcomp/none",
                    "MpiDefault=none",
                    "MailProg=/bin/true",
                    "SwitchType=switch/none",
                    "SchedulerType=sched/backfill",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    # without a default, a job without --mem takes the whole
                    # node's memory and jobs serialise
                    f"DefMemPerCPU={def_mem}",
                    # keep finished jobs visible to squeue/scontrol (the
                    # plugin's squeue status query needs >= 3 x check interval)
                    "MinJobAge=600",
                    "ReturnToService=2",
                    "SlurmdTimeout=60",
                    "InactiveLimit=0",
                    "KillWait=5",
                    "Waittime=0",
                    # accept a node description larger than the machine
                    "SlurmdParameters=config_overrides",
                    "GresTypes=gpu",
                    f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} "
                    f"RealMemory={self.memory_mb}{gres} State=UNKNOWN",
                    "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

        srun = which("srun")
        wrapper = d["bin"] / "srun"
        wrapper.write_text(
            "#!/bin/sh\n"
            "# the snakemake SLURM plugin strips SLURM_* inside jobs; re-point\n"
            "# srun at the throw-away cluster's config\n"
            f"export SLURM_CONF='{self.conf}'\n"
            f"exec '{srun}' \"$@\"\n"
        )
        wrapper.chmod(0o755)

    # ---------------------------------------------------------------- start
    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.dirs["log"] / f"{name}.stdout", "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
                start_new_session=True,  # a Ctrl-C in pytest does not hit it
            )
        self.procs[name] = proc
        return proc

    def _wait(self, what: str, check, timeout: float, proc_names=()) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for n in proc_names:
                p = self.procs.get(n)
                if p is not None and p.poll() is not None:
                    raise SlurmError(
                        f"{n} exited with {p.returncode} while waiting for "
                        f"{what}\n{self.logs_tail()}"
                    )
            if check():
                return
            if time.monotonic() > deadline:
                raise SlurmError(f"timed out waiting for {what}\n{self.logs_tail()}")
            time.sleep(0.2)

    def start(self, timeout: float = 60) -> SlurmCluster:
        t0 = time.monotonic()
        self._write_files()
        d = self.dirs

        self._spawn(
            "munged",
            [
                which("munged"),
                "--foreground",
                f"--socket={self.munge_socket}",
                f"--key-file={self.munge_key}",
                f"--log-file={d['munge'] / 'munged.log'}",
                f"--pid-file={d['munge'] / 'munged.pid'}",
                f"--seed-file={d['munge'] / 'munged.seed'}",
                "--num-threads=2",
            ],
        )
        self._wait("munged socket", self.munge_socket.exists, timeout, ["munged"])

        self._spawn("slurmctld", [which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(
            "slurmctld (scontrol ping)",
            lambda: "UP" in self.run("scontrol", "ping", check=False).stdout,
            timeout,
            ["munged", "slurmctld"],
        )

        self._spawn("slurmd", [which("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait(
            "an idle node",
            lambda: self.node_state().startswith("IDLE"),
            timeout,
            ["munged", "slurmctld", "slurmd"],
        )
        self.timings["start_s"] = time.monotonic() - t0
        return self

    def node_state(self) -> str:
        out = self.run("scontrol", "show", "node", "localhost", check=False).stdout
        for tok in out.split():
            if tok.startswith("State="):
                return tok.split("=", 1)[1]
        return ""

    # ----------------------------------------------------------------- stop
    def stop(self, timeout: float = 15) -> None:
        """Stop every daemon this object started, by pid: slurmd, slurmctld,
        then munged (SIGTERM, SIGKILL after ``timeout``).

        Jobs still running are cancelled first and given a few seconds to
        end, so that no slurmstepd outlives the cluster.
        """
        with contextlib.suppress(Exception):
            self.cancel_all()
        errors = []
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
            except Exception as exc:  # keep stopping the others
                errors.append(f"{name} (pid {proc.pid}): {exc}")
        if errors:
            raise SlurmError("could not stop: " + "; ".join(errors))

    def cancel_all(self, wait: float = 15) -> None:
        """scancel every job and wait until none is running or completing
        (no-op if slurmctld is not running)."""
        ctld = self.procs.get("slurmctld")
        if ctld is None or ctld.poll() is not None:
            return
        active = ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")
        if not any(j.get("JobState") in active for j in self.jobs()):
            return
        self.run("scancel", "--user=root", check=False)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not any(j.get("JobState") in active for j in self.jobs()):
                return
            time.sleep(0.5)

    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.procs.items() if p.poll() is None}

    # -------------------------------------------------------------- queries
    def jobs(self) -> list[dict[str, str]]:
        """All jobs slurmctld still knows (MinJobAge=600 s), as dicts of
        ``scontrol show job -o`` fields (JobId, JobName, Comment, TresPerJob,
        TresPerNode, TRES, JobState, StdOut, ...)."""
        out = self.run("scontrol", "-o", "show", "job", check=False).stdout
        jobs = []
        for line in out.splitlines():
            line = line.strip()
            if not line or line.startswith("No jobs"):
                continue
            fields: dict[str, str] = {}
            key = None
            for tok in line.split(" "):
                if _KEY.match(tok):
                    key, val = tok.split("=", 1)
                    fields[key] = val
                elif key is not None:  # value containing a space
                    fields[key] += " " + tok
            jobs.append({k: v.strip() for k, v in fields.items()})
        return jobs

    def logs_tail(self, n: int = 30) -> str:
        parts = []
        for f in sorted(self.dirs["log"].glob("*")) + [self.dirs["munge"] / "munged.log"]:
            if f.is_file():
                lines = f.read_text(errors="replace").splitlines()[-n:]
                parts.append(f"--- {f.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)
