/**
 * The order records take in a finished prediction log: natural order of sample ids (digit runs compared as
 * numbers, so `q2` < `q10`). Records are appended in completion order while a run is going; finalisation and
 * `merge` both sort by this, so a finished log is byte-identical whatever the concurrency, the resume history or
 * the sharding was. (Input order cannot be recovered by `merge` without the data, the id always can.)
 */
export function compareIdsNaturally(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      // Compare as numbers without overflow: strip leading zeros, longer is larger, then lexicographic.
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
