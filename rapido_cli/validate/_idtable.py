"""A compact set of 64-bit id hashes with the location where each id was first seen.

A Python ``dict`` of ids costs ~100 bytes per entry (or far more with the id strings kept);
two ``array('q')`` columns with linear probing cost 32 bytes per entry at the worst load
(16 at the best), so millions of event ids fit in tens of megabytes.
"""

from __future__ import annotations

from array import array


class IdTable:
    """Open-addressing table of non-zero 64-bit keys mapped to 64-bit locations."""

    __slots__ = ("_keys", "_locs", "_mask", "_size")

    def __init__(self, capacity: int = 1 << 15) -> None:
        cap = 1
        while cap < capacity:
            cap <<= 1
        self._keys = array("q", bytes(8 * cap))
        self._locs = array("q", bytes(8 * cap))
        self._mask = cap - 1
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: int, loc: int) -> int:
        """Insert ``key`` (any int; folded to 64 bits) at ``loc``; return the earlier loc, or -1 if new."""
        key = ((key + (1 << 63)) & 0xFFFF_FFFF_FFFF_FFFF) - (1 << 63)
        if key == 0:
            key = 1
        keys = self._keys
        mask = self._mask
        i = key & mask
        while True:
            k = keys[i]
            if k == 0:
                keys[i] = key
                self._locs[i] = loc
                self._size += 1
                if self._size * 2 > mask:
                    self._grow()
                return -1
            if k == key:
                return self._locs[i]
            i = (i + 1) & mask

    def _grow(self) -> None:
        old_keys, old_locs = self._keys, self._locs
        cap = (self._mask + 1) * 2
        keys = array("q", bytes(8 * cap))
        locs = array("q", bytes(8 * cap))
        mask = cap - 1
        for j, k in enumerate(old_keys):
            if k:
                i = k & mask
                while keys[i]:
                    i = (i + 1) & mask
                keys[i] = k
                locs[i] = old_locs[j]
        self._keys, self._locs, self._mask = keys, locs, mask
