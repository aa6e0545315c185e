"""The kernel matrix: stock Debian kernels the lesson VM can boot.

kernels.yaml (beside course.yaml) says which kernels exist. The default one
(Debian 12's own 6.1) is installed in /boot by `./setup.sh --vm` and found by
`runner.live.vm.find_vm_kernel`. Every other kernel is downloaded with a
private apt configuration (its own sources list, lists and cache folders, one
per suite: with sid beside bookworm-backports apt would prefer sid's
libraries) and unpacked with `dpkg-deb -x` into a cache folder -- never
installed, so nothing on the host is upgraded (sid's kernel would pull a new
libc).

    resolve_kernels("6.1,6.12" | "all") -> [Kernel, ...]
    prepare_kernel(kernel, on_progress)  download + unpack what is missing
    boot_files(kernel) -> BootFiles      vmlinuz and extra `vng` arguments

No extra `vng` arguments are needed: given a vmlinuz that is not under /boot,
virtme-ng walks up from the image to the folder holding `lib/modules`
(`<tree>/usr` for sid's /usr/lib/modules/<release>/vmlinuz), builds its
initramfs from `<that>/lib/modules/<release>` on the host, and in the guest
mounts a tmpfs on /lib/modules with `<release>` linking to that host folder
(the guest sees the host's files read-only). The packages' own `build` and
`source` links are relative (sid) or are made so here, so
/lib/modules/<release>/build in the guest resolves to that release's headers
in the same unpacked tree, and bcc compiles against exactly that version.

    python -m runner.live.kernels list
    python -m runner.live.kernels prepare all|6.12,7.2
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from runner.paths import COURSE_ROOT, SCHEMA_DIR

KERNELS_FILE = COURSE_ROOT / "kernels.yaml"
SCHEMA_FILE = SCHEMA_DIR / "kernels.schema.json"
# Outside the checkout: ~220 MB per kernel that must survive a fresh clone, be
# shared by every user and checkout on the machine, and be owned by root like
# the /boot kernel it stands beside (dpkg-deb -x as root keeps the packages'
# root ownership; virtme-ng, run as root, may write modules.dep there).
# Writing it needs root. Not /var/cache: virtme-ng's guest mounts an empty
# tmpfs over /var/cache (and /var/tmp, /var/log, /tmp is the guest's own), so
# the modules and headers would vanish in the guest; /var/lib is left alone.
# EBPF_COURSE_KERNEL_CACHE moves it (tests, no root); the guest must see it.
CACHE_ENV = "EBPF_COURSE_KERNEL_CACHE"
DEFAULT_CACHE = Path("/var/lib/ebpf-course")
MIRROR_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
LISTS_MAX_AGE = 24 * 3600.0  # seconds before a suite's package lists are refreshed
STAMP = "kernel.json"  # written last: a tree without it is not prepared
SETUP_HINT = "run `./setup.sh --kernels` in the course's folder (as root or with sudo)"

OnProgress = Callable[[str], None]


class KernelError(Exception):
    """A kernel cannot be named, prepared or booted; the message is one sentence."""


@dataclass(frozen=True)
class Kernel:
    name: str  # "6.12"
    description: str
    suite: str  # "bookworm-backports"
    version_prefix: str  # "6.12."
    packages: tuple[str, ...] = ()  # "linux-image-{version}-amd64", ...; empty for the default
    default: bool = False  # in /boot from `./setup.sh --vm`


@dataclass(frozen=True)
class BootFiles:
    kernel: str  # the Kernel's name, "7.2"
    release: str  # what `uname -r` prints in the guest, "7.2.13+deb14-amd64"
    vmlinuz: Path  # for `vng --run`
    vng_args: tuple[str, ...] = field(default=())  # extra arguments for vng (none needed)


# ---------------------------------------------------------------- the data file


def load_kernels(path: Path = KERNELS_FILE) -> list[Kernel]:
    """The kernels kernels.yaml lists, checked against schema/kernels.schema.json."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KernelError(f"Cannot read {path.name} ({exc.strerror or exc}).") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem", None) or "it is not valid YAML"
        raise KernelError(f"{path.name} is not valid YAML: {where}.") from None
    return kernels_from_data(data, path.name)


