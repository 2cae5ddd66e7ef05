"""A stand-in for the parts of `google.colab` the course uses, written into a folder put on a kernel's PYTHONPATH.

What it imitates (TOOLCHAIN_NOTES.md, "Colab"):
- `drive.mount(path)` makes `path/MyDrive` the student's Drive: a folder that outlives every session
  ($STANDIN_DRIVE). With $STANDIN_DECLINE_DRIVE set it raises, as when the student refuses access.
- `_message.blocking_request("get_ipynb")` answers with the notebook open in the browser, as Colab's frontend
  sends it (cell sources as lists of lines): the JSON the test last wrote to $STANDIN_OPEN_NOTEBOOK.
- `files.download(path)` copies the file into the browser's downloads folder ($STANDIN_DOWNLOADS).
"""
from pathlib import Path

FILES = {
    "google/__init__.py": "",
    "google/colab/__init__.py": "from . import _message, drive, files  # noqa: F401\n",
    "google/colab/drive.py": '''
import os


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    if os.environ.get("STANDIN_DECLINE_DRIVE"):
        raise ValueError("mount failed: the user did not allow access to Google Drive")
    if not os.path.islink(mountpoint):
        os.makedirs(os.path.dirname(mountpoint), exist_ok=True)
        os.symlink(os.environ["STANDIN_DRIVE"], mountpoint)
    print("Mounted at", mountpoint)
''',
    "google/colab/_message.py": '''
import json
import os


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    if request_type != "get_ipynb":
        raise NotImplementedError(f"the stand-in answers get_ipynb only, not {request_type}")
    with open(os.environ["STANDIN_OPEN_NOTEBOOK"]) as fh:
        return {"ipynb": json.load(fh)}
''',
    "google/colab/files.py": '''
import os
import shutil


def download(filename):
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"Cannot find file: {filename}")
    os.makedirs(os.environ["STANDIN_DOWNLOADS"], exist_ok=True)
    shutil.copy2(filename, os.environ["STANDIN_DOWNLOADS"])
''',
}


def write(folder):
    "Write the stand-in package under `folder` (to be put on PYTHONPATH); returns `folder`."
    folder = Path(folder)
    for rel, text in FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text.lstrip("\n"))
    return folder
