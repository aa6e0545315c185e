"""runner.live.vm without booting anything: kernel discovery on a fake /boot, the
vng command line, and run_in_vm against a stand-in `vng` script that plays
the guest's part (results, silence, or a failed boot)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from runner.live import vm
from runner.model import Recording, Run

# ---------------------------------------------------------------- discovery


def fake_kernel(boot: Path, modules: Path, release: str, *, headers: str | None = None) -> None:
    """A /boot image with config and modules; `headers` names the release the
    build link points at (None: no build link)."""
    (boot / f"vmlinuz-{release}").write_bytes(b"")
    (boot / f"config-{release}").write_text("CONFIG_KPROBES=y\n")
    mod = modules / release
    mod.mkdir(parents=True)
    (mod / "modules.dep").write_text("")
    if headers is not None:
        tree = boot.parent / "src" / f"linux-headers-{headers}"
        tree.mkdir(parents=True, exist_ok=True)
        (mod / "build").symlink_to(tree)


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    modules.mkdir()
    return boot, modules


def test_newest_kernel_with_matching_headers_wins(roots):
    boot, modules = roots
    fake_kernel(boot, modules, "6.1.0-9-amd64", headers="6.1.0-9-amd64")
    fake_kernel(boot, modules, "6.1.0-56-amd64", headers="6.1.0-56-amd64")
    fake_kernel(boot, modules, "6.1.0-100-amd64")  # no headers: cannot compile inside
    assert vm.find_vm_kernel(boot, modules) == boot / "vmlinuz-6.1.0-56-amd64"


def test_a_kernel_whose_build_link_points_at_other_headers_is_not_used(roots):
    boot, modules = roots
    fake_kernel(boot, modules, "6.18.44-fc-v669", headers="6.1.0-56-amd64")
    assert vm.find_vm_kernel(boot, modules) is None


def test_no_kernel_at_all(roots):
    assert vm.find_vm_kernel(*roots) is None


def test_version_order_is_numeric():
    releases = ["6.1.0-9-amd64", "6.1.0-56-amd64", "5.10.0-30-amd64"]
    assert max(releases, key=vm._version_key) == "6.1.0-56-amd64"


def test_vm_unavailable_without_vng(monkeypatch):
    monkeypatch.setattr(vm, "_find_vng", lambda: None)
    ok, reason = vm.vm_available()
    assert not ok
    assert "virtme-ng" in reason


def test_software_emulation_is_chosen_from_the_facts_not_hard_coded(tmp_path):
    argv = vm.vng_command("vng", Path("/boot/k"), tmp_path, ["true"], kvm=False, cwd=tmp_path)
    assert "--disable-kvm" in argv
    argv = vm.vng_command("vng", Path("/boot/k"), tmp_path, ["true"], kvm=True, cwd=tmp_path)
    assert "--disable-kvm" not in argv


def test_guest_command_is_one_quoted_shell_string(tmp_path):
    guest = ["/usr/bin/python3", "-m", "runner.live.vm", "guest", "/tmp/a b/jobs.json", "/tmp/a b"]
    argv = vm.vng_command("vng", Path("/boot/k"), tmp_path, guest, kvm=False, cwd=tmp_path)
    assert argv[argv.index("--exec") + 1] == (
        "/usr/bin/python3 -m runner.live.vm guest '/tmp/a b/jobs.json' '/tmp/a b'"
    )
    assert argv[argv.index("--rwdir") + 1] == str(tmp_path)


# ---------------------------------------------------------------- run_in_vm with a stand-in vng

# The stand-in reads --rwdir and the jobs file like the real guest would,
# then behaves as MODE says.
STAND_IN = """\
import json, os, sys, time
from pathlib import Path
argv = sys.argv[1:]
outdir = Path(argv[argv.index("--rwdir") + 1])
spec = json.loads((outdir / "jobs.json").read_text())
mode = os.environ["FAKE_VNG_MODE"]
if mode == "no-busybox":
    print("virtme-run: a statically linked busybox could not be found")
    sys.exit(1)
if mode == "hang":
    time.sleep(60)
