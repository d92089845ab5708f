"""Fast seeded random draws for bulk data generation.

`random.Random.choice`, `choices` and `randint` cost microseconds each in
CPython; a 100k-order store needs tens of millions of draws. Dice derives every
draw from one `random()` call, which keeps generation to a few seconds and
stays deterministic for a given seed.
"""

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def weighted_table(values: Sequence[T], weights: Sequence[int]) -> tuple[T, ...]:
    """A lookup table in which each value appears `weight` times; pick from it uniformly."""
    return tuple(value for value, weight in zip(values, weights, strict=True) for _ in range(weight))


class Dice:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.random = self.rng.random

    def pick(self, options: Sequence[T]) -> T:
        """A uniform choice (use a weighted_table for weighted ones)."""
        return options[int(self.random() * len(options))]

    def between(self, low: int, high: int) -> int:
        """An int in [low, high], both inclusive."""
        return low + int(self.random() * (high - low + 1))

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def chance(self, probability: float) -> bool:
        return self.random() < probability

    def sample(self, population: Sequence[T], count: int) -> list[T]:
        return self.rng.sample(population, count)
