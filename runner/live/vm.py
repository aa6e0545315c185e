"""Run lessons inside a virtme-ng VM that boots a stock distro kernel.

The development kernel may lack kprobes; a distro kernel has them. The VM
boots ONCE for a list of jobs: the guest sees the host's files read-only,
runs `python -m runner.live.vm guest JOBS_FILE OUTDIR` (see `runner.live.vm_guest`),
and writes one Recording per job as JSON into OUTDIR, the only folder it
may write. The host streams the guest's progress lines and reads the
recordings back.

    host                                  guest (stock kernel)
    ----                                  --------------------
    write OUTDIR/jobs.json
    vng --run vmlinuz --rwdir OUTDIR -->  mount tracefs, detect host facts
      progress lines  <----------------   run_lesson(job) for each job
    read OUTDIR/<key>.json  <----------   write OUTDIR/<key>.json
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.live.host import parse_kvm
from runner.model import Recording
from runner.paths import CODE_ROOT

PROGRESS_PREFIX = "@@ebpfc-vm@@ "  # marks the guest's progress lines on the console
JOBS_FILE = "jobs.json"
DONE_FILE = "done.json"
BOOT_BUDGET = 180.0  # seconds for boot + guest start-up under software emulation
JOB_BUDGET = 240.0  # seconds per job (compiles take ~12 s each under emulation)
MEMORY = "2G"
# Lessons' ready timeouts are written for the host; in the guest a compile
# reads bcc's headers over 9p (tens of seconds under emulation, up to 90 s
# on 7.2), so each step gets at least this long to get ready.
READY_FLOOR = {True: 60.0, False: 150.0}  # seconds, by "KVM is used"
# After SIGINT a probe may still be draining its buffer (lesson 08's flood:
# thousands of lines), many times slower under emulation than on the host.
STOP_GRACE = {True: 3.0, False: 30.0}  # seconds, by "KVM is used"

OnProgress = Callable[[str], None]  # one boot or job step, as it happens
VM_SETUP = "run `./setup.sh --vm` in the course's folder"  # virtme-ng, QEMU, a stock kernel


class VmError(Exception):
    """The VM could not run the jobs; the message is one sentence."""


@dataclass(frozen=True)
class VmJob:
    key: str  # names the result in the returned mapping
    lesson_id: str  # "01-hello-kprobe"
    probe_path: Path  # the probe file to run (the guest sees the same path)
    only: list[str] | None = None  # run only these steps (run_lesson's `only`)
    stop_early: bool = False  # skip the steps after the first whose checks fail (mutants)


# ---------------------------------------------------------------- discovery


def _version_key(release: str) -> list[tuple[int, int | str]]:
    """Natural sort key: 6.1.0-56 after 6.1.0-9."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", release) if p]


def _is_distro_kernel(release: str, boot: Path, modules: Path) -> bool:
    """A kernel image with its own modules, config and *matching* headers.

    A build link that resolves to headers of another release (the fallback
    some hosts use for their own kernel) does not count: inside the VM the
    headers must match the booted kernel exactly.
    """
    build = modules / release / "build"
    if not (boot / f"config-{release}").is_file() or not build.exists():
        return False
    if not (modules / release / "modules.dep").is_file():
        return False
    return release in build.resolve().name


def find_vm_kernel(boot: Path = Path("/boot"), modules: Path = Path("/lib/modules")) -> Path | None:
    """The newest /boot/vmlinuz-* that is a distro kernel with matching headers."""
    releases = [
        p.name.removeprefix("vmlinuz-")
        for p in boot.glob("vmlinuz-*")
        if _is_distro_kernel(p.name.removeprefix("vmlinuz-"), boot, modules)
    ]
    if not releases:
        return None
    newest = max(releases, key=_version_key)
    return boot / f"vmlinuz-{newest}"


def _find_vng() -> str | None:
    """`vng` on PATH, or next to this interpreter (a virtualenv not activated)."""
    beside = Path(sys.executable).parent / "vng"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("vng")


