// lib/random.js: the randomness of the traffic model: Zipf popularity, stable hashes for the
// identities of bots, chats and users, and small pickers.
//
// Pure JavaScript: it imports nothing from k6, so node can run it as it is (the traffic model is
// checked that way). Identities come from hashes rather than stored tables, so that each VU
// (k6 gives every VU its own copy of the script) knows the same 100 000 chats without keeping them.

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

/** A 32-bit hash of a few integers (murmur3's finaliser over each): the same input, the same id. */
export function hash(...parts) {
  let h = 0x9e3779b9;
  for (let i = 0; i < parts.length; i++) {
    let k = Math.imul(parts[i] | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h = Math.imul(h ^ Math.imul(k, 0x1b873593), 5) + 0xe6546b64;
    // Numbers above 2^32 (none are used today) keep their high part in the hash too.
    h ^= Math.floor(parts[i] / 4294967296) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash as a number in [0, 1). */
export function unit(h) {
  return h / 4294967296;
}

/** A string's own small hash, so that names (bots) can seed identities. */
export function hashString(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  }
  return h >>> 0;
}

/** An integer in [min, max] (both included). */
export function between(rng, min, max) {
  return min + Math.floor(rng() * (max - min + 1));
}

/** One element of a list, uniformly. */
export function pick(rng, list) {
  return list[Math.floor(rng() * list.length)];
}

/**
 * One key of a weight table `{key: weight, ...}`, in proportion to the weights. The table is
 * turned once into a sampler: `weighted({a: 3, b: 1})(rng)` gives "a" three times as often.
 */
export function weighted(table) {
  const keys = Object.keys(table);
  const cumulative = [];
  let total = 0;
  for (let i = 0; i < keys.length; i++) {
    total += table[keys[i]];
    cumulative.push(total);
  }
  return function draw(rng) {
    const u = rng() * total;
    for (let i = 0; i < keys.length; i++) {
      if (u < cumulative[i]) return keys[i];
    }
    return keys[keys.length - 1];
  };
}

const FILE_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A Telegram-looking file_id / file_unique_id (base64url text of that length). */
export function fileId(rng, length) {
  let out = '';
  for (let i = 0; i < length; i++) out += FILE_ID_CHARS[Math.floor(rng() * 64)];
  return out;
}

/** Bytes of a string once UTF-8 encoded (what goes on the wire; k6 has no TextEncoder). */
export function utf8Length(text) {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}
