"""MinHash band keys over word-anchored byte shingles (one-permutation hashing), vectorised with numpy, for LSH."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

#: a shingle is this many consecutive word tokens (a token: the 8 bytes from a word's start):
#: long enough that examples built from the same templates share few shingles
SHINGLE_TOKENS = 4
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_POSITION = [np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)]
_ROW = np.uint64(0xA0761D6478BD642F)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: spreads every input bit over the whole word (in place)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


class Sketcher:
    """Turns batches of normalised texts into LSH band keys.

    Each word becomes a token, the 8 bytes from its start read as one 64-bit integer straight
    from the buffer (no per-byte arithmetic), and every word starts a shingle of
    ``SHINGLE_TOKENS`` consecutive tokens of the same text.
    One-permutation MinHash with rotation densification gives ``bands * rows`` minima; each band of ``rows`` minima is hashed to a 32-bit
    key. Two texts share a band key with probability about ``J ** rows`` (J: Jaccard similarity
    of their shingle sets), so they become candidates with ``1 - (1 - J ** rows) ** bands``.
    Everything is a pure function of the text: the same text gives the same keys in any process.
    """

    _shared: ClassVar[dict[tuple[int, int], Sketcher]] = {}

    @classmethod
    def shared(cls, bands: int, rows: int) -> Sketcher:
        """One sketcher per shape and process."""
        key = (bands, rows)
        if key not in cls._shared:
            cls._shared[key] = cls(bands, rows)
        return cls._shared[key]

    def __init__(self, bands: int, rows: int) -> None:
        self.bands = bands
        self.rows = rows
        self.perms = bands * rows

    def band_keys(self, texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Band keys (len(texts) x bands, uint32) and a mask of the texts that are not empty.

        Texts must be normalised: words separated by single spaces, no leading or trailing space.
        """
        n = len(texts)
        k = SHINGLE_TOKENS
        keys = np.zeros((n, self.bands), dtype=np.uint32)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        valid = lengths > 0
        if not valid.any():
            return keys, valid
        # a space before every text and NUL padding after it: every word starts right after a
        # space, and no 8-byte read reaches into the next text
        buf = b" " + b"\0\0\0\0\0\0\0\0 ".join(texts) + b"\0" * 8
        data = np.frombuffer(buf, dtype=np.uint8)
        starts = np.flatnonzero(data == 32) + 1
        begin = np.cumsum(lengths + 9) - lengths - 8  # the first byte of each text
        first = np.searchsorted(starts, begin)  # each text's first word
        counts = np.diff(np.append(first, len(starts)))
        owner = np.repeat(np.arange(n, dtype=np.uint64), counts)
        # the 8 bytes from each word start, read from an unaligned strided view of the buffer
        grams = np.ndarray((len(data) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        with np.errstate(over="ignore"):
            tokens = grams[starts]
            m = len(tokens)
            h = tokens * _POSITION[0]
            for j in range(1, min(k, m)):
                h[:m - j] += tokens[j:] * _POSITION[j]
            # the last k - 1 shingles of a text ran into the next one: redo them within the text
            last = first + counts  # one past each text's last word
            for back in range(1, k):
                at = last - back
                ok = valid & (counts >= back)
                at = at[ok]
                redo = tokens[at] * _POSITION[0]
                for j in range(1, back):
                    redo += tokens[at + j] * _POSITION[j]
                h[at] = redo
            h = _mix(h)
            p = np.uint64(self.perms)
            bins = ((h >> np.uint64(32)) * p) >> np.uint64(32)
            sig = np.full(n * self.perms, _EMPTY, dtype=np.uint64)
            np.minimum.at(sig, owner * p + bins, h & np.uint64(0xFFFFFFFF))
            sig[np.repeat(~valid, self.perms)] = _EMPTY
            _densify(sig, self.perms)
            sig = sig.reshape(n, self.perms)
            for b in range(self.bands):
                acc = sig[:, b * self.rows].copy()
                for r in range(1, self.rows):
                    acc *= _ROW
                    acc += sig[:, b * self.rows + r]
                keys[:, b] = _mix(acc) >> np.uint64(32)
        return keys, valid


def _densify(sig: np.ndarray, perms: int) -> None:
    """Fill each empty bin from the next non-empty bin to its right, circularly, marked with the
    distance (rotation densification, Shrivastava & Li 2014); rows with no shingle stay empty."""
    empty = sig == _EMPTY
    todo = np.flatnonzero(empty)
    if not len(todo):
        return
    # each row twice in a row, so "next non-empty bin, circularly" becomes "next to the right": a
    # reversed running minimum of positions finds it for every bin at once (not one pass per distance)
    twice = np.concatenate((empty.reshape(-1, perms),) * 2, axis=1).ravel()
    nxt = np.where(twice, len(twice), np.arange(len(twice)))
    nxt = np.minimum.accumulate(nxt[::-1])[::-1]
    row, col = np.divmod(todo, perms)
    at = row * (2 * perms) + col
    dist = nxt[at] - at
    # a row with no shingle finds nothing within its own two copies
    ok = dist < perms
    todo, row, col, dist = todo[ok], row[ok], col[ok], dist[ok]
    sig[todo] = sig[row * perms + (col + dist) % perms] + (dist.astype(np.uint64) << np.uint64(32))


def candidate_pairs(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Pairs (earlier, later) of ``ids`` that share a band key, as an (m, 2) int64 array.

    Within a bucket every member is paired with the bucket's first (lowest id) member only, so a
    bucket of size s costs s - 1 pairs rather than s * (s - 1) / 2; clustering joins the rest.
    """
    out: list[Any] = []
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    low = np.uint64(0xFFFFFFFF)
    uids = ids.astype(np.uint64)
    for b in range(keys.shape[1]):
        # key and id in one 64-bit word: one plain sort orders by key, then id (ids fit 32 bits)
        both = np.sort((keys[:, b].astype(np.uint64) << np.uint64(32)) | uids)
        sk = both >> np.uint64(32)
        sid = (both & low).astype(np.int64)
        new = np.ones(len(sk), dtype=bool)
        new[1:] = sk[1:] != sk[:-1]
        head = np.maximum.accumulate(np.where(new, np.arange(len(sk)), 0))
        member = ~new
        if member.any():
            out.append(np.stack((sid[head[member]], sid[member]), axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(out).astype(np.int64), axis=0)


def cross_pairs(keys: np.ndarray, ids: np.ndarray, ref_keys: np.ndarray, ref_ids: np.ndarray) -> np.ndarray:
    """Pairs (id, ref_id) where a record shares a band key with a reference record.

    Each record is paired with the first (lowest id) reference record of each bucket it hits.
    """
    out: list[Any] = []
    if not len(ids) or not len(ref_ids):
        return np.zeros((0, 2), dtype=np.int64)
    for b in range(keys.shape[1]):
        rcol = ref_keys[:, b]
        order = np.lexsort((ref_ids, rcol))
        sk = rcol[order]
        col = keys[:, b]
        pos = np.searchsorted(sk, col)
        hit = pos < len(sk)
        hit[hit] = sk[pos[hit]] == col[hit]
        if hit.any():
            out.append(np.stack((ids[hit], ref_ids[order][pos[hit]]), axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(out).astype(np.int64), axis=0)
