/**
 * `preprocessImage` on worker threads. The exact path (Pillow-identical decode, fixed-point bicubic resize, tiling,
 * normalisation) is 30-70 ms of synchronous work for a 1700x2200 page: on the main thread it runs serially with
 * the model and blocks the event loop (HTTP serving, progress). The pool runs it in `size` workers instead;
 * results are the same objects `preprocessImage` returns, their pixel buffer transferred back, not copied. The
 * main thread does no per-image work beyond posting the bytes (and, with the decoded-image cache on, hashing
 * them); a worker runs one job at a time; `release` hands a finished image's buffer back for reuse.
 *
 * Jobs are posted to workers ahead of time (up to `depth` each, to the least loaded), not one at a time as workers
 * free up, because the main thread cannot hand out work while it is blocked: onnxruntime-node's CPU `run` is
 * synchronous on the main thread (the event loop stalls for the whole batch), and a worker that finished its only
 * job would sit idle for the rest of that model call.
 *
 * Workers start lazily (a job that finds every started worker busy spawns one, up to `size`) and are unref'd while
 * idle, so a pool that is never closed does not keep the process alive; `close()` terminates them and rejects what
 * was still waiting. Size 0 runs `preprocessImage` in-process (same results, same error messages).
 */
import os from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import sharp from 'sharp';
import {
  decodedImageCache,
  decodedImageKey,
  toSharedImage,
  type SharedRgbImage,
} from './decoded-image-cache.ts';
import { decodeImage } from './image-decode.ts';
import { sharedResampler } from './pillow-resample-wasm.ts';
import {
  ownsWholeBuffer,
  preprocessDecoded,
  preprocessedImage,
  releasePixelValues,
  preprocessedImageData,
  preprocessImage,
  type PreprocessedImage,
  type PreprocessedImageData,
  type PreprocessOptions,
} from './image-preprocess.ts';

/** Worker entry: registers tsx for the worker thread, then calls `serveWorker` below. */
const WORKER_URL = new URL('./preprocess-pool-worker.mjs', import.meta.url);

export interface PreprocessPoolOptions {
  /** Worker threads; 0 = preprocess in-process. Default: `defaultPoolSize()`. */
  readonly size?: number;
  /** Jobs posted ahead to each worker (default 4); more wait in the pool's own queue. */
  readonly depth?: number;
}

/** One core is left to the main thread (model, I/O): `max(1, availableParallelism - 1)`. */
export function defaultPoolSize(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

/** The image itself could not be preprocessed (bad bytes, too large, bad options): the message names it. */
export class ImagePreprocessError extends Error {
  override readonly name = 'ImagePreprocessError';
  constructor(
    message: string,
    /** Name of the original error (e.g. `DecompressionBombError`). */
    readonly causeName: string,
  ) {
    super(message);
  }
}

/** The pool could not run the job (closed, worker crashed or failed to start); the image may be fine. */
export class PreprocessPoolError extends Error {
  override readonly name = 'PreprocessPoolError';
}

/**
 * The parent's Node flags minus those that only make sense for a main entry: a worker inherits `process.execArgv`,
 * and `--input-type` (from `node --input-type=module -e ...`) makes the worker entry fail to load.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i].startsWith('--input-type=')) out.push(argv[i]);
  }
  return out;
}

/**
 * A job carries the encoded bytes, or (decoded-image cache hit) the decoded image in shared memory instead.
 * `share`: the main thread caches decoded images, so send the decoded image back (in shared memory).
 */
interface JobMessage {
  readonly id: number;
  readonly bytes?: Uint8Array;
  readonly decoded?: SharedRgbImage;
  readonly share: boolean;
  readonly opts: PreprocessOptions;
}

/** A pixel buffer handed back to the worker (PreprocessPool.release). */
interface ReleaseMessage {
  readonly release: Float32Array;
}

type ReplyMessage =
  | {
      readonly id: number;
      readonly ok: true;
      readonly image: PreprocessedImageData;
      readonly decoded?: SharedRgbImage;
    }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string };

interface Job {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly opts: PreprocessOptions;
  /** Decoded-image cache key (when the process cache is on) and the cached image, if it was there. */
  readonly cacheKey?: string;
  readonly decoded?: SharedRgbImage;
  readonly label: string | undefined;
  resolve(image: PreprocessedImage): void;
  reject(err: Error): void;
}

