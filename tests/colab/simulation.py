"""A simulated Colab machine for the student's journey (tests/colab/test_journey.py).

- `content`: Colab's /content (TINYTORCH_COLAB_ROOT), wiped between sessions except the Drive mount point.
- A Python of its own in content/python (a venv; each new session makes it again, as a recycled Colab VM has a
  fresh Python). It sees this environment's packages (numpy, nbdev, ...) through a .pth file, as Colab's Python
  has its preinstalled packages, but not this checkout's tinytorch: the setup cell's `pip install -e` puts the
  student's course there.
- The Drive: a folder outside `content` that survives every session (standin.py maps MyDrive to it).
- The course's repository URL from settings.ini is rewritten by git (url.insteadOf, in a git config of the
  machine's own) to a local bare remote that `tito publish` filled: the setup cell runs unchanged.
- `ColabSession`: one kernel of that Python (with the stand-in google.colab loaded, as Colab's kernel has it)
  running cells one at a time, as a student does.
"""
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from colab import standin

PY = f"python{sys.version_info.major}.{sys.version_info.minor}"


class ColabMachine:
    "The simulated Colab VM and the student's Drive, under `base`."

    def __init__(self, base, repository, remote):
        self.base = Path(base)
        self.content = self.base / "content"
        self.drive = self.base / "google-drive"          # what drive.mount shows as content/drive
        self.course = self.content / "drive" / "MyDrive" / "tinytorch"
        self.downloads = self.base / "browser-downloads"
        self.open_path = self.base / "open-notebook.json"
        self.python = self.content / "python" / "bin" / "python"
        standin.write(self.base / "standin")
        (self.drive / "MyDrive").mkdir(parents=True)
        (self.base / "gitconfig").write_text(f'[url "file://{remote}"]\n\tinsteadOf = {repository}\n')

    def new_session(self, decline_drive=False):
        """A recycled VM: an empty content folder (the Drive stays), a fresh Python, a kernelspec for it;
        with `decline_drive` the student refuses Drive access when the setup cell asks."""
        if self.content.exists():
            shutil.rmtree(self.content)
        self.content.mkdir()
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.content / "python")], check=True)
        # this environment's packages, seen as Colab's preinstalled ones (not processed as a site dir: its
        # editable tinytorch stays invisible)
        pth = self.content / "python" / "lib" / PY / "site-packages" / "preinstalled.pth"
        pth.write_text("\n".join(site.getsitepackages()) + "\n")
        kernels = self.base / "jupyter" / "kernels" / "colab-sim"
        kernels.mkdir(parents=True, exist_ok=True)
        outer_bin = str(Path(sys.executable).parent)
        path = [str(self.python.parent)] + [p for p in os.environ["PATH"].split(os.pathsep) if p != outer_bin]
        (kernels / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "simulated Colab", "language": "python",
            "env": {"TINYTORCH_COLAB_ROOT": str(self.content), "COLAB_RELEASE_TAG": "simulated",
                    "PYTHONPATH": str(self.base / "standin"), "PATH": os.pathsep.join(path), "VIRTUAL_ENV": "",
                    "STANDIN_DRIVE": str(self.drive), "STANDIN_OPEN_NOTEBOOK": str(self.open_path),
                    "STANDIN_DOWNLOADS": str(self.downloads), "GIT_CONFIG_GLOBAL": str(self.base / "gitconfig"),
                    # Colab's Python has setuptools: building the editable install in an isolated environment
                    # would only fetch it again (10 s a session here)
                    "PIP_NO_INPUT": "1", "PIP_NO_BUILD_ISOLATION": "1", "MPLBACKEND": "Agg",
                    **({"STANDIN_DECLINE_DRIVE": "1"} if decline_drive else {})}}))
        return ColabSession(self)

    def open(self, nb):
        "The notebook the browser shows, as Colab's frontend sends it: sources as lists of lines, Colab metadata."
        d = json.loads(nbformat.writes(nb))  # nbformat writes sources as lists of lines too
        d["nbformat_minor"] = 0
        d["metadata"]["colab"] = {"provenance": []}
        for cell in d["cells"]:
            cell["metadata"]["id"] = cell.pop("id", "")
            assert isinstance(cell["source"], list) or cell["source"] == ""
        self.open_path.write_text(json.dumps(d))


class ColabSession:
    "One kernel of the machine's Python, running cells one at a time in content/ (Colab's working folder)."

    def __init__(self, machine):
        self.machine = machine
        self.nb = nbformat.v4.new_notebook()
        specs = KernelSpecManager(kernel_dirs=[str(machine.base / "jupyter" / "kernels")])
        km = AsyncKernelManager(kernel_name="colab-sim", kernel_spec_manager=specs)
        self.client = NotebookClient(self.nb, km=km, kernel_name="colab-sim", timeout=600,
                                     resources={"metadata": {"path": str(machine.content)}})

    def __enter__(self):
        self._kernel = self.client.setup_kernel()
        self._kernel.__enter__()
        self.run("import google.colab  # Colab's kernel starts with it loaded")
        return self

    def __exit__(self, *exc):
        return self._kernel.__exit__(*exc)

    def run(self, source, fails=False):
        "Run one cell; its printed text (and error). A failing cell raises unless `fails` (then it must fail)."
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        try:
            self.client.execute_cell(cell, len(self.nb.cells) - 1)
            error = None
        except CellExecutionError as err:
            if not fails:
                raise
            error = f"{err.ename}: {err.evalue}"
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if fails:
            assert error, f"expected this cell to fail:\n{source}\noutput:\n{text}"
            return text + error
        return text
