# JupyterHub for a TinyTorch class on one machine: the worked configuration of the instructor guide
# (book/jupyterhub.md). Start it as root:  jupyterhub -f /srv/jupyterhub/jupyterhub_config.py
# Every path and name below has a production default and an environment variable to override it
# (tests/hub/test_jupyterhub.py loads this file that way, then swaps in loopback ports and a dummy login).
import os

c = get_config()  # noqa: F821 (provided by traitlets)


def setting(name, default):
    return os.environ.get(name, default)


COURSE = setting("TINYTORCH_COURSE_ID", "tinytorch")                 # nbgrader's course_id
INSTRUCTORS = [u for u in setting("TINYTORCH_INSTRUCTORS", "instructor").split(",") if u]
STUDENTS = [u for u in setting("TINYTORCH_STUDENTS", "").split(",") if u]  # or add them later (admin page, API)
STATE = setting("TINYTORCH_HUB_STATE", "/srv/jupyterhub")             # the hub's database and cookie secret
EXCHANGE = setting("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")      # shared by every server (mode 1777)
# Two Python environments (see "The course kernel and package" in the guide):
GRADER_ENV = setting("TINYTORCH_GRADER_ENV", "/opt/tinytorch-grader")    # the reference course: instructors
STUDENT_ENV = setting("TINYTORCH_STUDENT_ENV", "/opt/tinytorch-student")  # no solutions in it: students

# ---------------------------------------------------------------------------------------------- the hub
c.JupyterHub.bind_url = setting("TINYTORCH_HUB_URL", "http://:8000")  # put TLS in front (a reverse proxy)
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = f"{STATE}/jupyterhub-proxy.pid"

# ---------------------------------------------------------------------------------------------- who
c.JupyterHub.authenticator_class = "pam"  # local Unix accounts; or your campus login (OAuthenticator, LTI)
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
# nbgrader's naming convention for groups: formgrade-COURSE (instructors, graders), nbgrader-COURSE (students).
# The roles below follow from these groups, and nbgrader's multi-course setup reads the same groups.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE}": {"users": STUDENTS},
}


def is_instructor(spawner):
    return any(g.name == f"formgrade-{COURSE}" for g in spawner.user.groups)


# ---------------------------------------------------------------------------------------------- spawner
# LocalProcessSpawner (the default) runs each user's server as that Unix user. It does not enforce the
# limits below (it only exports them as MEM_LIMIT / CPU_LIMIT): SystemdSpawner and KubeSpawner do.
c.JupyterHub.spawner_class = "default"
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = setting("TINYTORCH_MEM_LIMIT", "2G")
c.Spawner.cpu_limit = float(setting("TINYTORCH_CPU_LIMIT", "1"))
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60


def pre_spawn_hook(spawner):
    "Instructors run the grading environment, students theirs; a student's own tinytorch comes first on the path."
    env = GRADER_ENV if is_instructor(spawner) else STUDENT_ENV
    spawner.cmd = [os.path.join(env, "bin", "jupyterhub-singleuser")]
    extra = {
        "PATH": os.pathsep.join([os.path.join(env, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "TINYTORCH_COURSE_ROLE": "instructor" if is_instructor(spawner) else "student",
        "NBGRADER_EXCHANGE": EXCHANGE,
    }
    if not is_instructor(spawner):
        # each student works in their own copy of the student edition (~/tinytorch, e.g. cloned from the
        # student branch); `tito export NN` writes their package there, and their kernels import it from there
        extra["PYTHONPATH"] = os.path.join(spawner.user_env({}).get("HOME", ""), "tinytorch")
    spawner.environment = {**spawner.environment, **extra}  # a copy: the configured dict is shared


c.Spawner.pre_spawn_hook = pre_spawn_hook
