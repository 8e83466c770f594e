import random

from horde_insights.histogram import Histogram, bucket_bounds, bucket_index


def test_bucket_bounds_invert_bucket_index():
    for u in list(range(0, 5000)) + [random.randrange(0, 1 << 40) for _ in range(5000)]:
        lo, hi = bucket_bounds(bucket_index(u))
        assert lo < u <= hi, (u, lo, hi)


def test_bucket_width_is_under_one_percent_above_256():
    for idx in range(300, 3000, 37):
        lo, hi = bucket_bounds(idx)
        assert (hi - lo) / hi < 0.0079


def test_quantiles_of_merged_histograms_are_within_one_percent():
    rnd = random.Random(7)
    values = [rnd.lognormvariate(3, 1) for _ in range(20000)]
    h = Histogram()
    for chunk in range(0, len(values), 1000):  # merge 20 "time buckets"
        part = values[chunk : chunk + 1000]
        buckets = {}
        for v in part:
            i = bucket_index(int(-(-v // 0.001)))
            buckets[i] = buckets.get(i, 0) + 1
        h.merge(buckets, len(part), sum(part), min(part), max(part), 0.001)
    s = sorted(values)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = s[int(q * (len(s) - 1))]
        assert abs(h.quantile(q) - exact) / exact < 0.01, q
    assert h.count == 20000 and h.min == s[0] and h.max == s[-1]
