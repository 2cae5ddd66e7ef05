"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 05_losses."
from op_catalog import make_tests

globals().update(make_tests("05_losses"))