interface Slot {
  readonly worker: Worker;
  /** Jobs posted to this worker and not answered yet, by id. */
  readonly jobs: Map<number, Job>;
}

function named(label: string | undefined, message: string): string {
  return label ? `${label}: ${message}` : message;
}

export class PreprocessPool {
  readonly size: number;
  readonly depth: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  /** Which worker made a pixel buffer (for `release`). */
  private readonly madeBy = new WeakMap<Float32Array, Slot>();
  private closed = false;

  constructor(opts: PreprocessPoolOptions = {}) {
    const size = opts.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 0)
      throw new Error(`preprocess pool size must be an integer >= 0, got ${size}`);
    this.size = size;
    const depth = opts.depth ?? 4;
    if (!Number.isInteger(depth) || depth < 1)
      throw new Error(`preprocess pool depth must be an integer >= 1, got ${depth}`);
    this.depth = depth;
  }

  /** Worker threads started so far (they start on demand). */
  get workers(): number {
    return this.slots.length;
  }

  /**
   * `preprocessImage(bytes, opts)` on a worker. `label` (e.g. the image's file or `request 7: image 2`) prefixes
   * error messages. `bytes` is copied to the worker, never transferred: the caller keeps it.
   */
  preprocess(bytes: Uint8Array, opts: PreprocessOptions, label?: string): Promise<PreprocessedImage> {
    if (this.closed)
      return Promise.reject(new PreprocessPoolError(named(label, 'preprocess pool is closed')));
    if (this.size === 0) return this.inProcess(bytes, opts, label);
    // Decoded-image cache (sweeps): a hit sends the decoded pixels (shared memory, no copy) instead of the bytes.
    const cache = decodedImageCache();
    const cacheKey = cache ? decodedImageKey(bytes, opts.decode?.maxImagePixels) : undefined;
    const decoded = cacheKey ? cache?.get(cacheKey) : undefined;
    return new Promise<PreprocessedImage>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes, opts, label, cacheKey, decoded, resolve, reject });
      this.pump();
    });
  }

  /**
   * Hands `image`'s pixel buffer back to a worker for reuse (see `releasePixelValues`): for a caller that is done
   * with the image (e.g. after the model ran on it). The buffer is transferred, so `image.pixelValues` is empty
   * afterwards. Optional: an image never released is simply garbage-collected.
   */
  release(image: PreprocessedImage): void {
    const values = image.pixelValues;
    if (this.closed || values.length === 0) return;
    if (this.size === 0) return releasePixelValues(values);
    if (!ownsWholeBuffer(values)) return;
    const b = values.buffer as ArrayBuffer;
    // Back to the worker that made it (each gets back what it allocated), else any live one.
    const from = this.madeBy.get(values);
    const slot = from && this.slots.includes(from) ? from : this.slots[0];
    if (!slot) return;
    const msg: ReleaseMessage = { release: values };
    slot.worker.postMessage(msg, [b]);
  }

  /** Terminates the workers; jobs not finished yet are rejected with PreprocessPoolError. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0))
      job.reject(new PreprocessPoolError(named(job.label, 'preprocess pool closed')));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private async inProcess(
    bytes: Uint8Array,
    opts: PreprocessOptions,
    label: string | undefined,
  ): Promise<PreprocessedImage> {
    try {
      return await preprocessImage(bytes, opts);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      throw new ImagePreprocessError(named(label, e.message), e.name);
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot: Slot | undefined;
      for (const s of this.slots) if (!slot || s.jobs.size < slot.jobs.size) slot = s;
      if ((!slot || slot.jobs.size > 0) && this.slots.length < this.size) slot = this.spawn();
      if (!slot || slot.jobs.size >= this.depth) return;
      const job = this.queue.shift() as Job;
      slot.jobs.set(job.id, job);
      // Busy workers keep the process alive (someone awaits their result); idle ones do not.
      slot.worker.ref();
      const msg: JobMessage = job.decoded
        ? { id: job.id, decoded: job.decoded, share: false, opts: job.opts }
        : { id: job.id, bytes: job.bytes, share: job.cacheKey !== undefined, opts: job.opts };
      slot.worker.postMessage(msg);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL, { execArgv: workerExecArgv() });
    const slot: Slot = { worker, jobs: new Map() };
    worker.unref();
    worker.on('message', (reply: ReplyMessage) => {
      const job = slot.jobs.get(reply.id);
      if (!job) return;
      slot.jobs.delete(reply.id);
      if (slot.jobs.size === 0) worker.unref();
      if (reply.ok) {
        if (reply.decoded && job.cacheKey) decodedImageCache()?.set(job.cacheKey, reply.decoded);
        this.madeBy.set(reply.image.pixelValues, slot);
        job.resolve(preprocessedImage(reply.image));
      } else job.reject(new ImagePreprocessError(named(job.label, reply.message), reply.name));
      this.pump();
    });
    // An uncaught error or an exit ends this worker: its jobs fail (the pool, not the image, is at fault) and a
    // fresh worker takes the next ones.
    const retire = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const job of slot.jobs.values()) job.reject(new PreprocessPoolError(named(job.label, why)));
      slot.jobs.clear();
      this.pump();
    };
    worker.on('error', (err) => {
      retire(`preprocess worker failed: ${err.message}`);
      void worker.terminate();
    });
    worker.on('exit', (code) =>
      retire(this.closed ? 'preprocess pool closed' : `preprocess worker exited with code ${code}`),
    );
    this.slots.push(slot);
    return slot;
  }
}

/**
 * The data of `image` and the buffers to transfer with it. Only a view that owns its whole ArrayBuffer is
 * transferred (a view into a larger or shared buffer, such as a pooled Node Buffer, is copied into its own first),
 * each buffer once.
 */
