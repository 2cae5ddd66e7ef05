"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 03_activations."
from op_catalog import make_tests

globals().update(make_tests("03_activations"))
