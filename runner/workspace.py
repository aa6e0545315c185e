"""The learner's visible workspace: one folder per lesson with their own copy
of the starter probe.py and the learner tests, plus hidden state
(.course/progress.json, .course/cache/).

Files are never overwritten: first use copies, `reset` keeps a backup.
When the course runs as root through sudo, what it creates is handed to
the invoking user so their editor can save the files.

No symbolic link is followed below the workspace root or out of the course:
the course runs as root, the workspace belongs to the learner, and a link
(probe.py -> /etc/shadow, tests/ -> /etc) would let root read or write
anything. Folders under the root are opened one at a time with O_NOFOLLOW
(so a link swapped in between a check and a use is refused too), files are
created with O_EXCL|O_NOFOLLOW and read with O_NOFOLLOW. The root itself may
be a link (it is the learner's or $EBPF_COURSE_WORKSPACE's choice).
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
import time
from pathlib import Path

from runner.model import Lesson

WORKSPACE_ENV = "EBPF_COURSE_WORKSPACE"
STATE_DIR = ".course"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkspaceError(OSError):
    """A file of the workspace or the course cannot be used safely; `str()`
    (and `strerror`, for callers that show OSErrors) is one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.ELOOP, message)

    def __str__(self) -> str:
        return self.strerror


def _link_error(path: Path, whose: str) -> WorkspaceError:
    if whose == "course":
        return WorkspaceError(
            f"{path} in the course is a symbolic link, which the course may not hold; "
            "replace it with a copy of what it points to"
        )
    return WorkspaceError(
        f"{path} is a symbolic link (or not a plain file or folder), which the course does "
        "not follow because it runs as root; replace it with a real file or folder"
    )


def default_root() -> Path:
    """$EBPF_COURSE_WORKSPACE, else ~/ebpf-course of the invoking user."""
    given = os.environ.get(WORKSPACE_ENV)
    if given:
        return Path(given).expanduser()
    return _invoking_home() / "ebpf-course"


def _invoking_home() -> Path:
    # Under sudo, HOME may be root's; the workspace belongs to the learner.
    uid = _sudo_owner()
    if uid is not None:
        try:
            return Path(pwd.getpwuid(uid[0]).pw_dir)
        except KeyError:
            pass
    return Path.home()


def _sudo_owner() -> tuple[int, int] | None:
    """(uid, gid) of the user who ran sudo, when we are root because of it."""
    if os.geteuid() != 0:
        return None
    try:
        uid = int(os.environ["SUDO_UID"])
        gid = int(os.environ.get("SUDO_GID", uid))
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid != 0 else None


def give_to_invoking_user(path: Path) -> None:
    """chown a file or folder we created to the sudo user (no-op otherwise)."""
    owner = _sudo_owner()
    if owner is not None:
        os.chown(path, *owner)


