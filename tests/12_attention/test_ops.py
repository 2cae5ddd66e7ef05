"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 12_attention."
from op_catalog import make_tests

globals().update(make_tests("12_attention"))
