"Catalog tests (forward, central-difference gradients, torch parity) for the ops of 11_embeddings."
from op_catalog import make_tests

globals().update(make_tests("11_embeddings"))
