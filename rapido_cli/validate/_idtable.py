"""A compact set of 64-bit id hashes with the location where each id was first seen.

A Python ``dict`` of ids costs ~100 bytes per entry (far more with the id strings kept); here a
``array('q')`` of hashes and an ``array('I')`` of locations with linear probing cost 12 bytes per
slot, at most 0.7 full: 17 to 34 bytes per id (200,000 ids: 6 MB; 5 million: 100 MB).
"""

from __future__ import annotations

from array import array

#: Locations are unsigned 32-bit; a larger one is stored as "unknown".
MAX_LOC = 0xFFFF_FFFF
UNKNOWN = 0


class IdTable:
    """Open-addressing table of 64-bit keys, each with a 32-bit location (1..MAX_LOC; 0 unknown)."""

    __slots__ = ("_keys", "_limit", "_locs", "_mask", "_size")

    def __init__(self, capacity: int = 1 << 15) -> None:
        cap = 8
        while cap < capacity:
            cap <<= 1
        self._alloc(cap)
        self._size = 0

    def _alloc(self, cap: int) -> None:
        self._keys = array("q", bytes(8 * cap))
        self._locs = array("I", bytes(4 * cap))
        self._mask = cap - 1
        self._limit = cap * 7 // 10

    def __len__(self) -> int:
        return self._size

    def add(self, key: int, loc: int) -> int:
        """Insert ``key`` (any int; folded to 64 bits, 0 taken as 1) first seen at ``loc``.

        Return -1 if the key is new, else the location it was first added with (0: unknown).
        """
        if not -(1 << 63) <= key < (1 << 63):
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
                self._locs[i] = loc if 0 < loc <= MAX_LOC else UNKNOWN
                self._size += 1
                if self._size > self._limit:
                    self._grow()
                return -1
            if k == key:
                return self._locs[i]
            i = (i + 1) & mask

    def _grow(self) -> None:
        old_keys, old_locs = self._keys, self._locs
        self._alloc((self._mask + 1) * 2)
        keys, locs, mask = self._keys, self._locs, self._mask
        for j, k in enumerate(old_keys):
            if k:
                i = k & mask
                while keys[i]:
                    i = (i + 1) & mask
                keys[i] = k
                locs[i] = old_locs[j]