def make_dirs(path: Path) -> None:
    """mkdir -p, handing every folder it creates to the invoking user."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        give_to_invoking_user(folder)


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    @property
    def progress_path(self) -> Path:
        return self.root / STATE_DIR / "progress.json"

    @property
    def cache_dir(self) -> Path:
        return self.root / STATE_DIR / "cache"

    def lesson_dir(self, lesson: Lesson) -> Path:
        return self.root / lesson.id

    def probe_path(self, lesson: Lesson) -> Path:
        return self.lesson_dir(lesson) / lesson.starter.name

    def ensure(self, lesson: Lesson) -> Path:
        """Copy the starter and learner tests on first use; never overwrite.
        Returns the learner's probe path, which is a plain file, not a link
        (WorkspaceError otherwise, as for a link in the course's files)."""
        make_dirs(self.root)
        name = lesson.starter.name
        with _Dir(self.root, Path(lesson.id), create=True) as folder:
            if not folder.has(name):
                folder.copy_in(lesson.starter, name)
            folder.check_file(name)
        if lesson.tests_dir is not None:
            for source in _course_files(lesson.tests_dir):
                rel = source.relative_to(lesson.tests_dir)
                with _Dir(self.root, Path(lesson.id, "tests", *rel.parts[:-1]), create=True) as d:
                    if not d.has(rel.name):
                        d.copy_in(source, rel.name)
        # The probe (checked above) and the learner tests run as root next.
        # Emacs's lock files (.#name) are dangling links nothing reads.
        tests = self.lesson_dir(lesson) / "tests"
        if tests.is_symlink():
            raise _link_error(tests, "workspace")
        for top, dirs, files in os.walk(tests):  # follows no link below it
            for name in dirs + files:
                if (Path(top) / name).is_symlink() and not name.startswith(".#"):
                    raise _link_error(Path(top) / name, "workspace")
        return self.probe_path(lesson)

    def read_bytes(self, path: Path, limit: int | None = None) -> bytes:
        """A file of the workspace (absolute, or relative to the root), read
        without following a link anywhere below the root (WorkspaceError);
        at most `limit` bytes when given."""
        rel = Path(path)
        if rel.is_absolute():
            try:
                rel = rel.relative_to(self.root)
            except ValueError:
                raise WorkspaceError(f"{path} is not inside the workspace {self.root}") from None
        with _Dir(self.root, rel.parent, create=False) as folder:
            return folder.read(rel.name, limit)

    def read_text(self, path: Path) -> str:
        """read_bytes() decoded as UTF-8 (undecodable bytes replaced)."""
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def reset(self, lesson: Lesson) -> Path | None:
        """Restore the starter. The learner's file is first moved to a
        timestamped backup beside it, whose path is returned (None when
        there was no file to keep; a symbolic link there is removed, its
        target left alone)."""
        probe = self.probe_path(lesson)
        backup = None
        make_dirs(self.root)
        with _Dir(self.root, Path(lesson.id), create=True) as folder:
            if folder.is_link(probe.name):  # holds no work of the learner's: just drop it
                os.unlink(probe.name, dir_fd=folder.fd)
            elif folder.has(probe.name):
                backup = self._backup_name(probe)
                os.rename(probe.name, backup.name, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
        self.ensure(lesson)
        return backup

    @staticmethod
    def _backup_name(probe: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        candidate = probe.with_name(f"{probe.name}.{stamp}.bak")
        n = 1
        while os.path.lexists(candidate):  # two resets within one second
            n += 1
            candidate = probe.with_name(f"{probe.name}.{stamp}-{n}.bak")
        return candidate


def _course_files(folder: Path) -> list[Path]:
    """The files under a course folder, sorted, without __pycache__; a link
    anywhere (the folder itself included) is a WorkspaceError."""
    if folder.is_symlink():
        raise _link_error(folder, "course")
    found = []
    for top, dirs, files in os.walk(folder):  # os.walk does not follow links
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in dirs + files:
            if (Path(top) / name).is_symlink():
                raise _link_error(Path(top) / name, "course")
        found += [Path(top) / name for name in files]
    return sorted(found)


def _read_fd(fd: int, limit: int | None) -> bytes:
    chunks, size = [], 0
    while limit is None or size < limit:
        chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _Dir:
    """A folder `rel` below `root`, reached one component at a time without
    following links (created, and handed to the sudo user, when asked)."""

    def __init__(self, root: Path, rel: Path, *, create: bool) -> None:
        self.path = root / rel
        self.fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            here = root
            for part in rel.parts:
                here = here / part
                if create:
                    try:
                        os.mkdir(part, dir_fd=self.fd)
                        owner = _sudo_owner()
                        if owner is not None:
                            os.chown(part, *owner, dir_fd=self.fd, follow_symlinks=False)
                    except FileExistsError:
                        pass
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=self.fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise _link_error(here, "workspace") from None
                    raise
                os.close(self.fd)
                self.fd = fd
        except BaseException:
            os.close(self.fd)
            raise

    def __enter__(self) -> _Dir:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def has(self, name: str) -> bool:
        """Whether anything (a dangling link too) is called `name` here."""
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def is_link(self, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return False

    def check_file(self, name: str) -> None:
        info = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise _link_error(self.path / name, "workspace")

    def read(self, name: str, limit: int | None) -> bytes:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_error(self.path / name, "workspace") from None
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _link_error(self.path / name, "workspace")
            return _read_fd(fd, limit)
        finally:
            os.close(fd)

    def copy_in(self, source: Path, name: str) -> None:
        """Copy a course file here as a new file `name` (never over anything)."""
        try:
            src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_error(source, "course") from None
            raise
        try:
            mode = stat.S_IMODE(os.fstat(src).st_mode)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            dst = os.open(name, flags, mode, dir_fd=self.fd)
            try:
                while chunk := os.read(src, 1 << 20):
                    view = memoryview(chunk)
                    while view:  # os.write may take only part of it
                        view = view[os.write(dst, view) :]
                os.fchmod(dst, mode)  # the umask narrowed what os.open set
                owner = _sudo_owner()
                if owner is not None:
                    os.fchown(dst, *owner)
            finally:
                os.close(dst)
        finally:
            os.close(src)
