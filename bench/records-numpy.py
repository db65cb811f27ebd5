"""Vectorized numpy reference of records/build-from-dense (bench/records.ts runs it on the same raw float32 file).

Usage: python3 bench/records-numpy.py FILE N_TOKENS N_FEATURES WINDOW TOP_K RANDOM_COUNT BINS PER_BIN REPEATS
Prints one JSON line: {"seconds": best wall time of the build (file loading excluded), "numpy": version}.
Same algorithm as ours: per-window max (reshape + max), stats over all tokens (float64 central moments in row
chunks), top-k by argpartition (positive windows only, ties by index), a uniform random sample without replacement
outside the top, equal-count quantile bins of the positive window maxima with samples per bin, and the record
activations gathered for every selected window.
"""
import json
import sys
import time

import numpy as np


def build(values, window, top_k, random_count, bins, per_bin, seed=0):
    n_tokens, n_features = values.shape
    n_windows = n_tokens // window
    window_max = values[: n_windows * window].reshape(n_windows, window, n_features).max(axis=1)  # (W, F)

    # stats over all tokens
    mean = values.sum(axis=0, dtype=np.float64) / n_tokens
    m2 = np.zeros(n_features)
    m3 = np.zeros(n_features)
    m4 = np.zeros(n_features)
    chunk = 1024  # rows per block: the float64 temporaries stay in cache (8192 rows is ~5x slower)
    for start in range(0, n_tokens, chunk):
        d = values[start : start + chunk].astype(np.float64) - mean
        d2 = d * d
        m2 += d2.sum(axis=0)
        m3 += (d2 * d).sum(axis=0)
        m4 += (d2 * d2).sum(axis=0)
    variance = m2 / n_tokens
    with np.errstate(divide="ignore", invalid="ignore"):
        skewness = np.where(variance > 0, m3 / n_tokens / variance**1.5, np.nan)
        kurtosis = np.where(variance > 0, m4 / n_tokens / variance**2 - 3, np.nan)
    density = (values > 0).sum(axis=0) / n_tokens
    maximum = values.max(axis=0)

    by_feature = window_max.T  # (F, W)
    positive = by_feature > 0
    masked = np.where(positive, by_feature, -np.inf)
    k = min(top_k, n_windows)
    top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    top_values = np.take_along_axis(masked, top, axis=1)
    order = np.lexsort((top, -top_values), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    top_valid = np.take_along_axis(top_values, order, axis=1) > 0

    rng = np.random.default_rng(seed)
    selected = np.zeros((n_features, n_windows), dtype=bool)
    np.put_along_axis(selected, top, top_valid, axis=1)
    keys = rng.random((n_features, n_windows))
    keys[selected] = np.inf
    random_windows = np.argpartition(keys, random_count - 1, axis=1)[:, :random_count]
    np.put_along_axis(selected, random_windows, True, axis=1)

    levels = np.arange(1, bins) / bins
    interior = np.nanquantile(np.where(positive, by_feature, np.nan), levels, axis=1).T  # (F, bins-1)
    bin_of = (by_feature[:, :, None] > interior[:, None, :]).sum(axis=2)
    eligible = positive & ~selected
    quantile_windows = []
    for b in range(bins):
        keys = rng.random((n_features, n_windows))
        keys[~(eligible & (bin_of == b))] = np.inf
        chosen = np.argpartition(keys, per_bin - 1, axis=1)[:, :per_bin]
        valid = np.isfinite(np.take_along_axis(keys, chosen, axis=1))
        quantile_windows.append((chosen, valid))

    # gather the activations of every selected window (F, S, window)
    all_windows = np.concatenate([top, random_windows] + [c for c, _ in quantile_windows], axis=1)
    rows = all_windows[:, :, None] * window + np.arange(window)
    records = values[rows, np.arange(n_features)[:, None, None]]
    return records, (mean, variance, skewness, kurtosis, density, maximum)


def main():
    path = sys.argv[1]
    n_tokens, n_features, window, top_k, random_count, bins, per_bin, repeats = map(int, sys.argv[2:10])
    values = np.fromfile(path, dtype="<f4").reshape(n_tokens, n_features)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        build(values, window, top_k, random_count, bins, per_bin)
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"seconds": best, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
