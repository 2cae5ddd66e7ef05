from op_catalog import make_tests
globals().update(make_tests("16_tinygpt"))
