"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 01_tensor."
from op_catalog import make_tests

globals().update(make_tests("01_tensor"))