print("Booting the kernel ...")
print("@@ebpfc-vm@@ guest up: kernel 6.1.0-56-amd64", flush=True)
for job in spec["jobs"]:
    if mode == "lose-one" and job["key"] == "b":
        (outdir / "b.error").write_text("LookupError: the course has no lesson 'nope'")
        continue
    rec = {"lesson": job["lesson_id"], "probe_path": job["probe"], "probe_source": "",
           "where": "vm:6.1.0-56-amd64",
           "runs": {"main": {"id": "main", "exit_code": 0, "stop_reason": "exited"}}}
    (outdir / (job["key"] + ".json")).write_text(json.dumps(rec))
    print("@@ebpfc-vm@@ job " + job["key"] + ": done", flush=True)
(outdir / "done.json").write_text("{}")
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch) -> Path:
    script = tmp_path / "vng"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(vm, "_find_vng", lambda: str(script))
    monkeypatch.setattr(vm, "find_vm_kernel", lambda: Path("/boot/vmlinuz-6.1.0-56-amd64"))
    monkeypatch.setattr(vm, "vm_available", lambda *_: (True, "stand-in"))
    monkeypatch.setattr(vm, "kvm_usable", lambda: (False, "no vmx/svm"))
    return script


JOBS = [
    vm.VmJob("a", "01-hello-kprobe", Path("solutions/01-hello-kprobe/probe.py")),
    vm.VmJob("b", "02-reading-data", Path("lessons/02-reading-data/probe.py")),
]


