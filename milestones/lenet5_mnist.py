"""Milestone lenet5-mnist: LeNet-5 on MNIST, target >= 99.2% test accuracy.

    python milestones/lenet5_mnist.py [--quick | --full] [--seed N]
"""
import common  # first: sets the BLAS thread count before numpy loads

RECIPE = common.Recipe(name="lenet5-mnist", dataset="mnist", model=lambda seed: common.lenet5(1, seed, padding=2),
                       target=0.992, epochs=20, lr=0.05, batch_size=64, crop_padding=2, quick_bar=0.5)

if __name__ == "__main__":
    raise SystemExit(common.main(RECIPE))
