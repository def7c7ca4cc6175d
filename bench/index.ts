/**
 * `npm run bench [-- AREA...]`: speed and memory figures, each printed next to a baseline measured in the same
 * run (never asserted on: tests do not time things). Areas run one after another so they do not share cores.
 */
const AREAS = ['tokenizer', 'tiling', 'metrics', 'runner', 'engine', 'serve'] as const;

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((a) => !(AREAS as readonly string[]).includes(a));
if (unknown.length) {
  process.stderr.write(`unknown bench area(s): ${unknown.join(', ')}; known: ${AREAS.join(', ')}\n`);
  process.exit(2);
}

for (const area of AREAS) {
  if (wanted.length && !wanted.includes(area)) continue;
  let mod: { run: () => Promise<void> };
  try {
    mod = await import(`./${area}.ts`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && !wanted.includes(area)) continue;
    throw e;
  }
  process.stdout.write(`\n=== bench: ${area} ===\n`);
  const t0 = performance.now();
  await mod.run();
  process.stdout.write(`(${area}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
