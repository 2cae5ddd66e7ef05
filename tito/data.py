"""`tito data`: download the course datasets from their canonical locations, verify them, show what is there.

    tito data fetch mnist|cifar10|shakespeare [--force] [--root DIR]
    tito data status [--root DIR]

Files go to the data folder: `--root`, else `$TINYTORCH_DATA`, else `~/.cache/tinytorch` (the rule of
`tinytorch.core.dataloader.data_dir`, repeated here because tito must not import the student's package).
Every file is checked against a published digest before it is used; nothing is ever invented.
The plain functions (`fetch`, `status`, `check_file`) are what the commands call and what the tests use.
"""
import gzip
import hashlib
import http.client
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_support import make_console


class DataFetchError(Exception):
    "A download or check failed; the message says what failed and how to fix it."


@dataclass(frozen=True)
class Check:
    "A file under the data folder and the digest its content must have."
    path: str                # relative to the data folder
    algo: str                # "sha256" or "md5"
    digest: str
    gunzip: bool = False     # the digest is of the uncompressed content (a .gz file's own bytes vary with the compressor)


@dataclass(frozen=True)
class Download:
    "One file to download, mirrors tried in order, checked before it is kept."
    urls: tuple
    check: Check             # where it lands and the digest the downloaded bytes must have
    unpack: bool = False     # a tarball: extract it into the data folder, then delete it


@dataclass(frozen=True)
class Spec:
    "A dataset: what to download and which installed files the loaders read (with their digests)."
    name: str
    about: str
    size: str
    downloads: tuple
    installed: tuple


MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",          # the mirror torchvision uses
                 "https://storage.googleapis.com/cvdf-datasets/mnist/",     # the mirror TensorFlow uses
                 "http://yann.lecun.com/exdb/mnist/")                       # the original page
# Published MD5s of the uncompressed IDX files (the .gz bytes differ between mirrors' compressors).
MNIST_MD5 = {"train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
             "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
             "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
             "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637"}
MNIST_CHECKS = tuple(Check(f"mnist/{name}.gz", "md5", md5, gunzip=True) for name, md5 in MNIST_MD5.items())

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_TAR_MD5 = "c58f30108f718f92721af3b95e74349a"      # published on the CIFAR page
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_MD5 = {"data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
               "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
               "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
               "batches.meta": "5ff9c542aee3614f3951f8cda6e48888"}  # of the files inside the tarball

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

DATASETS = {
    "mnist": Spec("mnist", "MNIST handwritten digits, 4 IDX files", "11 MB",
                  tuple(Download(tuple(m + Path(c.path).name for m in MNIST_MIRRORS), c) for c in MNIST_CHECKS),
                  MNIST_CHECKS),
    "cifar10": Spec("cifar10", "CIFAR-10 python batches (tarball unpacked, then deleted)", "163 MB",
                    (Download((CIFAR10_URL,), Check("cifar-10-python.tar.gz", "md5", CIFAR10_TAR_MD5), unpack=True),),
                    tuple(Check(f"{CIFAR10_DIR}/{name}", "md5", md5) for name, md5 in CIFAR10_MD5.items())),
    "shakespeare": Spec("shakespeare", "tiny-shakespeare, one text file", "1.1 MB",
                        (Download((SHAKESPEARE_URL,), Check("tinyshakespeare/input.txt", "sha256", SHAKESPEARE_SHA256)),),
                        (Check("tinyshakespeare/input.txt", "sha256", SHAKESPEARE_SHA256),)),
}

CHUNK = 1 << 20


def data_root(root=None):
    "The data folder: `root`, else $TINYTORCH_DATA, else ~/.cache/tinytorch."
    return Path(root or os.environ.get("TINYTORCH_DATA") or Path.home() / ".cache" / "tinytorch").expanduser()


