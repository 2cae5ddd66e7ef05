"""Milestone lenet5-cifar10: LeNet-5 on CIFAR-10, target >= 66% test accuracy.

    python milestones/lenet5_cifar10.py [--quick | --full] [--seed N]
"""
import common  # first: sets the BLAS thread count before numpy loads

RECIPE = common.Recipe(name="lenet5-cifar10", dataset="cifar10", model=lambda seed: common.lenet5(3, seed),
                       target=0.66, epochs=40, lr=0.05, batch_size=64, crop_padding=4, flip=True, quick_bar=0.16)

if __name__ == "__main__":
    raise SystemExit(common.main(RECIPE))
