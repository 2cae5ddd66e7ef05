"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 04_layers."
from op_catalog import make_tests

globals().update(make_tests("04_layers"))
