"""Duplicate texts, found at the end of the check in one numpy sort over three 8-byte integers a row."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np


@dataclass
class Duplicates:
    exact_rows: np.ndarray  # later copies of a text already seen with the same labels
    conflicting_rows: np.ndarray  # every row of a text that appears with different labels


def find_duplicates(hashes: array[int], label_ids: array[int], rows: array[int]) -> Duplicates:
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return Duplicates(empty, empty)
    h = np.frombuffer(hashes, dtype=np.int64)
    order = np.argsort(h, kind="stable")  # stable: within a text, rows stay in file order
    hs = h[order]
    ls = np.frombuffer(label_ids, dtype=np.int64)[order]
    rs = np.frombuffer(rows, dtype=np.int64)[order]
    starts = np.empty(len(hs), dtype=bool)
    starts[0] = True
    starts[1:] = hs[1:] != hs[:-1]
    group = np.cumsum(starts) - 1
    size = np.bincount(group)
    first_label = ls[np.flatnonzero(starts)]
    differs = ls != first_label[group]
    conflicting_group = np.bincount(group, weights=differs) > 0
    in_duplicate = size[group] > 1
    conflicting = in_duplicate & conflicting_group[group]
    exact = in_duplicate & ~conflicting_group[group] & ~starts
    return Duplicates(np.sort(rs[exact]), np.sort(rs[conflicting]))