def kernels_from_data(data: Any, source: str = "kernels.yaml") -> list[Kernel]:
    schema = json.loads(SCHEMA_FILE.read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    if error is not None:
        raise KernelError(f"{source} is not valid: {_schema_words(error, data)}.")
    kernels = [
        Kernel(
            name=k["name"],
            description=k["description"],
            suite=k["suite"],
            version_prefix=k["version_prefix"],
            packages=tuple(k.get("packages", ())),
            default=bool(k.get("default", False)),
        )
        for k in data["kernels"]
    ]
    names = [k.name for k in kernels]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise KernelError(f"{source} is not valid: the name {twice[0]!r} is used twice.")
    defaults = [k.name for k in kernels if k.default]
    if len(defaults) != 1:
        raise KernelError(
            f"{source} is not valid: exactly one kernel must be `default: true`, "
            f"not {len(defaults)}."
        )
    return kernels


def _schema_words(error: jsonschema.ValidationError, data: Any) -> str:
    """ "kernel '7.2': 'packages' is a required property", without file or line."""
    path = list(error.absolute_path)
    where = "the file"
    if len(path) >= 2 and path[0] == "kernels" and isinstance(path[1], int):
        entry = data["kernels"][path[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"kernel {name!r}" if isinstance(name, str) else f"kernel #{path[1] + 1}"
        if len(path) > 2:
            where += ", " + " ".join(
                f"#{p + 1}" if isinstance(p, int) else str(p) for p in path[2:]
            )
    elif path:
        where = ".".join(str(p) for p in path)
    message = error.message
    if error.validator == "not":  # the default with packages
        message = "the default kernel comes from /boot and lists no packages"
    elif error.validator == "pattern" and error.schema.get("description"):
        message = f"{error.instance!r} does not fit: {error.schema['description'].rstrip('.')}"
    elif error.validator == "additionalProperties":
        message = message.replace("Additional properties are not allowed", "unknown key")
    return f"{where}: {message}"


def resolve_kernels(spec: str, kernels: list[Kernel] | None = None) -> list[Kernel]:
    """ "all", or names separated by commas ("6.1,6.12"), in the file's order."""
    known = load_kernels() if kernels is None else kernels
    if spec.strip() == "all":
        return list(known)
    by_name = {k.name: k for k in known}
    wanted = [w.strip() for w in spec.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in by_name]
    if unknown or not wanted:
        what = f"unknown kernel {unknown[0]!r}" if unknown else "no kernel named"
        raise KernelError(f"{what}: the known kernels are {', '.join(by_name)} (or `all`).")
    return [k for k in known if k.name in wanted]


def default_kernel(kernels: list[Kernel] | None = None) -> Kernel:
    return next(k for k in (load_kernels() if kernels is None else kernels) if k.default)


# ---------------------------------------------------------------- pure parsing


def version_key(version: str) -> list[tuple[int, int | str]]:
    """Natural order: 7.2.14+deb14 after 7.2.9+deb14."""
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", version) if p]


def image_pattern(template: str, prefix: str) -> re.Pattern[str]:
    """`linux-image-{version}-amd64` with prefix 7.2. as a full-name regex;
    the version has no dashes, so -cloud-amd64, -rt-amd64 and -dbg never match."""
    head, _, tail = template.partition("{version}")
    return re.compile(f"{re.escape(head)}({re.escape(prefix)}[^-]+){re.escape(tail)}")


def newest_version(names: Iterable[str], template: str, prefix: str) -> str | None:
    """The newest `{version}` among package `names` that fit `template`."""
    pattern = image_pattern(template, prefix)
    found = [m.group(1) for n in names if (m := pattern.fullmatch(n.strip()))]
    return max(found, key=version_key) if found else None


def search_names(text: str) -> list[str]:
    """Package names from `apt-cache search` output ("name - summary" lines)."""
    return [line.split(" - ", 1)[0].strip() for line in text.splitlines() if " - " in line]


def parse_stanzas(text: str) -> dict[str, dict[str, str]]:
    """`apt-cache show` / Packages text -> {package: {field: value}} (first stanza wins)."""
    stanzas: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        last = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line.strip()
            elif ":" in line:
                last, _, value = line.partition(":")
                fields[last] = value.strip()
        if "Package" in fields:
            stanzas.setdefault(fields["Package"], fields)
    return stanzas


def same_version_deps(depends: str, version: str) -> list[str]:
    """Names in a Depends field that carry `version`: one per group, the first
    alternative ("image | image-unsigned" -> image); gcc, kmod, ... are left out."""
    picked = []
    for group in depends.split(","):
        for alternative in group.split("|"):
            name = alternative.strip().split(" ", 1)[0].split(":", 1)[0]
            if version in name:
                picked.append(name)
                break
    return picked


def package_closure(
    roots: list[str], stanzas: Mapping[str, Mapping[str, str]], version: str
) -> list[str]:
    """`roots` and, transitively, their dependencies of the same version.
    A name missing from `stanzas` is returned too (the caller looks it up)."""
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        fields = stanzas.get(name)
        if fields:
            todo += same_version_deps(fields.get("Depends", ""), version)
            todo += same_version_deps(fields.get("Pre-Depends", ""), version)
    return seen


def mirror_from_sources(text: str) -> str:
    """The Debian mirror named in a deb822 .sources file (the one with debian,
    not debian-security), or deb.debian.org."""
    for block in re.split(r"\n\s*\n", text):
        for line in block.splitlines():
            if line.lower().startswith("uris:"):
                for uri in line.split(":", 1)[1].split():
                    if uri.rstrip("/").endswith("/debian"):
                        return uri.rstrip("/")
    return DEFAULT_MIRROR


# ---------------------------------------------------------------- the cache


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def _trees(kernel: Kernel) -> list[tuple[str, Path, dict[str, Any]]]:
    """Prepared trees of this kernel: (version, folder, stamp), newest first."""
    found = []
    folder = cache_root() / "kernels"
    for stamp_file in folder.glob(f"*/{STAMP}"):
        try:
            stamp = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            continue
        if stamp.get("kernel") == kernel.name and str(stamp.get("version", "")).startswith(
            kernel.version_prefix
        ):
            found.append((stamp["version"], stamp_file.parent, stamp))
    return sorted(found, key=lambda t: version_key(t[0]), reverse=True)


def boot_files(kernel: Kernel) -> BootFiles:
    """What `vng --run` needs to boot `kernel`; KernelError when it is not set up."""
    if kernel.default:
        from runner.live.vm import find_vm_kernel  # vm imports this module

        image = find_vm_kernel()
        if image is None:
            raise KernelError(
                f"kernel {kernel.name} is not set up: run `./setup.sh --vm` in the course's "
                "folder (it installs linux-image-amd64 and linux-headers-amd64)."
            )
        return BootFiles(kernel.name, image.name.removeprefix("vmlinuz-"), image)
    for _version, folder, stamp in _trees(kernel):
        vmlinuz = folder / stamp["vmlinuz"]
        if vmlinuz.is_file():
            return BootFiles(kernel.name, stamp["release"], vmlinuz)
    raise KernelError(f"kernel {kernel.name} is not set up: {SETUP_HINT}.")


def prepared_release(kernel: Kernel) -> str | None:
    """The release `boot_files` would boot, or None."""
    try:
        return boot_files(kernel).release
    except KernelError:
        return None


# ---------------------------------------------------------------- apt, privately


class _Apt:
    """apt-get / apt-cache with a sources list, lists and cache of their own
    (one suite each), so the machine's apt state is neither read nor changed."""

    def __init__(self, suite: str, root: Path) -> None:
        self.suite = suite
        self.dir = root / "apt" / suite
        self.sources = self.dir / "sources.list"

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.dir / 'lists'}",
            "-o", f"Dir::Cache={self.dir / 'cache'}",
            "-o", "Dir::Etc::Preferences=/dev/null",
            "-o", "Dir::Etc::PreferencesParts=/dev/null",
            "-o", "APT::Sandbox::User=root",  # our folders are root's; _apt cannot write them
        ]  # fmt: skip

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        try:
            done = subprocess.run(
                [tool, "-q", *self.options(), *args],
                capture_output=True,
                text=True,
                cwd=cwd,
                check=False,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"},
            )
        except OSError as exc:
            raise KernelError(f"Cannot run {tool} ({exc.strerror or exc}).") from None
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"exit status {done.returncode}"
            raise KernelError(f"{tool} {args[0]} failed for {self.suite}: {why}")
        return done.stdout

    def update(self, notify: OnProgress) -> None:
        """Fetch the suite's package lists unless they are less than a day old."""
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        mirror = DEFAULT_MIRROR
        if MIRROR_SOURCES.is_file():
            mirror = mirror_from_sources(MIRROR_SOURCES.read_text())
        line = f"deb [signed-by={KEYRING}] {mirror} {self.suite} main\n"
        fresh = self.sources.is_file() and self.sources.read_text() == line
        lists = list((self.dir / "lists").glob("*_Packages*"))
        if fresh and lists and time.time() - min(p.stat().st_mtime for p in lists) < LISTS_MAX_AGE:
            return
        self.sources.write_text(line)
        notify(f"refreshing the package lists of {self.suite} from {mirror}")
        self.run("apt-get", "update")
        for path in (self.dir / "lists").glob("*_Packages*"):
            path.touch()  # unchanged lists keep the mirror's date


# ---------------------------------------------------------------- preparing


def prepare_kernel(kernel: Kernel, on_progress: OnProgress | None = None) -> BootFiles:
    """Download and unpack the newest `kernel` of its suite unless it is there.

    Idempotent and silent when there is nothing to do: with the suite's lists
    less than a day old and that version unpacked, it returns at once without
    a word. Needs root (see DEFAULT_CACHE)."""
    notify = on_progress or (lambda _msg: None)
    if kernel.default:
        return boot_files(kernel)  # installed in /boot by setup.sh --vm with apt
    root = cache_root()
    try:
        (root / "kernels").mkdir(parents=True, exist_ok=True)
        probe = tempfile.TemporaryFile(dir=root / "kernels")
        probe.close()
    except OSError as exc:
        raise KernelError(
            f"Cannot write the kernel cache {root} ({exc.strerror or exc}): run as root or "
            f"with sudo, or set {CACHE_ENV} to a folder of yours."
        ) from None
    apt = _Apt(kernel.suite, root)
    apt.update(notify)
    image_template = kernel.packages[0]
    names = search_names(
        apt.run("apt-cache", "search", "--names-only", "^" + image_template.split("{")[0])
    )
    version = newest_version(names, image_template, kernel.version_prefix)
    if version is None:
        raise KernelError(
            f"{kernel.suite} has no {image_template.format(version=kernel.version_prefix + '*')} "
            f"package for kernel {kernel.name}."
        )
    for have, folder, stamp in _trees(kernel):
        if have == version and (folder / stamp["vmlinuz"]).is_file():
            return BootFiles(kernel.name, stamp["release"], folder / stamp["vmlinuz"])

    packages = _resolve_packages(apt, [p.format(version=version) for p in kernel.packages], version)
    notify(
        f"kernel {kernel.name}: downloading {version} from {kernel.suite}: {len(packages)} packages"
    )
    work = Path(tempfile.mkdtemp(prefix=f".partial-{version}-", dir=root / "kernels"))
    begun = time.monotonic()
    try:
        debs = work / "debs"
        debs.mkdir()
        started = time.monotonic()
        apt.run("apt-get", "download", *[f"{n}={v}" for n, v in packages.items()], cwd=debs)
        size = sum(p.stat().st_size for p in debs.glob("*.deb"))
        notify(
            f"kernel {kernel.name}: downloaded {size / 1e6:.0f} MB in "
            f"{time.monotonic() - started:.0f} s; unpacking"
        )
        tree = work / "root"
        for deb in sorted(debs.glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(tree)], f"unpacking {deb.name}")
        shutil.rmtree(debs)
        release, moddir, vmlinuz = _fix_tree(tree)
        notify(f"kernel {kernel.name}: unpacked {release}, headers linked, modules indexed")
        stamp = {
            "kernel": kernel.name,
            "suite": kernel.suite,
            "version": version,
            "release": release,
            "vmlinuz": str(vmlinuz.relative_to(work)),
            "modules": str(moddir.relative_to(work)),
            "packages": packages,
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        final = root / "kernels" / release
        if final.exists():  # an unfinished or older tree of this release
            shutil.rmtree(final)
        # The stamp is written before the rename, and the rename is atomic:
        # a tree under its release name is complete.
        (work / STAMP).write_text(json.dumps(stamp, indent=2) + "\n")
        work.chmod(0o755)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    notify(
        f"kernel {kernel.name}: {release} is ready in {final} "
        f"({_size(final)}, {time.monotonic() - begun:.0f} s)"
    )
    return BootFiles(kernel.name, release, final / stamp["vmlinuz"])


def _resolve_packages(apt: _Apt, roots: list[str], version: str) -> dict[str, str]:
    """{package: version} for `roots` and their same-version dependencies."""
    stanzas: dict[str, dict[str, str]] = {}
    while True:
        names = package_closure(roots, stanzas, version)
        missing = [n for n in names if n not in stanzas]
        if not missing:
            return {n: stanzas[n]["Version"] for n in names}
        found = parse_stanzas(apt.run("apt-cache", "show", "--no-all-versions", *missing))
        lost = [n for n in missing if n not in found]
        if lost:
            raise KernelError(f"{apt.suite} has no package {lost[0]}.")
        stanzas.update(found)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise KernelError(f"{what} failed: {lines[-1] if lines else done.returncode}.")


def _fix_tree(tree: Path) -> tuple[str, Path, Path]:
    """Check an unpacked tree and make it bootable where it is.

    Returns (release, modules folder, vmlinuz). The headers' `build` link may
    be absolute (/usr/src/...: bookworm's packages), which would not resolve
    in the guest: it is made relative, inside the tree. A missing `source`
    link points at the -common headers (bcc reads both halves of Debian's
    split headers). modules.dep is generated (the packages leave it to their
    postinst; virtme-ng would otherwise write it on the first boot)."""
    candidates = [*tree.glob("lib/modules/*"), *tree.glob("usr/lib/modules/*")]
    moddirs = [p for p in candidates if p.is_dir() and (p / "kernel").is_dir()]
    if len(moddirs) != 1:
        raise KernelError(f"the unpacked kernel has {len(moddirs)} module folders, not one.")
    moddir = moddirs[0]
    release = moddir.name
    for vmlinuz in (tree / "boot" / f"vmlinuz-{release}", moddir / "vmlinuz"):
        if vmlinuz.is_file():
            break
    else:
        raise KernelError(f"the unpacked kernel {release} has no vmlinuz.")
    headers = tree / "usr" / "src" / f"linux-headers-{release}"
    if not (headers / "include" / "generated").is_dir():
        raise KernelError(f"the unpacked kernel {release} has no headers in {headers}.")
    commons = sorted((tree / "usr" / "src").glob("linux-headers-*-common"))
    for link, target in (("build", headers), ("source", commons[0] if commons else None)):
        path = moddir / link
        if target is None:
            continue
        if path.is_symlink() and (path.parent / os.readlink(path)).resolve() == target.resolve():
            continue
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(os.path.relpath(target, moddir))
    with tempfile.TemporaryDirectory(prefix="ebpfc-depmod-") as base:
        # depmod -b BASE looks in BASE/lib/modules/<release> (bookworm's kmod)
        (Path(base) / "lib" / "modules").mkdir(parents=True)
        (Path(base) / "lib" / "modules" / release).symlink_to(moddir.resolve())
        _run(["depmod", "-a", "-b", base, release], f"depmod for {release}")
    return release, moddir, vmlinuz


# ---------------------------------------------------------------- command line


def _size(path: Path) -> str:
    done = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.split()[0] if done.returncode == 0 and done.stdout else "?"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        if args == ["list"]:
            for k in load_kernels():
                try:
                    files = boot_files(k)
                    state = f"prepared: {files.vmlinuz}"
                    release = files.release
                except KernelError:
                    state, release = "not prepared", "-"
                mark = " (default)" if k.default else ""
                print(f"{k.name:<6} {release:<26} {state}{mark}")
            return 0
        if len(args) == 2 and args[0] == "prepare":
            # Silent when everything is there already (setup.sh's rule); `list` tells.
            for k in resolve_kernels(args[1]):
                prepare_kernel(k, lambda msg: print(msg, flush=True))
            return 0
    except KernelError as exc:
        print(f"kernels: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m runner.live.kernels list | prepare all|NAME[,NAME...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
