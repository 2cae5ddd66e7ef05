"Catalog gradient checks (central differences, torch parity) for the ops of 01_tensor, made differentiable here."
from op_catalog import make_gradient_tests

globals().update(make_gradient_tests("01_tensor"))
