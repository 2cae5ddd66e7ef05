"""`tito data`: downloads checked against digests, mirrors, unpacking, status, the commands.
No network: file:// URLs and fake openers."""
import gzip
import hashlib
import io
import os
import tarfile
import urllib.error
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tito import data
from tito.cli import app
from tito.data import Check, DataFetchError, Download, Spec, check_file, fetch, status


def md5(b): return hashlib.md5(b).hexdigest()
def sha256(b): return hashlib.sha256(b).hexdigest()


class Opener:
    "Serves bytes per URL from a dict (an Exception value is raised instead) and records the URLs asked for."
    def __init__(self, table): self.table, self.asked = table, []
    def __call__(self, url):
        self.asked.append(url)
        value = self.table[url]
        if isinstance(value, Exception):
            raise value
        return io.BytesIO(value)


def text_spec(payload, urls):
    c = Check("text/input.txt", "sha256", sha256(payload))
    return {"text": Spec("text", "a text file", "1 KB", (Download(tuple(urls), c),), (c,))}


def test_registry_is_canonical():
    assert set(data.DATASETS) == {"mnist", "cifar10", "shakespeare"}
    for spec in data.DATASETS.values():
        for d in spec.downloads:
            assert all(u.startswith(("https://", "http://")) for u in d.urls)
        for c in spec.installed + tuple(d.check for d in spec.downloads):
            assert len(c.digest) == {"md5": 32, "sha256": 64}[c.algo] and int(c.digest, 16) >= 0
    mnist = data.DATASETS["mnist"]
    assert all(c.gunzip and c.path.endswith(".gz") for c in mnist.installed)
    cifar = data.DATASETS["cifar10"].downloads[0]
    assert cifar.unpack and cifar.check.digest == "c58f30108f718f92721af3b95e74349a"
    assert cifar.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)


def test_fetch_from_a_file_url_then_skips(tmp_path):
    payload = b"To be, or not to be\n" * 10
    src = tmp_path / "src.txt"
    src.write_bytes(payload)
    specs = text_spec(payload, [src.as_uri()])
    root = tmp_path / "data"
    paths = fetch("text", root, specs=specs, log=lambda m: None)  # the real urllib opener, on a file:// URL
    assert paths == [root / "text" / "input.txt"] and paths[0].read_bytes() == payload
    opener = Opener({})
    fetch("text", root, specs=specs, opener=opener, log=lambda m: None)
    assert opener.asked == [], "a verified file is not downloaded again"
    fetch("text", root, specs=specs, opener=Opener({src.as_uri(): payload}), force=True, log=lambda m: None)
    assert not list(root.rglob("*.part"))


def test_bad_mirror_falls_through_to_a_good_one(tmp_path):
    payload = b"genuine bytes"
    opener = Opener({"https://a/f": b"tampered bytes", "https://b/f": payload})
    logs = []
    fetch("text", tmp_path, specs=text_spec(payload, ["https://a/f", "https://b/f"]), opener=opener, log=logs.append)
    assert opener.asked == ["https://a/f", "https://b/f"]
    assert (tmp_path / "text" / "input.txt").read_bytes() == payload


def test_every_mirror_wrong_leaves_nothing_and_says_why(tmp_path):
    payload = b"genuine bytes"
    opener = Opener({"https://a/f": b"tampered", "https://b/f": urllib.error.URLError("Name or service not known")})
    with pytest.raises(DataFetchError) as err:
        fetch("text", tmp_path, specs=text_spec(payload, ["https://a/f", "https://b/f"]), opener=opener, log=lambda m: None)
    msg = str(err.value)
    assert "https://a/f" in msg and sha256(b"tampered") in msg and sha256(payload) in msg
    assert "https://b/f" in msg and "Name or service not known" in msg
    assert "internet connection" in msg and str(tmp_path / "text" / "input.txt") in msg
    assert not (tmp_path / "text" / "input.txt").exists() and not list(tmp_path.rglob("*.part"))


def test_a_file_placed_by_hand_is_verified_not_downloaded(tmp_path):
    payload = b"downloaded with a browser"
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "input.txt").write_bytes(payload)
    opener = Opener({"https://a/f": urllib.error.URLError("offline")})
    fetch("text", tmp_path, specs=text_spec(payload, ["https://a/f"]), opener=opener, log=lambda m: None)
    assert opener.asked == []