def test_recordings_come_back_per_job(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_VNG_MODE", "ok")
    seen: list[str] = []
    results = vm.run_in_vm(tmp_path, JOBS, python=sys.executable, on_progress=seen.append)
    assert set(results) == {"a", "b"}
    assert isinstance(results["a"], Recording)
    assert results["a"].where == "vm:6.1.0-56-amd64"
    assert isinstance(results["b"].runs["main"], Run)
    assert results["b"].runs["main"].exit_code == 0
    assert "guest up: kernel 6.1.0-56-amd64" in seen
    assert "job b: done" in seen
    assert any(msg.startswith("VM booted in") for msg in seen)


def test_a_lost_job_is_a_clear_error(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_VNG_MODE", "lose-one")
    with pytest.raises(vm.VmError, match=r"could not run 02-reading-data \(b\).*no lesson 'nope'"):
        vm.run_in_vm(tmp_path, JOBS, python=sys.executable)


def test_a_failed_boot_says_what_to_install(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_VNG_MODE", "no-busybox")
    with pytest.raises(vm.VmError, match="busybox-static"):
        vm.run_in_vm(tmp_path, JOBS, python=sys.executable)


def test_a_hanging_vm_is_stopped_and_reported(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_VNG_MODE", "hang")
    with pytest.raises(vm.VmError, match="did not finish within 1 s"):
        vm.run_in_vm(tmp_path, JOBS, python=sys.executable, timeout=1)


def test_job_keys_must_be_unique_names(stand_in, tmp_path):
    twice = [JOBS[0], JOBS[0]]
    with pytest.raises(vm.VmError, match="unique"):
        vm.run_in_vm(tmp_path, twice, python=sys.executable)


def test_no_jobs_boots_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(vm, "vm_available", lambda *_: pytest.fail("must not look for a VM"))
    assert vm.run_in_vm(tmp_path, [], python=sys.executable) == {}


def test_jobs_file_names_absolute_probe_paths(stand_in, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_VNG_MODE", "ok")
    results = vm.run_in_vm(tmp_path, JOBS[:1], python=sys.executable)
    assert Path(results["a"].probe_path).is_absolute()
    assert json.loads(json.dumps(results["a"].to_dict()))["lesson"] == "01-hello-kprobe"


# ---------------------------------------------------------------- a kernel of the matrix, a learner


def test_a_named_kernel_boots_its_own_image_and_the_jobs_say_learner(
    stand_in, monkeypatch, tmp_path
):
    from runner.live import kernels

    image = tmp_path / "vmlinuz-7.2.13+deb14-amd64"
    files = kernels.BootFiles("7.2", "7.2.13+deb14-amd64", image, ("--rodir", "/x=/y"))
    monkeypatch.setattr(kernels, "boot_files", lambda kernel: files)
    argvs: list[list[str]] = []
    real = vm.vng_command
    monkeypatch.setattr(vm, "vng_command", lambda *a, **k: argvs.append(real(*a, **k)) or argvs[-1])
    monkeypatch.setenv("FAKE_VNG_MODE", "ok")
    seen: list[str] = []
    vm.run_in_vm(
        tmp_path,
        JOBS[:1],
        python=sys.executable,
        on_progress=seen.append,
        kernel="7.2",
        learner=True,
    )
    argv = argvs[0]
    assert argv[argv.index("--run") + 1] == str(image)
    assert argv[argv.index("--rodir") + 1] == "/x=/y"
    assert seen[0] == (
        "booting 7.2.13+deb14-amd64 (software emulation, about 30 s to boot) for 1 job(s) "
        "as a learner with sudo"
    )


def test_an_unprepared_kernel_is_one_sentence(monkeypatch):
    from runner.live import kernels

    def unprepared(kernel):
        raise kernels.KernelError("kernel 7.2 is not set up: run `./setup.sh --kernels`.")

    monkeypatch.setattr(kernels, "boot_files", unprepared)
    monkeypatch.setattr(vm, "_find_vng", lambda: "/x/vng")
    monkeypatch.setattr(vm.shutil, "which", lambda name: f"/usr/bin/{name}")
    ok, reason = vm.vm_available("7.2")
    assert not ok and reason == "kernel 7.2 is not set up: run `./setup.sh --kernels`."


def test_a_slow_guest_gives_each_step_time_to_compile_but_keeps_its_windows():
    from runner.live.vm_guest import slowed
    from runner.model import Lesson, RunSpec

    here = Path("/x")
    lesson = Lesson(
        "06-x",
        6,
        "x",
        "x",
        here,
        here / "README.md",
        here / "probe.py",
        None,
        None,
        runs=[
            RunSpec(id="main", ready_timeout=30, timeout=40),
            RunSpec(id="slow", ready_timeout=200, timeout=300),
        ],
    )
    runs = {r.id: r for r in slowed(lesson, 150).runs}
    assert (runs["main"].ready_timeout, runs["main"].timeout) == (150, 160)
    assert (runs["slow"].ready_timeout, runs["slow"].timeout) == (200, 300)
    assert lesson.runs[0].ready_timeout == 30  # the loaded lesson is not changed


def test_under_emulation_a_stopped_probe_gets_longer_to_print_its_summary(monkeypatch) -> None:
    # lesson 08's flood in the VM: thousands of lines still to print after SIGINT
    from runner.live import execute

    assert vm.STOP_GRACE[False] > vm.STOP_GRACE[True] == execute.INT_GRACE
    monkeypatch.delenv("EBPF_COURSE_STOP_GRACE", raising=False)
    assert execute._int_grace() == execute.INT_GRACE
    monkeypatch.setenv("EBPF_COURSE_STOP_GRACE", "30")
    assert execute._int_grace() == 30.0
    monkeypatch.setenv("EBPF_COURSE_STOP_GRACE", "0")  # never shorter than on the host
    assert execute._int_grace() == execute.INT_GRACE
    monkeypatch.setenv("EBPF_COURSE_STOP_GRACE", "soon")
    assert execute._int_grace() == execute.INT_GRACE


def test_guest_jobs_keep_going_after_one_fails_and_say_done_last(tmp_path, capsys):
    from runner.live.vm_guest import run_jobs

    def record(job):
        if job["key"] == "bad":
            raise RuntimeError("the probe file vanished\nmore")
        return Recording(lesson=job["lesson_id"], probe_path=job["probe"], probe_source="")

    jobs = [
        {"key": "bad", "lesson_id": "01-hello-kprobe", "probe": "/x/probe.py"},
        {"key": "good", "lesson_id": "01-hello-kprobe", "probe": "/x/probe.py"},
    ]
    assert run_jobs(jobs, record, tmp_path, "6.1.0-57-amd64") == 0
    assert (tmp_path / "bad.error").read_text() == "RuntimeError: the probe file vanished"
    assert json.loads((tmp_path / "good.json").read_text())["where"] == "vm:6.1.0-57-amd64"
    assert json.loads((tmp_path / vm.DONE_FILE).read_text()) == {
        "release": "6.1.0-57-amd64",
        "jobs": 2,
    }
    said = capsys.readouterr().out
    assert "job 1/2 bad: failed: RuntimeError" in said and "job 2/2 good: done in" in said