def kvm_usable() -> tuple[bool, str]:
    """Hardware virtualisation: vmx/svm in /proc/cpuinfo and /dev/kvm usable."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    dev = Path("/dev/kvm")
    found = parse_kvm(cpuinfo, dev.exists() and os.access(dev, os.R_OK | os.W_OK))
    return bool(found["ok"]), str(found["reason"])


def boot_kernel(name: str | None) -> tuple[Path, list[str], str]:
    """The kernel image to boot, the extra vng arguments it needs and its
    release: the
    stock kernel in /boot by default, else a kernel of kernels.yaml by name.
    VmError when it is not set up."""
    if name is None:
        kernel = find_vm_kernel()
        if kernel is None:
            raise VmError(
                "no distro kernel with matching headers was found in /boot: "
                f"{VM_SETUP} (it installs linux-image-amd64 and linux-headers-amd64)."
            )
        return kernel, [], kernel.name.removeprefix("vmlinuz-")
    from runner.live.kernels import KernelError, boot_files, resolve_kernels

    try:
        files = boot_files(resolve_kernels(name)[0])
    except KernelError as exc:
        raise VmError(str(exc)) from None
    return files.vmlinuz, list(files.vng_args), files.release


def vm_available(kernel_name: str | None = None) -> tuple[bool, str]:
    """Can this machine boot the lesson VM (with that kernel of kernels.yaml)?
    (ok, one sentence: what or why not)."""
    vng = _find_vng()
    if vng is None:
        # The course is not on PyPI: setup.sh installs its [vm] extra into the .venv.
        return False, f"virtme-ng (vng) is not installed: {VM_SETUP}."
    if shutil.which("qemu-system-x86_64") is None:
        return False, f"QEMU is missing: {VM_SETUP} (it installs qemu-system-x86)."
    try:
        kernel, _, release = boot_kernel(kernel_name)
    except VmError as exc:
        return False, str(exc)
    if not os.access(kernel, os.R_OK):
        return False, f"{kernel} is readable only by root: run the course as root or with sudo."
    kvm, why = kvm_usable()
    how = "KVM" if kvm else f"software emulation, because {why}"
    return True, f"VM kernel {release} ({how})."


# ---------------------------------------------------------------- the host side


def vng_command(
    vng: str,
    kernel: Path,
    outdir: Path,
    guest_argv: list[str],
    *,
    kvm: bool,
    cwd: Path,
    extra: list[str] | None = None,
) -> list[str]:
    """The argv that boots `kernel` and runs `guest_argv` as root inside it."""
    argv = [vng, "--run", str(kernel), "--user", "root", "--memory", MEMORY]
    if not kvm:
        argv.append("--disable-kvm")
    argv += list(extra or [])
    argv += ["--cwd", str(cwd), "--rwdir", str(outdir)]
    argv += ["--exec", shlex.join(guest_argv)]
    return argv


# vng / QEMU failures worth translating into something a user can act on.
_KNOWN_FAILURES = [
    (
        "statically linked busybox",
        f"virtme-ng needs a static busybox: {VM_SETUP} (it installs busybox-static).",
    ),
    ("Could not access KVM", "KVM is not usable here; the VM must run with software emulation."),
    ("Kernel panic", "the VM kernel panicked while booting."),
    ("qemu-system-x86_64: ", "QEMU refused to start the VM."),
]


def _boot_failure(tail: list[str], code: int | None) -> str:
    """One sentence for a VM that ended without writing its results."""
    text = "\n".join(tail)
    for needle, meaning in _KNOWN_FAILURES:
        if needle in text:
            return f"The VM did not run the jobs: {meaning} (last output: {_last(tail)})"
    return (
        f"The VM ended (exit status {code}) without running the jobs; last output: {_last(tail)}."
    )


def _last(tail: list[str]) -> str:
    lines = [ln.strip() for ln in tail if ln.strip()]
    return lines[-1][:200] if lines else "none"


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the VM and everything vng started (it runs in its own session)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _read_results(outdir: Path, jobs: list[VmJob]) -> dict[str, Recording]:
    results: dict[str, Recording] = {}
    for job in jobs:
        path = outdir / f"{job.key}.json"
        if not path.is_file():
            failed = outdir / f"{job.key}.error"
            why = failed.read_text().strip() if failed.is_file() else "it wrote no result"
            raise VmError(f"The VM could not run {job.lesson_id} ({job.key}): {why}")
        results[job.key] = Recording.from_dict(json.loads(path.read_text()))
    return results


def run_in_vm(
    course_dir: Path,
    jobs: list[VmJob],
    *,
    python: str,
    on_progress: OnProgress | None = None,
    timeout: float | None = None,
    kernel: str | None = None,
    learner: bool = False,
) -> dict[str, Recording]:
    """Boot the VM once, run every job inside it, return {job.key: Recording}.
    `kernel` names a kernel of kernels.yaml (default: the stock one in
    /boot); with `learner` the jobs run as an unprivileged user who has
    only the README's sudoers rule, as a learner runs them.

    Raises VmError (one sentence) when the VM is unavailable, fails to boot,
    times out (default: a boot budget plus a budget per job) or loses a job.
    """
    if not jobs:
        return {}
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys) or any(not re.fullmatch(r"[\w.-]+", k) for k in keys):
        raise VmError("VM job keys must be unique names of letters, digits, '.', '_' or '-'.")
    ok, reason = vm_available(kernel)
    if not ok:
        raise VmError(f"The VM cannot run here: {reason}")
    vng = _find_vng()
    assert vng is not None  # vm_available said so
    image, extra, release = boot_kernel(kernel)
    kvm, _ = kvm_usable()
    notify = on_progress or (lambda _msg: None)
    limit = timeout if timeout is not None else BOOT_BUDGET + JOB_BUDGET * len(jobs)
    course_dir = Path(course_dir).resolve()

    with tempfile.TemporaryDirectory(prefix="ebpfc-vm-") as tmp:
        outdir = Path(tmp)
        outdir.chmod(0o777)  # the guest's root must be able to write into it
        (outdir / JOBS_FILE).write_text(
            json.dumps(
                {
                    "course_dir": str(course_dir),
                    "python": python,
                    "learner": learner,
                    "ready_floor": READY_FLOOR[kvm],
                    "stop_grace": STOP_GRACE[kvm],
                    "jobs": [
                        {
                            "key": j.key,
                            "lesson_id": j.lesson_id,
                            "probe": str(Path(j.probe_path).resolve()),
                            "only": j.only,
                            "stop_early": j.stop_early,
                        }
                        for j in jobs
                    ],
                }
            )
        )
        guest = [python, "-m", "runner.live.vm", "guest", str(outdir / JOBS_FILE), str(outdir)]
        argv = vng_command(vng, image, outdir, guest, kvm=kvm, cwd=CODE_ROOT, extra=extra)
        env = dict(os.environ)
        # vng runs its helpers (virtme-run) by name: they live beside it.
        env["PATH"] = f"{Path(vng).parent}{os.pathsep}{env.get('PATH', '')}"
        mode = "KVM" if kvm else "software emulation, about 30 s to boot"
        who = " as a learner with sudo" if learner else ""
        notify(f"booting {release} ({mode}) for {len(jobs)} job(s){who}")
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise VmError(f"Could not start virtme-ng ({exc.strerror or exc}).") from None
        try:
            tail = _pump(proc, notify, started, limit)
        except BaseException:  # Ctrl+C (SIGINT) or a crash: the VM must not outlive us
            _stop(proc)
            raise
        if proc.poll() is None:
            _stop(proc)
            raise VmError(
                f"The VM did not finish within {limit:.0f} s and was stopped; "
                f"last output: {_last(tail)}"
            )
        if not (outdir / DONE_FILE).is_file():
            raise VmError(_boot_failure(tail, proc.returncode))
        results = _read_results(outdir, jobs)
        notify(f"VM finished {len(jobs)} job(s) in {time.monotonic() - started:.0f} s")
        return results


def _pump(
    proc: subprocess.Popen[str], notify: OnProgress, started: float, limit: float
) -> list[str]:
    """Forward progress lines until the VM exits or `limit` seconds pass.
    Returns the last console lines for error messages."""
    tail: list[str] = []
    booted = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if line.startswith(PROGRESS_PREFIX):
                if not booted.is_set():
                    booted.set()
                    notify(f"VM booted in {time.monotonic() - started:.0f} s")
                notify(line[len(PROGRESS_PREFIX) :])
            else:
                tail.append(line)
                del tail[:-20]

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return tail
    thread.join(timeout=5)
    return tail


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "guest":
        from runner.live.vm_guest import guest_main

        return guest_main(Path(args[1]), Path(args[2]))
    if len(args) == 3 and args[0] == "guest-learner":
        from runner.live.vm_guest import learner_main

        return learner_main(Path(args[1]), Path(args[2]))
    ok, reason = vm_available()
    print(reason if ok else f"VM unavailable: {reason}")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
