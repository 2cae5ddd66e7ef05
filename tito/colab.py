"""Colab: the student's course on their Google Drive, and `tito export` / `tito submit` through the kernel.

The setup cell (tito.edition.COLAB_SETUP, the first cell of every student notebook) mounts Drive, clones the
student edition once into MyDrive/tinytorch, installs it, then calls `start()`. In Colab the notebook being
edited lives in the browser: only the kernel process can ask for it (`_message.blocking_request("get_ipynb")`),
and a `!tito ...` subprocess cannot. So `start()` registers `%tito` in the kernel and routes `!tito export NN`
and `!tito submit NN` typed in a cell to it: the open notebook is fetched, checked to be module NN, saved into
the course folder (a differing earlier copy is backed up first), then exported or handed in.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import nbformat

from . import course as course_lib
from . import export as export_lib
from .course import CourseError

ROOT_ENV = "TINYTORCH_COLAB_ROOT"  # Colab's /content; tests simulate Colab in a temporary folder
ROUTED = re.compile(r"^(\s*)!\s*tito\s+((?:export|submit)\b.*?)\s*$")


def in_colab():
    "True in a Colab runtime (its kernel and its `!` shells carry COLAB_RELEASE_TAG)."
    return bool(os.environ.get("COLAB_RELEASE_TAG")) or "google.colab" in sys.modules


def shell_refusal(command, module):
    "What to say when `tito export|submit` runs as a plain process in Colab, where the open notebook is out of reach."
    nn = module or "NN"
    return (f"in Colab, `tito {command}` must run inside the notebook's kernel: the notebook you edit lives in the "
            f"browser, and this process would {command} the copy on disk instead. Run the notebook's first cell "
            f"(the Colab setup) in this session, then type `!tito {command} {nn}` (or `%tito {command} {nn}`) "
            f"in a cell of module {nn}'s notebook.")


# ---------------------------------------------------------------------------------------------- the open notebook

def open_notebook():
    "The notebook open in the browser, as Colab's frontend holds it (cell sources may arrive as lists of lines)."
    from google.colab import _message
    reply = _message.blocking_request("get_ipynb", timeout_sec=60)
    if not reply or "ipynb" not in reply:
        raise CourseError("Colab did not send the open notebook (timeout?): run the cell again")
    return nbformat.reads(json.dumps(reply["ipynb"]), as_version=4)  # rejoins list sources


def module_of(nb, root):
    """The module number (e.g. '01') a notebook belongs to: from its nbgrader grade ids (`NN-name-...`), else from
    its `#| default_exp` line (the package module, as in module.yaml); None if unknown."""
    numbers = {c.metadata.get("nbgrader", {}).get("grade_id", "")[:3] for c in nb.cells}
    numbers = {n[:2] for n in numbers if re.fullmatch(r"\d\d-", n)}
    if not numbers:
        targets = set(re.findall(r"^#\|\s*default_exp\s+(\S+)", "\n".join(c.source for c in nb.cells), re.M))
        numbers = {m.number for m in course_lib.all_modules(root) if m.export_to in targets}
    return numbers.pop() if len(numbers) == 1 else None


def save_open_notebook(root, module, nb):
    """Write the open notebook `nb` as module `module`'s notebook in the course folder; returns (path, backup or None).

    Refuses a notebook of another module. An earlier copy that differs is kept under .tito/backups/ first,
    unless it is still the untouched one the student edition wrote."""
    from .edition import BACKUPS, MANIFEST, _sha
    found = module_of(nb, root)
    if found is None:
        raise CourseError(f"the notebook open in this tab is not a TinyTorch module notebook: open "
                          f"{module.slug}'s notebook (modules/{module.slug}/{module.notebook.name}) and run the command there")
    if found != module.number:
        other = next((m.slug for m in course_lib.all_modules(root) if m.number == found), found)
        raise CourseError(f"the notebook open in this tab is module {other}, not {module.slug}: run "
                          f"`!tito export {found}` here, or open {module.slug}'s notebook to export it")
    text = nbformat.writes(nb) + "\n"
    target = module.notebook
    backup = None
    if target.is_file() and target.read_text() != text:
        rel = target.relative_to(root)
        manifest = Path(root) / MANIFEST
        pristine = json.loads(manifest.read_text()).get("files", {}).get(str(rel)) if manifest.is_file() else None
        if _sha(target.read_bytes()) != pristine:
            stamp, n = datetime.datetime.now().strftime("%Y%m%d-%H%M%S"), 0
            backup = Path(root) / BACKUPS / stamp / rel
            while backup.exists():  # two saves within a second: keep both
                n += 1
                backup = Path(root) / BACKUPS / f"{stamp}-{n}" / rel
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, backup)
    export_lib.write_if_changed(target, text)
    return target, backup


# ---------------------------------------------------------------------------------------------- the kernel route

def _parser():
    p = argparse.ArgumentParser(prog="%tito", add_help=False)
    p.add_argument("command", choices=["export", "submit"])
    p.add_argument("module")
    p.add_argument("--student", default=None)
    return p


def run(line, root=None):
    """`%tito export NN` / `%tito submit NN [--student ID]`: act on the notebook open in the browser.
    Any other `%tito ...` runs the tito command line as `!tito ...` would."""
    words = shlex.split(line)
    if not words or words[0] not in ("export", "submit"):
        from IPython import get_ipython
        get_ipython().system("tito " + line)
        return None
    try:
        args = _parser().parse_args(words)
    except SystemExit:
        raise CourseError(f"usage: %tito export NN   or   %tito submit NN [--student ID]   (got `%tito {line}`)")
    root = Path(root or course_lib.find_root())
    module = course_lib.select(root, args.module)[0]
    path, backup = save_open_notebook(root, module, open_notebook())
    shown = path.relative_to(root)
    print(f"saved the open notebook as {shown}" + (f" (the previous copy is in {backup.relative_to(root)})" if backup else ""))
    if args.command == "export":
        export_lib.export_module(root, module)
        target = module.package_file(root)
        print(f"exported {module.slug} -> {target.relative_to(root) if target else 'tinytorch'}; "
              f"now `!tito test {module.number}`")
        return target
    from . import submission
    student = submission.student_id(root, args.student, ask=_ask_student)
    made = submission.make(root, module, student)
    from google.colab import files
    files.download(str(made))
    print(f"downloaded {made.name} (also kept in {made.relative_to(root)}): hand this file in where your "
          "instructor asked (e.g. upload it to the course page)")
    return made


def _ask_student():
    "The student id typed in the cell's input box (Colab has one); None where the frontend offers no input."
    from IPython.core.error import StdinNotImplementedError
    try:
        return input("Your student id (remembered for later submissions): ").strip()
    except (StdinNotImplementedError, EOFError):
        return None


def _tito_magic(line):
    from IPython.core.error import UsageError
    try:
        run(line)
    except CourseError as err:
        raise UsageError(str(err)) from None


def route_tito_lines(lines):
    "IPython input transformer: `!tito export NN` and `!tito submit NN ...` become `%tito ...` (run in the kernel)."
    out = []
    for line in lines:
        m = ROUTED.match(line.rstrip("\n"))
        out.append(f"{m.group(1)}get_ipython().run_line_magic('tito', {m.group(2)!r})\n" if m else line)
    return out


def register(ip):
    "Add `%tito` and the `!tito export|submit` route to the IPython shell `ip` (idempotent)."
    ip.register_magic_function(_tito_magic, "line", "tito")
    if route_tito_lines not in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.append(route_tito_lines)


def earlier_work(root):
    "Modules whose notebook in the course folder is the student's (saved by an earlier export or submit)."
    from .edition import MANIFEST, _sha
    manifest = Path(root) / MANIFEST
    files = json.loads(manifest.read_text()).get("files", {}) if manifest.is_file() else {}
    return [m.slug for m in course_lib.all_modules(root)
            if m.notebook.is_file() and _sha(m.notebook.read_bytes()) != files.get(str(m.notebook.relative_to(root)))]


def start(course, on_drive):
    "The setup cell's last step: work in the course folder, register the kernel route, say where work is kept."
    from IPython import get_ipython
    root = Path(course)
    os.chdir(root)
    ip = get_ipython()
    if ip is not None:
        register(ip)
    if on_drive:
        done = earlier_work(root)
        print(f"Your course is on your Google Drive ({root}); it is kept between sessions."
              + (f" Your earlier work: {', '.join(done)}." if done else ""))
    else:
        print(f"WARNING: Google Drive is not mounted: your course is in {root} on this Colab machine, and ALL YOUR "
              "WORK IS LOST WHEN THIS SESSION ENDS. To keep it, run this cell again and allow access to Google Drive.")
    print("When a module's tests pass in this notebook: `!tito export NN` (puts your code into your tinytorch "
          "package; later modules import it), `!tito test NN`, and `!tito submit NN --student YOUR_ID` to hand it in.")
