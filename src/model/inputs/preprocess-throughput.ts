/**
 * Throughput of exact preprocessing on a set of encoded images: `internvl-eval preprocess --bench` and
 * `npm run bench -- tiling` both call `measurePreprocessThroughput`. The images are repeated (in order, round robin)
 * until `seconds` have passed; one thread (the calling thread) unless `workers` > 0, then a PreprocessPool of that
 * many worker threads, warmed (every worker started and JIT-compiled on every image) before the clock starts.
 * Each result is released (its pixel buffer handed back for reuse, as a consumer does once the model has run on
 * it). Figures are wall-clock images/s and tiles/s over whole passes; never asserted on in tests.
 */
import { preprocessImage, releasePixelValues, type PreprocessOptions } from './image-preprocess.ts';
import { PreprocessPool } from './preprocess-pool.ts';

export interface ThroughputOptions {
  /** Preprocessing options (maxTiles, thumbnail, ...); `resize` is whatever the caller sets (exact by default). */
  readonly preprocess: PreprocessOptions;
  /** 0 (default): the calling thread; N: a pool of N worker threads. */
  readonly workers?: number;
  /** Minimum measuring time in seconds (default 3); at least one pass over the images always runs. */
  readonly seconds?: number;
}

export interface Throughput {
  readonly images: number;
  readonly tiles: number;
  readonly seconds: number;
  readonly imagesPerSec: number;
  readonly tilesPerSec: number;
  /** 0 = the calling thread. */
  readonly workers: number;
  /**
   * CPU time of the whole process (all threads: workers, main, libuv, GC) per image, in ms. Unlike images/s it
   * hardly depends on what else runs on the machine: equal figures for 1 and 2 workers mean the workers do not
   * slow each other down, and 2 free cores would give twice the images.
   */
  readonly cpuMsPerImage: number;
}

export async function measurePreprocessThroughput(
  images: readonly Uint8Array[],
  opts: ThroughputOptions,
): Promise<Throughput> {
  if (!images.length) throw new Error('measurePreprocessThroughput: no images');
  const workers = opts.workers ?? 0;
  const seconds = opts.seconds ?? 3;
  if (!Number.isInteger(workers) || workers < 0)
    throw new Error(`--workers must be an integer >= 0, got ${workers}`);
  return workers === 0
    ? inThread(images, opts.preprocess, seconds)
    : inPool(images, opts.preprocess, seconds, workers);
}

function result(
  images: number,
  tiles: number,
  ms: number,
  workers: number,
  cpu: NodeJS.CpuUsage,
): Throughput {
  const seconds = ms / 1000;
  const cpuMsPerImage = (cpu.user + cpu.system) / 1000 / images;
  return {
    images,
    tiles,
    seconds,
    imagesPerSec: images / seconds,
    tilesPerSec: tiles / seconds,
    workers,
    cpuMsPerImage,
  };
}

async function inThread(
  images: readonly Uint8Array[],
  opts: PreprocessOptions,
  seconds: number,
): Promise<Throughput> {
  for (const b of images) await preprocessImage(b, opts); // warm-up: JIT, kernel memory, sharp
  let n = 0;
  let tiles = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  do {
    for (const b of images) {
      const r = await preprocessImage(b, opts);
      tiles += r.tiles;
      n++;
      releasePixelValues(r.pixelValues); // done with it, as a consumer after the model ran
    }
  } while (performance.now() - t0 < seconds * 1000);
  return result(n, tiles, performance.now() - t0, 0, process.cpuUsage(cpu0));
}

/**
 * Images are handed out one at a time (the pool gives each to the least loaded worker), so two workers share the
 * pages of one pass instead of each taking half the batch; two jobs per worker stay in flight so a worker never
 * waits for the main thread. The main thread only posts bytes and receives transferred buffers.
 */
async function inPool(
  images: readonly Uint8Array[],
  opts: PreprocessOptions,
  seconds: number,
  workers: number,
): Promise<Throughput> {
  const pool = new PreprocessPool({ size: workers, depth: 2 });
  try {
    // Warm-up: every worker started (all jobs at once: each finds the started ones busy) and run on every image.
    await Promise.all(
      Array.from({ length: workers * images.length }, (_, i) =>
        pool.preprocess(images[i % images.length], opts),
      ),
    );
    let n = 0;
    let tiles = 0;
    let next = 0;
    let stop = false;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      // Whole passes only: stop handing out images once time is up and a pass is complete.
      while (!stop) {
        const i = next++;
        if (i % images.length === images.length - 1 && performance.now() - t0 >= seconds * 1000) stop = true;
        // (not `tiles += await ...`: that reads `tiles` before awaiting, and the lanes interleave)
        const r = await pool.preprocess(images[i % images.length], opts);
        tiles += r.tiles;
        n++;
        pool.release(r);
      }
    };
    await Promise.all(Array.from({ length: workers * 2 }, lane));
    return result(n, tiles, performance.now() - t0, workers, process.cpuUsage(cpu0));
  } finally {
    await pool.close();
  }
}