function transferable(image: PreprocessedImage): { data: PreprocessedImageData; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const own = (v: Float32Array, copy: (v: Float32Array) => Float32Array): Float32Array => {
    const b = v.buffer as ArrayBuffer;
    if (ownsWholeBuffer(v) && !transfer.includes(b)) {
      transfer.push(b);
      return v;
    }
    const c = copy(v);
    transfer.push(c.buffer as ArrayBuffer);
    return c;
  };
  const d = preprocessedImageData(image);
  return { data: { ...d, pixelValues: own(d.pixelValues, (v) => new Float32Array(v)) }, transfer };
}

/** The worker side: answers each JobMessage with a ReplyMessage. Called by ./preprocess-pool-worker.mjs only. */
export function serveWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker() must run in a worker thread');
  // The pool is the parallelism: libvips' own threads (one per core by default, process-wide) would only
  // oversubscribe the cores the workers already use (JPEG/WebP/TIFF decodes, fast-mode resizes).
  sharp.concurrency(1);
  const work = async (job: JobMessage): Promise<[PreprocessedImage, SharedRgbImage | undefined]> => {
    if (job.decoded) return [await preprocessDecoded(job.decoded, job.opts), undefined];
    // Not for the cache (it keeps the pixels): PNG rows are unfiltered straight into the resampler's source memory.
    const r = sharedResampler();
    const decoded = await decodeImage(
      job.bytes as Uint8Array,
      job.share ? job.opts.decode : { ...job.opts.decode, output: (n) => r.sourceBuffer(n) },
    );
    const shared = job.share ? toSharedImage(decoded) : undefined;
    return [await preprocessDecoded(shared ?? decoded, job.opts), shared];
  };
  const answer = (job: JobMessage): Promise<void> =>
    work(job).then(
      ([result, decoded]) => {
        const { data, transfer } = transferable(result);
        const reply: ReplyMessage = { id: job.id, ok: true, image: data, ...(decoded ? { decoded } : {}) };
        try {
          port.postMessage(reply, transfer);
        } catch {
          // A buffer V8 refuses to detach (e.g. one owned by a native addon): send copies instead.
          port.postMessage(reply);
        }
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        port.postMessage({ id: job.id, ok: false, name: e.name, message: e.message } satisfies ReplyMessage);
      },
    );
  // One job at a time, in arrival order. Jobs posted ahead (the pool's `depth`) wait here instead of interleaving
  // at await points: an interleaved job would run on this thread while another's decode runs on a libuv thread,
  // so one worker would use more than one core and two workers would oversubscribe two.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: JobMessage | ReleaseMessage) => {
    if ('release' in msg) return releasePixelValues(msg.release);
    const job = msg;
    queue = queue.then(() => answer(job));
  });
}
