# nbgrader settings for every user's server on the course hub (book/jupyterhub.md):
# install as /etc/jupyter/nbgrader_config.py (any folder on the servers' Jupyter config path).
# The instructor's course folder has its own nbgrader_config.py, written by `tito nbgrader init`.
import os

c = get_config()  # noqa: F821 (provided by traitlets)

c.CourseDirectory.course_id = os.environ.get("TINYTORCH_COURSE_ID", "tinytorch")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Name each submission after the hub user. nbgrader otherwise takes the Unix user name (it uses the hub user
# only when that name is `jovyan`), so students could not be told apart where all servers share an account.
# Only for students: an instructor's student_id must stay "*" (collect and autograde use it as a pattern).
if os.environ.get("TINYTORCH_COURSE_ROLE") == "student" and os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
