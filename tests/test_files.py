"""write_atomic: whole files or none, over regular files only, errors naming the target."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from tinygrad_mlp.files import TMP_SUFFIX, not_a_regular_file, write_atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks of POSIX")


def names(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_writes_bytes_and_text_and_replaces_whole(tmp_path):
    path = tmp_path / "f.txt"
    write_atomic(path, "héllo\n")
    assert path.read_bytes() == "héllo\n".encode()
    write_atomic(str(path), b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert names(tmp_path) == ["f.txt"]  # no temporary left


@posix_only
def test_an_existing_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path):
    path = tmp_path / "f"
    write_atomic(path, b"a")
    for mode in (0o600, 0o640, 0o444):
        os.chmod(path, mode)
        write_atomic(path, b"b")
        assert stat.S_IMODE(path.stat().st_mode) == mode
    mask = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640


@posix_only
def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "page.html"
    target.write_text("old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.html"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert names(tmp_path / "real") == ["page.html"] and names(tmp_path) == ["link.html", "real"]
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "real" / "made.txt")
    write_atomic(dangling, "made")  # the link's target is created
    assert dangling.is_symlink() and (tmp_path / "real" / "made.txt").read_text() == "made"


@posix_only
@pytest.mark.parametrize("through_link", [False, True], ids=["fifo", "symlink to a fifo"])
def test_a_fifo_is_refused_and_left_alone(tmp_path, through_link):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = fifo
    if through_link:
        path = tmp_path / "link"
        path.symlink_to(fifo)
    assert not_a_regular_file(path) == "a FIFO (named pipe)"
    with pytest.raises(FileExistsError, match="FIFO.*not a regular file: refusing") as info:
        write_atomic(path, b"data")
    assert info.value.filename == str(path) and info.value.errno == errno.EEXIST
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO
    assert TMP_SUFFIX not in str(info.value) and not any(TMP_SUFFIX in n for n in names(tmp_path))


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory, not a regular file"):
        write_atomic(tmp_path / "d", "x")
    assert names(tmp_path / "d") == [] and names(tmp_path) == ["d"]


def test_errors_name_the_target_never_the_temporary(tmp_path, monkeypatch):
    missing = tmp_path / "no" / "such" / "folder" / "f.bin"
    with pytest.raises(FileNotFoundError) as info:
        write_atomic(missing, b"x")
    assert info.value.filename == str(missing) and TMP_SUFFIX not in str(info.value)

    path = tmp_path / "f.bin"
    path.write_bytes(b"before")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left on device") as info:
        write_atomic(path, b"after")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert TMP_SUFFIX not in str(info.value)
    monkeypatch.undo()
    assert path.read_bytes() == b"before" and names(tmp_path) == ["f.bin"]


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    write_atomic(path, b"before")

    def interrupted(fd):
        assert len(names(tmp_path)) == 2, "called while the temporary exists"
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"after")
    monkeypatch.undo()
    assert path.read_bytes() == b"before" and names(tmp_path) == ["f.bin"]