def test_gunzip_checks_the_uncompressed_content(tmp_path):
    raw = bytes(range(256)) * 4
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    a.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    b.write_bytes(gzip.compress(raw, compresslevel=9, mtime=12345))
    assert a.read_bytes() != b.read_bytes()
    check = Check("x.gz", "md5", md5(raw), gunzip=True)
    assert check_file(a, check)[0] == check_file(b, check)[0] == "ok"
    (tmp_path / "c.gz").write_bytes(a.read_bytes()[:-12])
    assert check_file(tmp_path / "c.gz", check)[0] == "damaged"
    assert check_file(tmp_path / "nothere.gz", check)[0] == "missing"
    b.write_bytes(gzip.compress(raw[:-1]))
    state, detail = check_file(b, check)
    assert state == "mismatch" and md5(raw) in detail


def make_tarball(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def tar_spec(tar_bytes, files):
    installed = tuple(Check(f"pack/{n}", "md5", md5(c)) for n, c in files.items())
    return {"pack": Spec("pack", "a tarball", "1 KB",
                         (Download(("https://x/pack.tar.gz",), Check("pack.tar.gz", "md5", md5(tar_bytes)), unpack=True),),
                         installed)}


def test_tarball_is_verified_unpacked_and_removed(tmp_path):
    files = {"data_batch_1": b"one" * 100, "test_batch": b"two" * 50}
    tar_bytes = make_tarball({f"pack/{n}": c for n, c in files.items()} | {"../evil": b"x", "other/file": b"y"})
    root = tmp_path / "data"
    fetch("pack", root, specs=tar_spec(tar_bytes, files), opener=Opener({"https://x/pack.tar.gz": tar_bytes}),
          log=lambda m: None)
    assert (root / "pack" / "data_batch_1").read_bytes() == files["data_batch_1"]
    assert not (root / "pack.tar.gz").exists(), "the tarball is deleted once unpacked"
    assert not (tmp_path / "evil").exists() and not (root / "other").exists(), "only the dataset's folder is extracted"


def test_unpacked_files_that_do_not_verify_fail(tmp_path):
    files = {"data_batch_1": b"one"}
    tar_bytes = make_tarball({"pack/data_batch_1": b"not one"})
    with pytest.raises(DataFetchError, match="--force"):
        fetch("pack", tmp_path, specs=tar_spec(tar_bytes, files), opener=Opener({"https://x/pack.tar.gz": tar_bytes}),
              log=lambda m: None)


def test_unknown_dataset():
    with pytest.raises(DataFetchError, match="mnist, cifar10, shakespeare"):
        fetch("imagenet")


def test_status_rows(tmp_path):
    payload = b"hello"
    specs = text_spec(payload, ["https://a/f"])
    assert [r["state"] for r in status(tmp_path, specs)] == ["missing"]
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "input.txt").write_bytes(b"hellO")
    assert status(tmp_path, specs)[0]["state"] == "mismatch"
    (tmp_path / "text" / "input.txt").write_bytes(payload)
    row = status(tmp_path, specs)[0]
    assert row["state"] == "ok" and row["dataset"] == "text" and row["path"] == tmp_path / "text" / "input.txt"


def test_commands(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 0, result.output
    assert str(tmp_path) in result.output and "tito data fetch mnist" in result.output
    assert "tito data fetch cifar10" in result.output and "missing" in result.output
    result = runner.invoke(app, ["data", "fetch", "imagenet"])
    assert result.exit_code == 2 and "mnist" in result.output
    def offline(url):
        raise urllib.error.URLError("no network in tests")
    monkeypatch.setattr(data, "default_opener", offline)
    result = runner.invoke(app, ["data", "fetch", "shakespeare", "--root", str(tmp_path / "x")])
    assert result.exit_code == 1, result.output
    assert "no network in tests" in result.output and "input.txt" in result.output


def test_real_files_verify_through_the_published_digests(tmp_path):
    "With $TINYTORCH_DATA holding MNIST and tiny-shakespeare, fetching from it (file:// mirrors) passes every check."
    real = os.environ.get("TINYTORCH_DATA")
    if not real:
        pytest.skip("TINYTORCH_DATA is not set: point it at a data folder with mnist/ and tinyshakespeare/ "
                    "(`tito data fetch mnist`, `tito data fetch shakespeare`) to verify the real files against the published digests")
    real = Path(real)
    def local(url):  # every canonical URL answered from the local copy of the same file
        name = url.rsplit("/", 1)[1]
        folder = "mnist" if "mnist" in url else "tinyshakespeare"
        return (real / folder / name).open("rb")
    for name in ("mnist", "shakespeare"):
        paths = fetch(name, tmp_path, opener=local, log=lambda m: None)
        assert all(p.is_file() for p in paths)
    assert {r["state"] for r in status(tmp_path) if r["dataset"] in ("mnist", "shakespeare")} == {"ok"}
