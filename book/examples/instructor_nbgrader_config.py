# nbgrader settings of an instructor's own server (book/jupyterhub.md): install as
# ~/.jupyter/nbgrader_config.py in the instructor's home before their server starts (then restart it after edits).
# nbgrader's formgrader (where the reflection questions are graded by hand) then works on the course folder
# that `tito nbgrader init --course-dir ~/course` creates, with the settings tito wrote there.
import os

c = get_config()  # noqa: F821 (provided by traitlets)
c.CourseDirectory.root = os.path.expanduser("~/course")
load_subconfig(os.path.join(c.CourseDirectory.root, "nbgrader_config.py"))  # noqa: F821 (skipped until it exists)
