/**
 * Loader and memory manager of the WebAssembly SIMD resample kernel (pillow-resample.wat, compiled to the committed
 * pillow-resample.wasm by scripts/wasm/build-wasm.ts). Same arithmetic as the TypeScript port in pillow-resize.ts
 * (Pillow 9.4 `ImagingResample`, byte for byte; both are tested against Pillow's output and against each other),
 * 3-5x faster: the horizontal pass handles the three channels of a pixel in one i32x4, the vertical pass 16 bytes
 * of a row per step.
 *
 * One `PillowResampler` per thread (`sharedResampler()`); its linear memory is reused across images and only grows,
 * so a worker that preprocesses many pages allocates once. Results are views into that memory: valid until the next
 * call on the same resampler, and never transferable; copy what must outlive the call.
 */
import { readFileSync } from 'node:fs';
import { resampleCoefficients, type Coefficients, type ResampleFilter } from './resample-coefficients.ts';

const WASM_URL = new URL('./pillow-resample.wasm', import.meta.url);

/** Bytes after each buffer that the kernel may read or write past its end (whole vectors; see the .wat). */
const SLACK = 64;
const PAGE = 65536;

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  horizontal(
    src: number,
    srcStride: number,
    rows: number,
    out: number,
    newW: number,
    bounds: number,
    weights: number,
    ksize: number,
  ): void;
  vertical(
    src: number,
    stride: number,
    out: number,
    newH: number,
    bounds: number,
    weights: number,
    ksize: number,
  ): void;
}

let compiled: WebAssembly.Module | undefined;

function kernelModule(): WebAssembly.Module {
  // 1 KB module: synchronous compilation is allowed and keeps the resize API synchronous.
  compiled ??= new WebAssembly.Module(readFileSync(WASM_URL));
  return compiled;
}

const align = (n: number): number => (n + SLACK + 15) & ~15;

export class PillowResampler {
  private readonly k: KernelExports;
  private sourceBytes = 0;
  private sourceW = 0;
  private sourceH = 0;
  private readonly coefCache = new Map<string, Coefficients>();

  constructor() {
    this.k = new WebAssembly.Instance(kernelModule()).exports as unknown as KernelExports;
  }

  /** Current size of the linear memory in bytes (it only grows). */
  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  private ensure(bytes: number): void {
    const have = this.k.memory.buffer.byteLength;
    if (bytes > have) this.k.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /**
   * A view of `length` bytes at the start of memory to write a source image into (e.g. a decoder's `output`);
   * `setSource` with this very view then copies nothing. Valid until the next call.
   */
  sourceBuffer(length: number): Uint8Array {
    this.ensure(align(length));
    return new Uint8Array(this.k.memory.buffer, 0, length);
  }

  /** The current source image's bytes (a fresh view: memory may have grown since `setSource`). */
  sourceView(): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, 0, this.sourceBytes);
  }

  /** Makes packed RGB the source of later `resize` calls (copied into memory unless it is `sourceBuffer`'s view). */
  setSource(rgb: Uint8Array, width: number, height: number): void {
    const n = width * height * 3;
    if (rgb.buffer !== this.k.memory.buffer || rgb.byteOffset !== 0)
      this.sourceBuffer(n).set(rgb.subarray(0, n));
    this.sourceW = width;
    this.sourceH = height;
    this.sourceBytes = n;
  }

  private coefficients(inSize: number, outSize: number, filter: ResampleFilter): Coefficients {
    const key = `${inSize}:${outSize}:${filter}`;
    let c = this.coefCache.get(key);
    if (!c) {
      c = resampleCoefficients(inSize, outSize, filter);
      if (this.coefCache.size > 64) this.coefCache.clear();
      this.coefCache.set(key, c);
    }
    return c;
  }

  /**
   * Pillow `Image.resize((newW, newH), filter)` of the current source, as a view into memory valid until the next
   * call. The caller handles the same-size case (Pillow returns a copy).
   */
  resize(newW: number, newH: number, filter: ResampleFilter): Uint8Array {
    const w = this.sourceW;
    const h = this.sourceH;
    if (!this.sourceBytes) throw new Error('PillowResampler: no source image');
    const needH = newW !== w;
    const needV = newH !== h;
    const cv = this.coefficients(h, newH, filter);
    const ch = needH ? this.coefficients(w, newW, filter) : undefined;
    // Rows the vertical pass reads (ImagingResampleInner's ybox_first / ybox_last).
    const first = cv.bounds[0];
    const last = cv.bounds[newH * 2 - 2] + cv.bounds[newH * 2 - 1];
    const rowsH = needV ? last - first : h;
    const firstH = needV ? first : 0;
    const tempBytes = needH ? newW * rowsH * 3 : 0;
    const outBytes = needV ? newW * newH * 3 : 0;
    let at = align(this.sourceBytes);
    const temp = at;
    at += align(tempBytes);
    const out = at;
    at += align(outBytes);
    const coefAt = at;
    const coefBytes =
      (cv.bounds.length + cv.weights.length + (ch ? ch.bounds.length + ch.weights.length : 0)) * 4;
    this.ensure(at + align(coefBytes));
    const i32 = new Int32Array(this.k.memory.buffer);
    let c = coefAt >> 2;
    const put = (a: Int32Array): number => {
      i32.set(a, c);
      const p = c << 2;
      c += a.length;
      return p;
    };
    let src = 0;
    let stride = w * 3;
    let rowShift = 0;
    if (ch) {
      const b = put(ch.bounds);
      const wt = put(ch.weights);
      this.k.horizontal(firstH * stride, stride, rowsH, temp, newW, b, wt, ch.ksize);
      src = temp;
      stride = newW * 3;
      rowShift = firstH;
    }
    if (!needV) return new Uint8Array(this.k.memory.buffer, src, newW * newH * 3);
    // Vertical bounds relative to the first row the horizontal pass produced.
    const vb = rowShift ? cv.bounds.map((v, i) => (i & 1 ? v : v - rowShift)) : cv.bounds;
    const b = put(vb);
    const wt = put(cv.weights);
    this.k.vertical(src, stride, out, newH, b, wt, cv.ksize);
    return new Uint8Array(this.k.memory.buffer, out, newW * newH * 3);
  }
}

let shared: PillowResampler | undefined;

/** This thread's resampler (module state is per worker thread, so each worker has its own memory). */
export function sharedResampler(): PillowResampler {
  shared ??= new PillowResampler();
  return shared;
}
