"""runner.live.kernels without network or VM: the data file, naming kernels,
picking the newest version from apt's answers, the package closure, and
boot_files on a fake cache folder."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.live import kernels as kz
from runner.live.kernels import BootFiles, KernelError
from runner.paths import COURSE_ROOT


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(kz.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def data() -> dict[str, Any]:
    return yaml.safe_load((COURSE_ROOT / "kernels.yaml").read_text())


def one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert "line" not in message and ".yaml:" not in message


# ---------------------------------------------------------------- the data file


def test_the_data_file_lists_the_matrix_with_6_1_as_default() -> None:
    found = kz.load_kernels()
    assert [k.name for k in found] == ["6.1", "6.12", "7.2"]
    assert [k.name for k in found if k.default] == ["6.1"]
    assert kz.default_kernel(found).packages == ()
    by_name = {k.name: k for k in found}
    assert by_name["7.2"].suite == "sid" and by_name["7.2"].version_prefix == "7.2."
    assert by_name["6.12"].suite == "bookworm-backports"
    assert by_name["7.2"].packages[0] == "linux-image-{version}-amd64"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["kernels"][2].pop("packages"), "kernel '7.2': 'packages' is a required"),
        (
            lambda d: d["kernels"][0].update(packages=["linux-image-{version}-amd64"]),
            "kernel '6.1': the default kernel comes from /boot",
        ),
        (lambda d: d["kernels"][1].update(colour="red"), "kernel '6.12': unknown key"),
        (lambda d: d["kernels"][1].update(name=6.12), "kernel #2, name: 6.12 is not of type"),
        (lambda d: d["kernels"][2].update(version_prefix="7.2"), "kernel '7.2', version_prefix"),
        (lambda d: d["kernels"][2].update(name="6.12"), "the name '6.12' is used twice"),
        (lambda d: d["kernels"][1].update(default=True), "the default kernel comes from /boot"),
        (
            lambda d: [d["kernels"][1].update(default=True), d["kernels"][1].pop("packages")],
            "exactly one kernel must be `default: true`, not 2.",
        ),
        (lambda d: d.update(kernels=[]), "kernels: [] should be non-empty"),
    ],
)
def test_a_bad_data_file_is_one_clear_sentence(change: Any, words: str) -> None:
    broken = copy.deepcopy(data())
    change(broken)
    with pytest.raises(KernelError) as caught:
        kz.kernels_from_data(broken)
    message = str(caught.value)
    assert message.startswith("kernels.yaml is not valid: ")
    assert words in message
    one_sentence(message)


def test_a_file_that_is_not_yaml_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "kernels.yaml"
    path.write_text("kernels: [\n")
    with pytest.raises(KernelError, match=r"^kernels.yaml is not valid YAML: .*\.$"):
        kz.load_kernels(path)


# ---------------------------------------------------------------- naming kernels


def test_resolve_all_and_names_in_the_files_order() -> None:
    assert [k.name for k in kz.resolve_kernels("all")] == ["6.1", "6.12", "7.2"]
    assert [k.name for k in kz.resolve_kernels("7.2, 6.1")] == ["6.1", "7.2"]
    assert [k.name for k in kz.resolve_kernels("6.12")] == ["6.12"]


@pytest.mark.parametrize("spec", ["6.2", "6.1,5.10", ","])
def test_an_unknown_kernel_names_the_known_ones(spec: str) -> None:
    with pytest.raises(KernelError) as caught:
        kz.resolve_kernels(spec)
    message = str(caught.value)
    assert "the known kernels are 6.1, 6.12, 7.2 (or `all`)." in message
    one_sentence(message)


# ---------------------------------------------------------------- apt's answers

SEARCH = """\
linux-image-7.2.13+deb14-amd64 - Linux 7.2 for 64-bit PCs (signed)
linux-image-7.2.13+deb14-amd64-dbg - Debug symbols for linux-image-7.2.13+deb14-amd64
linux-image-7.2.13+deb14-cloud-amd64 - Linux 7.2 for x86-64 cloud
linux-image-7.2.13+deb14-rt-amd64 - Linux 7.2 for 64-bit PCs, PREEMPT_RT
linux-image-7.2.9+deb14-amd64 - Linux 7.2 for 64-bit PCs (signed)
linux-image-7.20.1+deb14-amd64 - Linux 7.20 for 64-bit PCs (signed)
linux-image-6.19.3+deb14-amd64 - Linux 6.19 for 64-bit PCs (signed)
linux-image-amd64 - Linux for 64-bit PCs (meta-package)
"""


def test_the_newest_version_with_the_prefix_is_picked() -> None:
    names = kz.search_names(SEARCH)
    assert names[0] == "linux-image-7.2.13+deb14-amd64" and len(names) == 8
    template = "linux-image-{version}-amd64"
    assert kz.newest_version(names, template, "7.2.") == "7.2.13+deb14"
    assert kz.newest_version(names, template, "7.20.") == "7.20.1+deb14"
    assert kz.newest_version(names, template, "6.12.") is None
    month_later = [*names, "linux-image-7.2.14+deb14-amd64"]
    assert kz.newest_version(month_later, template, "7.2.") == "7.2.14+deb14"


SHOW = """\
Package: linux-image-7.2.13+deb14-amd64
Version: 7.2.13-1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-base-7.2.13+deb14-amd64 (= 7.2.13-1), linux-binary-7.2.13+deb14-amd64 (= 7.2.13-1), linux-modules-7.2.13+deb14-amd64 (= 7.2.13-1)
Description: Linux 7.2 for 64-bit PCs
 A second description line: with a colon.