def file_digest(path, algo, gunzip=False):
    "Hex digest of a file's bytes (of its uncompressed content with `gunzip`)."
    h = hashlib.new(algo)
    with (gzip.open if gunzip else open)(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def check_file(path, check):
    "('ok' | 'missing' | 'damaged' | 'mismatch', detail) for the file at `path` against `check`."
    path = Path(path)
    if not path.is_file():
        return "missing", f"{path} does not exist"
    try:
        got = file_digest(path, check.algo, check.gunzip)
    except (OSError, EOFError) as err:  # e.g. a cut-off or non-gzip .gz file
        return "damaged", f"{path} cannot be read: {err}"
    what = f"{check.algo} of its {'uncompressed ' if check.gunzip else ''}content"
    if got != check.digest:
        return "mismatch", f"{path}: {what} is {got}, the published file's is {check.digest}"
    return "ok", f"{what} matches the published {check.digest}"


def default_opener(url):
    "Open `url` for reading (http, https or file), with a timeout."
    req = urllib.request.Request(url, headers={"User-Agent": "tinytorch-tito"})
    return urllib.request.urlopen(req, timeout=60)


def _copy(response, out, log, label):
    "Stream a response into a file, reporting progress every 10% when the size is known."
    total = int((getattr(response, "headers", None) or {}).get("Content-Length") or 0)
    done, shown = 0, 0
    while block := response.read(CHUNK):
        out.write(block)
        done += len(block)
        if total and done * 10 // total > shown:
            shown = done * 10 // total
            log(f"  {label}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
    return done


def download_verified(download, dest, opener=None, log=print):
    "Download `download` to `dest` from the first mirror whose bytes match the digest; DataFetchError if none do."
    dest, opener = Path(dest), opener or default_opener
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = []
    for url in download.urls:
        log(f"downloading {url}")
        try:
            with opener(url) as response, open(part, "wb") as out:
                _copy(response, out, log, dest.name)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:  # incl. timeouts, cut-off reads
            part.unlink(missing_ok=True)
            failures.append(f"{url}: {getattr(err, 'reason', None) or err}")
            continue
        state, detail = check_file(part, download.check)
        if state != "ok":
            part.unlink(missing_ok=True)
            failures.append(f"{url}: downloaded, but {detail.replace(str(part), 'the download')}")
            continue
        os.replace(part, dest)
        log(f"  verified {dest} ({detail})")
        return dest
    raise DataFetchError(
        f"could not get a verified copy of {dest.name}:\n  " + "\n  ".join(failures) +
        f"\nFix: check your internet connection (and proxy settings such as HTTPS_PROXY), then run the command "
        f"again; or download {download.urls[0]} yourself and save it as {dest}: `tito data fetch` checks a file "
        "already in place instead of downloading it.")


def unpack_tarball(tar_path, root, prefix):
    "Extract the members of `tar_path` under `prefix/` into `root` (nothing outside it, no links)."
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            members = [m for m in tar.getmembers()
                       if (m.isfile() or m.isdir()) and m.name.startswith(prefix + "/") and ".." not in Path(m.name).parts]
            if not members:
                raise DataFetchError(f"{tar_path} holds no {prefix}/ folder: it is not the expected archive; delete it "
                                     "and fetch again")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, members=members, filter="data")
            else:  # Python without extraction filters: the member list above is already restricted
                tar.extractall(root, members=members)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataFetchError(f"{tar_path} could not be unpacked ({err}): delete it and run the command again") from None


def fetch(name, root=None, force=False, opener=None, log=print, specs=None):
    "Download dataset `name` into the data folder and verify every file; returns the installed paths."
    specs = DATASETS if specs is None else specs
    if name not in specs:
        raise DataFetchError(f"unknown dataset {name!r}; choose one of: {', '.join(specs)}")
    spec, root = specs[name], data_root(root)
    root.mkdir(parents=True, exist_ok=True)
    installed = [root / c.path for c in spec.installed]
    if not force and all(check_file(p, c)[0] == "ok" for p, c in zip(installed, spec.installed)):
        log(f"{name}: already in {root} and verified; nothing to do (use --force to download again)")
        return installed
    log(f"{name}: {spec.about}, about {spec.size}, into {root}")
    for download in spec.downloads:
        dest = root / download.check.path
        if not force and check_file(dest, download.check)[0] == "ok":
            log(f"  {dest} is already here and verified")
        else:
            download_verified(download, dest, opener, log)
        if download.unpack:
            prefix = Path(spec.installed[0].path).parts[0]
            log(f"  unpacking {dest.name} into {root / prefix}")
            unpack_tarball(dest, root, prefix)
            dest.unlink()
    problems = [detail for p, c in zip(installed, spec.installed) for state, detail in [check_file(p, c)] if state != "ok"]
    if problems:
        raise DataFetchError(f"{name}: after fetching, these files still do not verify:\n  " +
                             "\n  ".join(problems) + f"\nFix: run `tito data fetch {name} --force`.")
    log(f"{name}: done, {len(installed)} files verified in {root}")
    return installed


def status(root=None, specs=None):
    "One row per installed file of every dataset: dataset, path, state ('ok', 'missing', 'damaged', 'mismatch'), detail."
    specs, root = DATASETS if specs is None else specs, data_root(root)
    return [{"dataset": name, "path": root / c.path, "state": state, "detail": detail}
            for name, spec in specs.items() for c in spec.installed for state, detail in [check_file(root / c.path, c)]]


# ---- the commands ---------------------------------------------------------------------------------

data_app = typer.Typer(help="Datasets: download and verify them, and see what is in the data folder.",
                       no_args_is_help=True, add_completion=False)
console = make_console(soft_wrap=True)  # long URLs and paths stay whole, for copying
ROOT_OPTION = typer.Option(None, "--root", help="data folder (default: $TINYTORCH_DATA, else ~/.cache/tinytorch)")


@data_app.command("fetch")
def fetch_command(name: str = typer.Argument(..., help=f"one of: {', '.join(DATASETS)}"),
                  force: bool = typer.Option(False, "--force", help="download again even if the files verify"),
                  root: Optional[Path] = ROOT_OPTION):
    "Download a dataset from its canonical location into the data folder and verify its checksums."
    if name not in DATASETS:
        console.print(f"[red]error:[/red] unknown dataset {escape(repr(name))}; choose one of: {', '.join(DATASETS)}")
        raise typer.Exit(2)
    try:
        fetch(name, root, force=force, log=lambda msg: console.print(escape(msg)))
    except DataFetchError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(1)


@data_app.command("status")
def status_command(root: Optional[Path] = ROOT_OPTION):
    "Show which dataset files are in the data folder and whether they match the published checksums."
    folder = data_root(root)
    source = "--root" if root else "$TINYTORCH_DATA" if os.environ.get("TINYTORCH_DATA") else "default"
    console.print(f"data folder: {escape(str(folder))} ({source})")
    rows = status(root)
    colour = {"ok": "green", "missing": "yellow"}
    table = Table()
    for col in ("dataset", "file", "state", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        shown = r["path"].relative_to(folder) if r["path"].is_relative_to(folder) else r["path"]
        detail = {"ok": "", "missing": "", "mismatch": "checksum: not the published bytes"}.get(
            r["state"], r["detail"].replace(str(r["path"]), "").strip(" :"))
        table.add_row(r["dataset"], escape(str(shown)), f"[{colour.get(r['state'], 'red')}]{r['state']}[/]", escape(detail))
    console.print(table)
    for name in DATASETS:
        states = {r["state"] for r in rows if r["dataset"] == name}
        if states == {"missing"}:
            console.print(f"{name}: not fetched; run `tito data fetch {name}`")
        elif states != {"ok"}:
            console.print(f"{name}: [red]some files are missing, damaged, or not the published bytes[/red] (a "
                          f"re-encoded copy differs too); run `tito data fetch {name} --force` to replace them")
