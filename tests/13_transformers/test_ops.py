"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 13_transformers."
from op_catalog import make_tests

globals().update(make_tests("13_transformers"))
