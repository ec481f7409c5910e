"""The MinHash sketch: band keys pinned to their values (candidate pairs depend on every bit) and densification checked against a plain loop."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from xxhash import xxh3_64_hexdigest

from dsqa import minhash
from dsqa.minhash import _EMPTY, _NEAR_STEPS, Sketcher, _densify

WORDS = [b"a", b"to", b"the", b"chain", b"derailleur", b"caf\xc3\xa9", b"x" * 12, b"\xe2\x98\x95", b"42", b"bike"]


def _texts(count: int) -> list[bytes]:
    """Texts of 0 to 700 words, some shorter than a shingle, some empty (deterministic)."""
    out = []
    for i in range(count):
        k = (i * 37) % 23 if i % 5 else (i * 101) % 700
        out.append(b" ".join(WORDS[(i * 7 + j * j * 3 + j) % len(WORDS)] for j in range(k)))
    return out


#: the digest of the keys and the valid mask of ``_texts(300)`` per shape, as the sketch computed them
#: before it was made faster (a change of any key changes which pairs are candidates)
PINNED = {(12, 7): "b1f79a6a17dcf8ef", (3, 2): "0a5ccdb7003037c2", (1, 1): "2cc30434fdbe7430", (64, 16): "371028e5af7712b7"}


@pytest.mark.parametrize(("bands", "rows"), list(PINNED))
def test_band_keys_keep_their_values(bands: int, rows: int) -> None:
    keys, valid = Sketcher(bands, rows).band_keys(_texts(300))
    assert keys.shape == (300, bands) and keys.dtype == np.uint32
    assert int(valid.sum()) == 288  # the 12 empty texts
    assert xxh3_64_hexdigest(keys.tobytes() + valid.tobytes()) == PINNED[bands, rows]


def test_band_keys_of_short_and_empty_texts() -> None:
    keys, valid = Sketcher(12, 7).band_keys([b"the chain keeps falling off", b"hello", b""])
    assert valid.tolist() == [True, True, False]
    assert keys[0].tolist() == [3184373820, 2836581207, 3389908111, 3923516327, 314192209, 3008455338, 751144866,
                                1859367090, 225635920, 1968492592, 3458984688, 2363276217]
    assert keys[1].tolist() == [3852191946, 999008341, 2929323781, 1635800535, 3077719547, 2737759957, 2340358204,
                                1393632462, 2174988594, 1658797043, 4248180709, 1030648160]
    assert len(set(keys[2].tolist())) == 1  # an empty text: every band the same key, and not valid
    # a text's keys do not depend on its neighbours in the batch
    alone, _ = Sketcher(12, 7).band_keys([b"hello"])
    assert alone[0].tolist() == keys[1].tolist()


def _densified(sig: np.ndarray, perms: int) -> np.ndarray:
    """Rotation densification one bin at a time: the next full bin to the right, circularly, plus the distance << 32."""
    out = sig.copy()
    for row in range(len(sig) // perms):
        bins = sig[row * perms:(row + 1) * perms]
        for col in range(perms):
            if bins[col] != _EMPTY:
                continue
            for dist in range(1, perms):
                src = bins[(col + dist) % perms]
                if src != _EMPTY:
                    out[row * perms + col] = src + np.uint64(dist << 32)
                    break
    return out


def test_densify_fills_each_empty_bin_from_the_next_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    ways: Counter[str] = Counter()
    for way in ("_fill_far", "_fill_scan"):  # both ways of filling the bins far from a full one are taken
        real = getattr(minhash, way)
        monkeypatch.setattr(minhash, way, lambda *a, real=real, way=way: (ways.update([way]), real(*a))[1])
    rng = np.random.default_rng(5)
    far = 0
    for perms in (1, 2, _NEAR_STEPS, _NEAR_STEPS + 1, _NEAR_STEPS + 2, 7, 84):
        for empty_share in (0.0, 0.2, 0.6, 0.95, 1.0):
            sig = rng.integers(0, 2**32, size=9 * perms, dtype=np.uint64)
            sig[rng.random(len(sig)) < empty_share] = _EMPTY
            sig[:perms] = _EMPTY  # a row with no shingle stays empty
            want = _densified(sig, perms)
            got = sig.copy()
            _densify(got, perms)
            assert got.tolist() == want.tolist(), (perms, empty_share)
            far += int(((want >> np.uint64(32)) > _NEAR_STEPS).sum() - (want == _EMPTY).sum())
    assert far > 0  # some bins were filled from beyond the step-by-step distances
    assert ways["_fill_far"] > 3 and ways["_fill_scan"] > 3


def test_sketch_marks_texts_with_a_space_doubled_or_leading() -> None:
    texts = [b" lead", b"ok text", b"two  spaces", b"", b"end ", b"a b  c d", b"  ", b"x", b"tab\tis not a space"]
    keys, valid, spaced = Sketcher(12, 7).sketch(texts)
    assert spaced.tolist() == [True, False, True, False, False, True, True, False, False]
    assert valid.tolist() == [True, True, True, False, True, True, True, True, True]
    band, band_valid = Sketcher(12, 7).band_keys(texts)
    assert band.tolist() == keys.tolist() and band_valid.tolist() == valid.tolist()


def test_candidate_and_cross_pairs_are_the_bucket_heads_with_each_member() -> None:
    rng = np.random.default_rng(9)
    for _ in range(40):
        n, bands = int(rng.integers(0, 60)), int(rng.integers(1, 6))
        keys = rng.integers(0, 8, size=(n, bands)).astype(np.uint32)
        ids = np.sort(rng.choice(5000, size=n, replace=False)).astype(np.int64)
        ref_keys = rng.integers(0, 8, size=(30, bands)).astype(np.uint32)
        ref_ids = rng.choice(5000, size=30, replace=False).astype(np.int64)
        want, cross = set(), set()
        for b in range(bands):
            buckets: dict[int, list[int]] = {}
            for k, i in zip(keys[:, b].tolist(), ids.tolist()):
                buckets.setdefault(k, []).append(i)
            want |= {(min(m), i) for m in buckets.values() for i in m if i != min(m)}
            heads: dict[int, int] = {}
            for k, i in zip(ref_keys[:, b].tolist(), ref_ids.tolist()):
                heads[k] = min(heads.get(k, i), i)
            cross |= {(i, heads[k]) for k, i in zip(keys[:, b].tolist(), ids.tolist()) if k in heads}
        got = minhash.candidate_pairs(keys, ids)
        assert got.dtype == np.int64 and got.shape == (len(want), 2) and got.tolist() == sorted(map(list, want))
        got = minhash.cross_pairs(keys, ids, ref_keys, ref_ids)
        assert got.dtype == np.int64 and got.tolist() == sorted(map(list, cross))
