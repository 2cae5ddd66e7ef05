"Catalog forward checks for the ops of 01_tensor (they need only module 01; their gradients are tested in 02)."
from op_catalog import make_forward_tests

globals().update(make_forward_tests("01_tensor"))
