"""The grader: instructor-side, not part of the student edition. One module per concept, no import cycles:

    exits       exit codes of the `tito nbgrader` commands
    notebooks   nbgrader cell metadata, finding and loading a student's notebook
    sandbox     one notebook in an isolated, resource-limited kernel (bubblewrap), cell by cell
                (kernel_guard.py is the code it installs in the kernel before any student code)
    course      the course folder, its settings, nbgrader's config and API, the gradebook
    pipeline    generate, release, collect (nbgrader's steps around autograding)
    feedback    what the student sees: the feedback notebook, its summary, the HTML
    autograde   the batch: check, run (graded + feedback runs), decide, record, resume
    report      the autograding report, the grades CSV, gradebook backups
    hub         a JupyterHub on loopback to try the course as instructor and students
    cli         `tito nbgrader ...`, a thin layer over the above

Imports go down this list only (cli -> report -> autograde -> feedback -> course -> sandbox -> notebooks).
"""
