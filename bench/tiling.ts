/**
 * Tiling throughput: bytes -> [tiles, 3, 448, 448] float32 for document-sized images, in `exact` (Pillow-identical)
 * and `fast` (sharp resize) mode, next to a baseline measured in the same run: sharp's own decode + resize of the
 * same image to the same grid size plus the thumbnail (no normalisation), i.e. what a plain libvips pipeline costs.
 *
 * Then the PreprocessPool (worker threads): images/s for a stream of pages through the pool at its default size and
 * at one worker per core, next to single-thread `preprocessImage` in the main thread, measured in the same run.
 *
 * Run alone: `node --import tsx bench/tiling.ts` (the lead wires it into `npm run bench`).
 */
import os from 'node:os';
import sharp from 'sharp';
import { preprocessImage } from '../src/model/inputs/image-preprocess.ts';
import { decodeImage } from '../src/model/inputs/image-decode.ts';
import { normalizeTiles } from '../src/model/inputs/normalize.ts';
import { defaultPoolSize, PreprocessPool } from '../src/model/inputs/preprocess-pool.ts';
import { chooseGrid, dynamicPreprocess } from '../src/model/inputs/tiling.ts';

const MAX_TILES = 12;
const SECONDS_PER_CASE = 2.5;

/** A synthetic page: white, dark text-like strokes, a colour band and a photo-ish gradient block. */
export function documentImage(w: number, h: number, seed: number): Uint8Array {
  let s = seed;
  const rand = (): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const px = new Uint8Array(w * h * 3).fill(255);
  for (let y = 40; y < h - 40; y += 28) {
    for (let x = 40; x < w - 60; x += 14) {
      if (rand() < 0.15) continue;
      const sw = 3 + Math.floor(rand() * 8);
      const v = Math.floor(rand() * 70);
      for (let yy = y; yy < y + 16; yy++) px.fill(v, (yy * w + x) * 3, (yy * w + x + sw) * 3);
    }
  }
  for (let y = Math.floor(h * 0.6); y < Math.floor(h * 0.8); y++) {
    for (let x = Math.floor(w * 0.1); x < Math.floor(w * 0.5); x++) {
      px.set([(x * 255) / w, (y * 255) / h, 128 + 64 * Math.sin(x / 17)], (y * w + x) * 3);
    }
  }
  return px;
}

/** Mean milliseconds of a few runs (after one warm-up): for the per-stage breakdown. */
async function msPerRun(fn: () => Promise<unknown> | unknown, runs = 3): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - t0) / runs;
}

async function timeIt(fn: () => Promise<unknown>): Promise<{ perSec: number; n: number }> {
  await fn(); // warm-up (JIT, sharp thread pool)
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS_PER_CASE * 1000) {
    await fn();
    n++;
  }
  return { perSec: (n * 1000) / (performance.now() - t0), n };
}

export async function run(): Promise<void> {
  const cases = [
    { name: 'page 1700x2200', w: 1700, h: 2200, format: 'jpeg' as const },
    { name: 'slide 1920x1080', w: 1920, h: 1080, format: 'png' as const },
  ];
  console.log(`tiling throughput (max_num ${MAX_TILES}, thumbnail on), ${SECONDS_PER_CASE}s per figure`);
  for (const c of cases) {
    const raw = documentImage(c.w, c.h, c.w);
    const img = sharp(raw, { raw: { width: c.w, height: c.h, channels: 3 } });
    const bytes = new Uint8Array(
      c.format === 'jpeg' ? await img.jpeg({ quality: 90 }).toBuffer() : await img.png().toBuffer(),
    );
    const [cols, rows] = chooseGrid(c.w, c.h, MAX_TILES);
    const opts = { maxTiles: MAX_TILES, useThumbnail: true };

    const baseline = await timeIt(async () => {
      const decoded = sharp(bytes);
      await Promise.all([
        decoded
          .clone()
          .resize(448 * cols, 448 * rows, { fit: 'fill' })
          .raw()
          .toBuffer(),
        decoded.clone().resize(448, 448, { fit: 'fill' }).raw().toBuffer(),
      ]);
    });
    const exact = await timeIt(() => preprocessImage(bytes, { ...opts, resize: 'exact' }));
    const fast = await timeIt(() => preprocessImage(bytes, { ...opts, resize: 'fast' }));
    const tiles = cols * rows + (cols * rows > 1 ? 1 : 0);
    console.log(`  ${c.name} ${c.format}, grid ${cols}x${rows} = ${tiles} tiles`);
    console.log(`    baseline sharp decode+resize : ${baseline.perSec.toFixed(2)} images/s`);
    console.log(
      `    exact (Pillow-identical)     : ${exact.perSec.toFixed(2)} images/s  (${(exact.perSec / baseline.perSec).toFixed(2)}x baseline)`,
    );
    console.log(
      `    fast (sharp resize)          : ${fast.perSec.toFixed(2)} images/s  (${(fast.perSec / baseline.perSec).toFixed(2)}x baseline, ` +
        `${(fast.perSec / exact.perSec).toFixed(2)}x exact)`,
    );
    const decoded = await decodeImage(bytes);
    const tiling = await dynamicPreprocess(decoded, opts);
    const stages = [
      ['decode', await msPerRun(() => decodeImage(bytes))],
      ['exact resize+crop', await msPerRun(() => dynamicPreprocess(decoded, opts))],
      ['fast resize+crop', await msPerRun(() => dynamicPreprocess(decoded, { ...opts, resize: 'fast' }))],
      ['normalise', await msPerRun(() => normalizeTiles(tiling.tiles))],
    ] as const;
    console.log(`    stages (ms/image): ${stages.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
  }
  await poolThroughput();
}

/** Images/s of `count` pages preprocessed one after another in the main thread, or all at once through a pool. */
async function poolThroughput(): Promise<void> {
  const w = 1700;
  const h = 2200;
  const pages = await Promise.all(
    [0, 1, 2, 3].map(
      async (i) =>
        new Uint8Array(
          await sharp(documentImage(w, h, 77 + i), { raw: { width: w, height: h, channels: 3 } })
            .png()
            .toBuffer(),
        ),
    ),
  );
  const opts = { maxTiles: MAX_TILES, useThumbnail: true };
  const cores = os.availableParallelism();
  const count = Math.max(8, 2 * cores);
  console.log(
    `  preprocess pool, ${count} pages ${w}x${h} png (exact, 13 tiles each), ${cores} cores available:`,
  );
  await preprocessImage(pages[0], opts); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < count; i++) await preprocessImage(pages[i % pages.length], opts);
  const single = (count * 1000) / (performance.now() - t0);
  console.log(`    baseline, single thread (main)  : ${single.toFixed(2)} images/s`);
  const sizes = [...new Set([defaultPoolSize(), cores])];
  for (const size of sizes) {
    const pool = new PreprocessPool({ size });
    try {
      // Warm-up: starts every worker (tsx registration, module load, JIT) before the clock runs.
      await Promise.all(
        Array.from({ length: size }, (_, i) => pool.preprocess(pages[i % pages.length], opts)),
      );
      t0 = performance.now();
      await Promise.all(
        Array.from({ length: count }, (_, i) => pool.preprocess(pages[i % pages.length], opts)),
      );
      const perSec = (count * 1000) / (performance.now() - t0);
      console.log(
        `    pool of ${String(size).padEnd(2)} worker(s)           : ${perSec.toFixed(2)} images/s  (${(perSec / single).toFixed(2)}x single thread)`,
      );
    } finally {
      await pool.close();
    }
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await run();
