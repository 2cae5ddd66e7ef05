"Catalog entries for module 11's ops: the embedding lookup (scatter-add gradient) and adding positions."
import numpy as np

from op_catalog import Op
from tinytorch.core.embeddings import add_positions, embedding


def _add_positions_ref(x, table, offset):
    return x + table[offset:offset + x.shape[-2]]


OPS = [
    Op("embedding", lambda w, i: embedding(i, w), lambda w, i: w[i], [(6, 4), (3, 5)],
       integer_inputs={1: (0, 6)}, torch=lambda w, i: __import__("torch").nn.functional.embedding(i, w)),
    Op("embedding_repeated_ids", lambda w, i: embedding(i, w), lambda w, i: w[i], [(3, 2), (40,)],
       integer_inputs={1: (0, 3)}, torch=lambda w, i: __import__("torch").nn.functional.embedding(i, w)),
    Op("add_positions", lambda x, t: add_positions(x, t, offset=2), lambda x, t: _add_positions_ref(x, t, 2),
       [(2, 3, 4), (7, 4)], torch=lambda x, t: x + t[2:5]),
    Op("add_positions_2d", lambda x, t: add_positions(x, t), lambda x, t: _add_positions_ref(x, t, 0),
       [(5, 3), (5, 3)], torch=lambda x, t: x + t[:5]),
]