Package: linux-headers-7.2.13+deb14-amd64
Version: 7.2.13-1
Depends: gcc-16-for-host, linux-base (>= 4.12~), linux-base-7.2.13+deb14-amd64 (= 7.2.13-1), linux-headers-7.2.13+deb14-common (= 7.2.13-1), linux-kbuild-7.2.13+deb14

Package: linux-kbuild-7.2.13+deb14
Version: 7.2.13-1
Depends: pahole, libc6 (>= 2.38), libelf1t64 (>= 0.144)
"""  # noqa: E501


def test_stanzas_and_the_same_version_closure() -> None:
    stanzas = kz.parse_stanzas(SHOW)
    assert stanzas["linux-kbuild-7.2.13+deb14"]["Version"] == "7.2.13-1"
    assert "with a colon" in stanzas["linux-image-7.2.13+deb14-amd64"]["Description"]
    roots = ["linux-image-7.2.13+deb14-amd64", "linux-headers-7.2.13+deb14-amd64"]
    assert kz.package_closure(roots, stanzas, "7.2.13+deb14") == [
        "linux-image-7.2.13+deb14-amd64",
        "linux-headers-7.2.13+deb14-amd64",
        "linux-base-7.2.13+deb14-amd64",
        "linux-binary-7.2.13+deb14-amd64",
        "linux-modules-7.2.13+deb14-amd64",
        "linux-headers-7.2.13+deb14-common",
        "linux-kbuild-7.2.13+deb14",
    ]


def test_of_alternatives_only_the_first_of_the_version_is_taken() -> None:
    depends = (
        "linux-base (>= 4.12~), linux-headers-6.12.95+deb12-common (= 6.12.95-1~bpo12+1), "
        "linux-image-6.12.95+deb12-amd64 (= 6.12.95-1~bpo12+1) | "
        "linux-image-6.12.95+deb12-amd64-unsigned (= 6.12.95-1~bpo12+1), gcc-12"
    )
    assert kz.same_version_deps(depends, "6.12.95+deb12") == [
        "linux-headers-6.12.95+deb12-common",
        "linux-image-6.12.95+deb12-amd64",
    ]


def test_the_mirror_comes_from_the_machines_sources() -> None:
    sources = (
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
    )
    assert kz.mirror_from_sources(sources) == "http://mirror.example/debian"
    assert kz.mirror_from_sources("") == kz.DEFAULT_MIRROR


# ---------------------------------------------------------------- boot files


def by_name(name: str) -> kz.Kernel:
    return kz.resolve_kernels(name)[0]


def test_an_unprepared_kernel_says_how_to_set_it_up(cache: Path) -> None:
    with pytest.raises(KernelError) as caught:
        kz.boot_files(by_name("7.2"))
    message = str(caught.value)
    assert message.startswith("kernel 7.2 is not set up: run `./setup.sh --kernels`")
    one_sentence(message)
    assert kz.prepared_release(by_name("7.2")) is None


def fake_tree(cache: Path, name: str, version: str, release: str) -> Path:
    folder = cache / "kernels" / release
    image = folder / "root" / "usr" / "lib" / "modules" / release / "vmlinuz"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"")
    stamp = {
        "kernel": name,
        "version": version,
        "release": release,
        "vmlinuz": str(image.relative_to(folder)),
    }
    (folder / kz.STAMP).write_text(kz.json.dumps(stamp))
    return image


def test_a_prepared_kernel_boots_its_newest_tree_with_no_extra_arguments(cache: Path) -> None:
    fake_tree(cache, "7.2", "7.2.9+deb14", "7.2.9+deb14-amd64")
    newest = fake_tree(cache, "7.2", "7.2.13+deb14", "7.2.13+deb14-amd64")
    fake_tree(cache, "6.12", "6.12.95+deb12", "6.12.95+deb12-amd64")
    partial = cache / "kernels" / ".partial-7.2.14+deb14-x"  # no stamp: not prepared
    partial.mkdir()
    assert kz.boot_files(by_name("7.2")) == BootFiles("7.2", "7.2.13+deb14-amd64", newest, ())
    assert kz.prepared_release(by_name("6.12")) == "6.12.95+deb12-amd64"


def test_the_default_kernel_is_the_one_find_vm_kernel_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runner.live import vm

    image = Path("/boot/vmlinuz-6.1.0-57-amd64")
    monkeypatch.setattr(vm, "find_vm_kernel", lambda: image)
    assert kz.boot_files(by_name("6.1")) == BootFiles("6.1", "6.1.0-57-amd64", image, ())
    monkeypatch.setattr(vm, "find_vm_kernel", lambda: None)
    with pytest.raises(KernelError, match=r"kernel 6.1 is not set up: run `./setup.sh --vm`"):
        kz.boot_files(by_name("6.1"))


@pytest.mark.skipif(shutil.which("depmod") is None, reason="needs kmod's depmod")
def test_an_unpacked_tree_gets_relative_build_and_source_links(tmp_path: Path) -> None:
    """bookworm's packages link build to /usr/src/... (absolute): made relative."""
    tree = tmp_path / "root"
    release = "6.12.95+deb12-amd64"
    moddir = tree / "lib" / "modules" / release
    (moddir / "kernel").mkdir(parents=True)
    (moddir / "build").symlink_to(f"/usr/src/linux-headers-{release}")
    (tree / "boot").mkdir()
    (tree / "boot" / f"vmlinuz-{release}").write_bytes(b"")
    src = tree / "usr" / "src"
    (src / f"linux-headers-{release}" / "include" / "generated").mkdir(parents=True)
    (src / "linux-headers-6.12.95+deb12-common" / "include").mkdir(parents=True)
    found = kz._fix_tree(tree)
    assert found == (release, moddir, tree / "boot" / f"vmlinuz-{release}")
    assert kz.os.readlink(moddir / "build") == f"../../../usr/src/linux-headers-{release}"
    assert (moddir / "source").resolve() == (src / "linux-headers-6.12.95+deb12-common")
    assert (moddir / "modules.dep").is_file()


def test_list_names_every_kernel_and_its_state(
    cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.live import vm

    monkeypatch.setattr(vm, "find_vm_kernel", lambda: Path("/boot/vmlinuz-6.1.0-57-amd64"))
    fake_tree(cache, "6.12", "6.12.95+deb12", "6.12.95+deb12-amd64")
    assert kz.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["6.1", "6.1.0-57-amd64", "prepared:"]
    assert lines[0].endswith("(default)")
    assert lines[1].split()[:2] == ["6.12", "6.12.95+deb12-amd64"]
    assert lines[2].split() == ["7.2", "-", "not", "prepared"]
    assert kz.main(["prepare", "5.4"]) == 2
    assert "the known kernels are" in capsys.readouterr().err
