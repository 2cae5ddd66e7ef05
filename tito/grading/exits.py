"""Exit codes of the `tito nbgrader` commands, in one place.

0 every submission has a grade (tampering is flagged, still graded); 1 a step failed for some assignment or
submission (see its table or `tito nbgrader report`); 2 usage or setup error (the message says what to fix);
3 the grading environment is broken (a kernel could not start, tinytorch did not import); 4 the batch itself
stopped (run the same command again: graded submissions are kept)."""
from ..cli_support import EXIT_USAGE  # shared with every tito command

EXIT_OK, EXIT_SOME, EXIT_ENVIRONMENT, EXIT_STOPPED = 0, 1, 3, 4

__all__ = ["EXIT_OK", "EXIT_SOME", "EXIT_USAGE", "EXIT_ENVIRONMENT", "EXIT_STOPPED"]
