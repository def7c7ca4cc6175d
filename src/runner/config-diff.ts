/**
 * Names the keys on which two resolved run configs differ (dotted paths, `tasks.docvqa_val.maxTiles`), so resume
 * and merge can refuse with a message that says exactly what changed.
 */
export function diffConfigKeys(a: unknown, b: unknown, prefix = ''): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const out: string[] = [];
    for (const k of keys) {
      const path = prefix ? `${prefix}.${k}` : k;
      out.push(...diffConfigKeys(a[k], b[k], path));
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
