"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 09_spatial."
from op_catalog import make_tests

globals().update(make_tests("09_spatial"))
