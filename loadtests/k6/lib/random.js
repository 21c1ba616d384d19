// lib/random.js: Zipf popularity, the one random choice the k6 side makes itself (which bot of
// the bots file gets an update; everything else comes pre-rendered from the Rust model).
//
// Pure JavaScript: it imports nothing from k6, so node can run it as it is (the traffic model is
// checked that way: loadtests/tests/traffic_fixtures.rs).

/** Cumulative Zipf(s) probabilities of ranks 0..n-1 (rank 0 the most popular). */
export function zipfCdf(n, s) {
  if (!(n >= 1)) throw new Error(`zipf: need at least one item, got ${n}`);
  const cdf = new Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / Math.pow(k + 1, s);
    cdf[k] = sum;
  }
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  cdf[n - 1] = 1; // no rank is lost to rounding
  return cdf;
}

/** A rank drawn from a Zipf CDF (binary search for the first cumulative share >= u). */
export function zipfRank(cdf, rng) {
  const u = rng();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] >= u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** One element of a list (or a k6 SharedArray), uniformly. */
export function pick(rng, list) {
  return list[Math.floor(rng() * list.length)];
}
