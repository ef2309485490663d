"""Character 3-gram TF-IDF index searched through an inverted file (scispacy-style candidates).

scispacy embeds concept names as TF-IDF vectors of character 3-grams and searches them with an
nmslib HNSW index. Our knowledge bases are small (10^4-10^5 names), so an exact search over
an inverted file is as fast, needs no index build time, and loads in milliseconds from one ``.npz``:

* grams are taken per word, padded with spaces (``char_wb``):
  ``"knee"`` -> ``" kn", "kne", "nee", "ee "``;
* weights are sublinear TF x smoothed IDF, rows L2-normalised, so a dot product is a cosine;
* a query accumulates the postings of its grams with ``np.bincount``; grams present in more
  than ``max_df`` of the names are skipped for candidate generation (they barely move the ranking)
  and the top candidates are then re-scored exactly.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
LongArray = npt.NDArray[np.int64]


def _transpose(
    post_ptr: IntArray, post_row: IntArray, post_val: FloatArray, n_rows: int
) -> tuple[LongArray, IntArray, FloatArray]:
    """CSC postings -> CSR rows (row -> grams), for exact re-scoring."""
    df = np.diff(post_ptr)
    cols = np.repeat(np.arange(len(df), dtype=np.int32), df)
    order = np.argsort(post_row, kind="stable")
    counts = np.bincount(post_row, minlength=n_rows)
    row_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    return row_ptr, cols[order], post_val[order]


def grams(text: str) -> Counter[str]:
    """Character 3-grams of each space-padded word of ``text`` (already folded).

    >>> sorted(grams("knee"))
    [' kn', 'ee ', 'kne', 'nee']
    """
    out: Counter[str] = Counter()
    for word in text.split():
        padded = f" {word} "
        for i in range(len(padded) - 2):
            out[padded[i : i + 3]] += 1
    return out


class NgramIndex:
    """Exact cosine search over character-3-gram TF-IDF vectors.

    Args:
        vocab: gram -> column id.
        idf: IDF weight per column.
        post_ptr / post_row / post_val: postings (CSC layout): rows and weights of each gram.
        n_rows: number of indexed names.
        max_df: fraction of rows above which a gram is skipped during candidate generation.
        csr: the same matrix in CSR layout (row -> grams), for exact re-scoring; derived if absent.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        idf: FloatArray,
        post_ptr: IntArray,
        post_row: IntArray,
        post_val: FloatArray,
        n_rows: int,
        max_df: float = 0.02,
        csr: tuple[LongArray, IntArray, FloatArray] | None = None,
    ) -> None:
        self.vocab = vocab
        self.idf = idf
        self.post_ptr = post_ptr
        self.post_row = post_row
        self.post_val = post_val
        self.n_rows = n_rows
        df = np.diff(post_ptr)
        self._common = df > max(50, int(max_df * n_rows))
        if csr is None:
            csr = _transpose(post_ptr, post_row, post_val, n_rows)
        self.row_ptr, self.row_col, self.row_val = csr

    # ------------------------------------------------------------------ build / io
    @classmethod
    def build(cls, texts: Sequence[str]) -> NgramIndex:
        """Fit IDF and index ``texts`` (already folded)."""
        vocab: dict[str, int] = {}
        rows: list[Counter[str]] = []
        df: Counter[str] = Counter()
        for t in texts:
            g = grams(t)
            rows.append(g)
            df.update(g.keys())
        for gram in sorted(df):
            vocab[gram] = len(vocab)
        n = len(texts)
        idf = np.zeros(len(vocab), dtype=np.float32)
        for gram, col in vocab.items():
            idf[col] = math.log((1 + n) / (1 + df[gram])) + 1.0
        cols: list[int] = []
        rids: list[int] = []
        vals: list[float] = []
        for r, g in enumerate(rows):
            if not g:
                continue
            items = [(vocab[k], (1.0 + math.log(c)) * float(idf[vocab[k]])) for k, c in g.items()]
            norm = math.sqrt(sum(v * v for _, v in items))
            for c, v in items:
                cols.append(c)
                rids.append(r)
                vals.append(v / norm)
        col_arr = np.asarray(cols, dtype=np.int32)
        order = np.argsort(col_arr, kind="stable")
        post_row = np.asarray(rids, dtype=np.int32)[order]
        post_val = np.asarray(vals, dtype=np.float32)[order]
        counts = np.bincount(col_arr, minlength=len(vocab))
        post_ptr = np.zeros(len(vocab) + 1, dtype=np.int32)
        np.cumsum(counts, out=post_ptr[1:])
        return cls(vocab, idf, post_ptr, post_row, post_val, n)

    def save(self, path: Path) -> None:
        """Write the index as one ``.npz`` (vocabulary as a string array)."""
        grams_arr = np.array(sorted(self.vocab, key=self.vocab.__getitem__))
        with path.open("wb") as fh:
            np.savez(
                fh,
                grams=grams_arr,
                idf=self.idf,
                post_ptr=self.post_ptr,
                post_row=self.post_row,
                post_val=self.post_val,
                n_rows=np.array([self.n_rows]),
                row_ptr=self.row_ptr,
                row_col=self.row_col,
                row_val=self.row_val,
            )

    @classmethod
    def load(cls, path: Path) -> NgramIndex:
        """Read an index written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            vocab = {str(g): i for i, g in enumerate(z["grams"].tolist())}
            return cls(
                vocab,
                z["idf"],
                z["post_ptr"],
                z["post_row"],
                z["post_val"],
                int(z["n_rows"][0]),
                csr=(z["row_ptr"], z["row_col"], z["row_val"]),
            )

    # ------------------------------------------------------------------ query
    def vector(self, text: str) -> dict[int, float]:
        """The L2-normalised TF-IDF vector of ``text`` (unknown grams dropped)."""
        items: dict[int, float] = {}
        for gram, c in grams(text).items():
            col = self.vocab.get(gram)
            if col is not None:
                items[col] = (1.0 + math.log(c)) * float(self.idf[col])
        norm = math.sqrt(sum(v * v for v in items.values())) or 1.0
        return {c: v / norm for c, v in items.items()}

    def search(self, text: str, k: int = 20) -> list[tuple[int, float]]:
        """Top ``k`` rows by cosine similarity, best first."""
        q = self.vector(text)
        if not q:
            return []
        rare = [c for c in q if not self._common[c]] or list(q)
        scores = self._accumulate(q, rare)
        if scores is None:
            return []
        n_cand = max(k * 4, 40)
        top = float(scores.max())
        if top <= 0:
            return []
        cand = np.flatnonzero(scores >= top * 0.5)
        if len(cand) < n_cand:
            cand = np.flatnonzero(scores >= top * 0.2)
        if len(cand) > n_cand:
            cand = cand[np.argpartition(-scores[cand], n_cand - 1)[:n_cand]]
        # exact re-score of the shortlist with all grams when common grams were skipped
        final = self._rescore(q, cand) if len(rare) < len(q) else scores[cand]
        order = np.argsort(-final)[:k]
        return [(int(cand[i]), float(final[i])) for i in order]

    def similarity(self, text: str, rows: Sequence[int]) -> FloatArray:
        """Cosine of ``text`` with each of ``rows``."""
        q = self.vector(text)
        if not q:
            return np.zeros(len(rows), dtype=np.float32)
        return self._rescore(q, np.asarray(rows, dtype=np.int32))

    def _rescore(self, q: dict[int, float], cand: IntArray) -> FloatArray:
        """Exact cosine of ``q`` with each candidate row (CSR slices, one vectorised pass)."""
        if len(cand) == 0:
            return np.zeros(0, dtype=np.float32)
        qd = np.zeros(len(self.idf), dtype=np.float32)
        qd[list(q)] = list(q.values())
        lo = self.row_ptr[cand]
        hi = self.row_ptr[cand + 1]
        lens = hi - lo
        idx = np.repeat(lo - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        prod = self.row_val[idx] * qd[self.row_col[idx]]
        seg = np.repeat(np.arange(len(cand)), lens)
        out: FloatArray = np.bincount(seg, weights=prod, minlength=len(cand)).astype(np.float32)
        return out

    def _accumulate(self, q: dict[int, float], cols: list[int]) -> FloatArray | None:
        parts_r: list[IntArray] = []
        parts_v: list[FloatArray] = []
        for c in cols:
            lo, hi = self.post_ptr[c], self.post_ptr[c + 1]
            if hi > lo:
                parts_r.append(self.post_row[lo:hi])
                parts_v.append(self.post_val[lo:hi] * np.float32(q[c]))
        if not parts_r:
            return None
        rows = np.concatenate(parts_r)
        vals = np.concatenate(parts_v)
        out: FloatArray = np.bincount(rows, weights=vals, minlength=self.n_rows).astype(np.float32)
        return out
