"""Milestone mlp-mnist: a multi-layer perceptron on MNIST, target >= 98.2% test accuracy.

    python milestones/mlp_mnist.py [--quick | --full] [--seed N]
"""
import common  # first: sets the BLAS thread count before numpy loads

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential


def mlp(seed):
    "784-1024-512-10 with ReLU, He-initialised."
    return Sequential(Linear(784, 1024, init="he", seed=seed), ReLU(),
                      Linear(1024, 512, init="he", seed=seed + 1), ReLU(),
                      Linear(512, 10, seed=seed + 2))


RECIPE = common.Recipe(name="mlp-mnist", dataset="mnist", model=mlp, target=0.982, epochs=30, lr=0.05,
                       batch_size=128, crop_padding=2, flatten=True, quick_bar=0.5)

if __name__ == "__main__":
    raise SystemExit(common.main(RECIPE))
