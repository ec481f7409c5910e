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
#: densification looks this many bins ahead one distance at a time, then at all further ones at once
_NEAR_STEPS = 3
_MIX_STEPS = ((np.uint64(30), np.uint64(0xBF58476D1CE4E5B9)), (np.uint64(27), np.uint64(0x94D049BB133111EB)))


def _mix(x: np.ndarray, spare: np.ndarray | None = None) -> np.ndarray:
    """The splitmix64 finaliser: spreads every input bit over the whole word (in place; ``spare``:
    scratch space of x's shape, so no temporary array is made)."""
    if spare is None:
        spare = np.empty_like(x)
    for shift, factor in _MIX_STEPS:
        x ^= np.right_shift(x, shift, out=spare)
        x *= factor
    x ^= np.right_shift(x, np.uint64(31), out=spare)
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
        keys, valid, _ = self.sketch(texts)
        return keys, valid

    def sketch(self, texts: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``band_keys``, and a mask of the texts that hold two spaces in a row or start with a
        space: they are not normalised, and their keys mean nothing."""
        n = len(texts)
        keys = np.zeros((n, self.bands), dtype=np.uint32)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        valid = lengths > 0
        spaced = np.zeros(n, dtype=bool)
        if not valid.any():
            return keys, valid, spaced
        # a space before every text and NUL padding after it: every word starts right after a
        # space, and no 8-byte read reaches into the next text
        buf = b" " + b"\0\0\0\0\0\0\0\0 ".join(texts) + b"\0" * 8
        data = np.frombuffer(buf, dtype=np.uint8)
        starts = np.flatnonzero(data == 32)
        starts += 1
        begin = np.cumsum(lengths + 9) - lengths - 8  # the first byte of each text
        first = np.searchsorted(starts, begin)  # each text's first word
        counts = np.diff(np.append(first, len(starts)))
        # an empty word (a word start right after another) is a space doubled or at a text's start
        spaced[np.searchsorted(first, np.flatnonzero(np.diff(starts) == 1), side="right") - 1] = True
        # the 8 bytes from each word start, read from an unaligned strided view of the buffer
        grams = np.ndarray((len(data) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        tokens = grams[starts]
        with np.errstate(over="ignore"):
            h, spare = _shingles(tokens, first, counts, valid)
            sig = self._minima(h, spare, counts)
            if not valid.all():
                sig[~valid] = _EMPTY
            _densify(sig.ravel(), self.perms)
            # each band's rows folded into one word (rows of all bands at once), mixed, top half kept
            sig3 = sig.reshape(n, self.bands, self.rows)
            acc = sig3[:, :, 0].copy()
            for r in range(1, self.rows):
                acc *= _ROW
                acc += sig3[:, :, r]
            keys[:] = _mix(acc) >> np.uint64(32)
        return keys, valid, spaced

    def _minima(self, h: np.ndarray, spare: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The one-permutation minima (texts x perms, EMPTY where no shingle fell) of mixed shingle
        hashes ``h`` (overwritten), ``counts`` per text; ``spare`` is scratch space of h's size."""
        p = np.uint64(self.perms)
        # a shingle's bin is its hash's top half scaled to [0, perms), offset by its text's row
        bins = np.right_shift(h, np.uint64(32), out=spare)
        bins *= p
        bins >>= np.uint64(32)
        bins += np.repeat(np.arange(len(counts), dtype=np.uint64) * p, counts)
        h &= np.uint64(0xFFFFFFFF)
        sig = np.full((len(counts), self.perms), _EMPTY, dtype=np.uint64)
        np.minimum.at(sig.ravel(), bins.view(np.int64), h)
        return sig


def _shingles(tokens: np.ndarray, first: np.ndarray, counts: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mixed hash of the shingle that starts at each token (a text's last shingles are cut
    short at its end), and a scratch array of the same size."""
    k = SHINGLE_TOKENS
    m = len(tokens)
    h = tokens * _POSITION[0]
    spare = np.empty_like(h)
    for j in range(1, min(k, m)):
        part = np.multiply(tokens[j:], _POSITION[j], out=spare[:m - j])
        h[:m - j] += part
    # the last k - 1 shingles of a text ran into the next one: redo them within the text
    last = first + counts  # one past each text's last word
    for back in range(1, k):
        at = (last - back)[valid & (counts >= back)]
        redo = tokens[at] * _POSITION[0]
        for j in range(1, back):
            redo += tokens[at + j] * _POSITION[j]
        h[at] = redo
    return _mix(h, spare), spare


def _densify(sig: np.ndarray, perms: int) -> None:
    """Fill each empty bin from the next non-empty bin to its right, circularly, marked with the
    distance (rotation densification, Shrivastava & Li 2014); rows with no shingle stay empty."""
    empty = sig == _EMPTY
    todo = np.flatnonzero(empty)
    col = todo % perms
    row = todo - col  # the flat position of the bin's row
    # most empty bins have a full one within a step or two: look there first, for the few left only
    for dist in range(1, _NEAR_STEPS + 1):
        if not len(todo):
            return
        src = row + (col + dist) % perms
        found = ~empty[src]
        sig[todo[found]] = sig[src[found]] + np.uint64(dist << 32)
        left = ~found
        todo, row, col = todo[left], row[left], col[left]
    if len(todo) * perms <= len(sig):
        _fill_far(sig, empty, todo, row, col, perms)
    else:  # many left (short texts, many bins): a pass over every bin costs less
        _fill_scan(sig, empty, todo, perms)


def _fill_far(sig: np.ndarray, empty: np.ndarray, todo: np.ndarray, row: np.ndarray, col: np.ndarray, perms: int) -> None:
    """Densify the empty bins ``todo`` (at ``row`` + ``col``) from beyond ``_NEAR_STEPS``, every distance at once."""
    far = np.arange(_NEAR_STEPS + 1, perms, dtype=np.int64)
    if not len(todo) or not len(far):
        return
    src = row[:, None] + (col[:, None] + far) % perms
    full = ~empty[src]
    nearest = full.argmax(axis=1)
    hit = full[np.arange(len(todo)), nearest]  # a row with no shingle finds none
    nearest = nearest[hit]
    sig[todo[hit]] = sig[src[hit, nearest]] + (far[nearest].astype(np.uint64) << np.uint64(32))


def _fill_scan(sig: np.ndarray, empty: np.ndarray, todo: np.ndarray, perms: int) -> None:
    """Densify the empty bins ``todo`` with one pass over all bins."""
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
    heads: list[Any] = []
    members: list[Any] = []
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    low = np.uint64(0xFFFFFFFF)
    uids = ids.astype(np.uint64)
    for b in range(keys.shape[1]):
        # key and id in one 64-bit word: one plain sort orders by key, then id (ids fit 32 bits)
        both = np.sort((keys[:, b].astype(np.uint64) << np.uint64(32)) | uids)
        sk = both >> np.uint64(32)
        sid = both & low
        new = np.ones(len(sk), dtype=bool)
        new[1:] = sk[1:] != sk[:-1]
        head = np.maximum.accumulate(np.where(new, np.arange(len(sk)), 0))
        member = ~new
        heads.append(sid[head[member]])
        members.append(sid[member])
    return _unique_pairs(np.concatenate(heads), np.concatenate(members))


def _unique_pairs(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The distinct pairs (first[i], second[i]) of non-negative 32-bit ints, sorted, as an (m, 2) int64 array."""
    packed = np.unique((first.astype(np.uint64) << np.uint64(32)) | second.astype(np.uint64))
    return np.stack(((packed >> np.uint64(32)).astype(np.int64), (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)), axis=1)


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
    pairs = np.concatenate(out)
    return _unique_pairs(pairs[:, 0], pairs[:, 1])
