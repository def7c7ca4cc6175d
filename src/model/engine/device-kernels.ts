/**
 * Small helper graphs that make and reshape device tensors, built in memory and run on the WebGPU provider with
 * their outputs left on the device (`preferredOutputLocation: 'gpu-buffer'`): in onnxruntime-node 1.30 a device
 * tensor can only be created as a session output (model-runtime.md, "Fused decoder and device residency").
 *
 * - `zeros`: a zero-filled tensor of any shape (the static KV cache).
 * - `growCache`: copies a cache [B, KV, C, D] into a larger one [B, KV, C', D] (Pad on axis 2), for a decoder driven
 *   without a capacity hint.
 * - `placeRows`: out[r] = concat(embeds rows, image rows)[source[r]]: the `<IMG_CONTEXT>` overwrite of IVL
 *   `modeling_internvl_chat.py` `generate` done on the device (image-embeds.ts is the host form).
 * - `sync`: waits for the device by reading back one float (timings of work whose outputs stay on the device).
 */
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, type DataTypeId } from '../graph/onnx-builder.ts';
import { isDeviceTensor, MeteredSession, type TransferMeter } from './device-tensors.ts';

const ELEMENT: Record<string, DataTypeId> = { float32: DataType.FLOAT, float16: DataType.FLOAT16 };

function elementType(type: string): DataTypeId {
  const t = ELEMENT[type];
  if (t === undefined) throw new Error(`device tensors of type ${type} are not supported (float32, float16)`);
  return t;
}

export class DeviceKernels {
  private readonly sessions = new Map<string, Promise<MeteredSession>>();

  constructor(
    private readonly meter: TransferMeter,
    private readonly providers: ort.InferenceSession.ExecutionProviderConfig[] = ['webgpu'],
  ) {}

  private session(key: string, build: () => GraphBuilder, hostOutput = false): Promise<MeteredSession> {
    let s = this.sessions.get(key);
    if (!s) {
      const bytes = build().encode();
      s = ort.InferenceSession.create(bytes, {
        executionProviders: this.providers,
        ...(hostOutput ? {} : { preferredOutputLocation: 'gpu-buffer' as const }),
      }).then((session) => new MeteredSession(session, `<${key} helper graph>`, true, this.meter));
      this.sessions.set(key, s);
    }
    return s;
  }

  /** A zero-filled device tensor of `type` ('float32' | 'float16') and `dims`. */
  async zeros(type: string, dims: readonly number[]): Promise<ort.Tensor> {
    const elem = elementType(type);
    const s = await this.session(`zeros_${type}_${dims.length}`, () => {
      const g = new GraphBuilder({ name: 'zeros' });
      const shape = g.input('shape', DataType.INT64, [dims.length]);
      const z = g.op('ConstantOfShape', [shape]); // float32 0
      const out = elem === DataType.FLOAT ? z : g.op('Cast', [z], { to: elem });
      g.output(
        out,
        'zeros',
        elem,
        dims.map((_, i) => `d${i}`),
      );
      return g;
    });
    const shape = new ort.Tensor('int64', BigInt64Array.from(dims.map(BigInt)), [dims.length]);
    return (await s.run({ shape }, ['zeros'])).zeros;
  }

  /** cache [B, KV, C, D] → [B, KV, capacity, D], the first C slots copied, the rest zero. */
  async growCache(cache: ort.Tensor, capacity: number): Promise<ort.Tensor> {
    const elem = elementType(cache.type);
    const s = await this.session(`grow_${cache.type}`, () => {
      const g = new GraphBuilder({ name: 'grow_cache' });
      const x = g.input('cache', elem, ['b', 'kv', 'c', 'd']);
      const pads = g.input('pads', DataType.INT64, [8]);
      g.output(g.op('Pad', [x, pads]), 'grown', elem, ['b', 'kv', 'c2', 'd']);
      return g;
    });
    const add = capacity - cache.dims[2];
    if (add < 0) throw new Error(`growCache: capacity ${capacity} < current ${cache.dims[2]}`);
    const pads = new ort.Tensor('int64', BigInt64Array.from([0, 0, 0, 0, 0, 0, add, 0].map(BigInt)), [8]);
    return (await s.run({ cache, pads }, ['grown'])).grown;
  }

  /**
   * embeds [B, S, H] and image rows [N, T, H] (both on the device) → [B, S, H] where row r (of B·S) is row
   * `source[r]` of the stacked [B·S + N·T, H] table.
   */
  async placeRows(embeds: ort.Tensor, image: ort.Tensor, source: BigInt64Array): Promise<ort.Tensor> {
    const elem = elementType(embeds.type);
    const [B, S] = embeds.dims;
    if (source.length !== B * S) throw new Error(`placeRows: ${source.length} sources for ${B}×${S} rows`);
    const s = await this.session(`place_rows_${embeds.type}`, () => {
      const g = new GraphBuilder({ name: 'place_rows' });
      const e = g.input('embeds', elem, ['b', 's', 'h']);
      const im = g.input('image', elem, ['n', 't', 'h']);
      const src = g.input('source', DataType.INT64, ['b', 's']);
      const hDim = g.op('Shape', [e], { start: 2, end: 3 });
      const rows = g.op('Concat', [g.constI64([-1]), hDim], { axis: 0 });
      const table = g.op('Concat', [g.op('Reshape', [e, rows]), g.op('Reshape', [im, rows])], { axis: 0 });
      g.output(g.op('Gather', [table, src], { axis: 0 }), 'placed', elem, ['b', 's', 'h']);
      return g;
    });
    const src = new ort.Tensor('int64', source, [B, S]);
    if (!isDeviceTensor(embeds) || !isDeviceTensor(image)) {
      throw new Error('placeRows: embeddings and image rows must both be device tensors');
    }
    return (await s.run({ embeds, image, source: src }, ['placed'])).placed;
  }

  /** t[starts:ends] along `axes` (a copy, on the device): a batch row of a cache, a chunk of embeddings. */
  async slice(t: ort.Tensor, starts: number[], ends: number[], axes: number[]): Promise<ort.Tensor> {
    const elem = elementType(t.type);
    const rank = t.dims.length;
    const s = await this.session(`slice_${t.type}_${rank}`, () => {
      const g = new GraphBuilder({ name: 'slice' });
      const x = g.input(
        'x',
        elem,
        t.dims.map((_, i) => `d${i}`),
      );
      const st = g.input('starts', DataType.INT64, ['n']);
      const en = g.input('ends', DataType.INT64, ['n']);
      const ax = g.input('axes', DataType.INT64, ['n']);
      g.output(
        g.op('Slice', [x, st, en, ax]),
        'sliced',
        elem,
        t.dims.map((_, i) => `o${i}`),
      );
      return g;
    });
    const i64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);
    return (await s.run({ x: t, starts: i64(starts), ends: i64(ends), axes: i64(axes) }, ['sliced'])).sliced;
  }

  /** Concatenation of `parts` along axis 0 (rows of a batch), on the device. */
  async concatRows(parts: readonly ort.Tensor[]): Promise<ort.Tensor> {
    const first = parts[0];
    if (!first) throw new Error('concatRows: nothing to concatenate');
    const elem = elementType(first.type);
    const rank = first.dims.length;
    const s = await this.session(`concat_${first.type}_${rank}_${parts.length}`, () => {
      const g = new GraphBuilder({ name: 'concat_rows' });
      const xs = parts.map((_, i) =>
        g.input(
          `x${i}`,
          elem,
          first.dims.map((__, d) => `d${i}_${d}`),
        ),
      );
      g.output(
        g.op('Concat', xs, { axis: 0 }),
        'joined',
        elem,
        first.dims.map((_, d) => `o${d}`),
      );
      return g;
    });
    const feeds = Object.fromEntries(parts.map((t, i) => [`x${i}`, t]));
    return (await s.run(feeds, ['joined'])).joined;
  }

  /** Waits until the device has produced `t` (reads one value of it back: 4 bytes, metered). */
  async sync(t: ort.Tensor): Promise<void> {
    const elem = elementType(t.type);
    const s = await this.session(
      `sync_${t.type}_${t.dims.length}`,
      () => {
        const g = new GraphBuilder({ name: 'sync' });
        const x = g.input(
          'x',
          elem,
          t.dims.map((_, i) => `d${i}`),
        );
        const flat = g.op('Reshape', [x, g.constI64([-1])]);
        const one = g.op('Slice', [flat, g.constI64([0]), g.constI64([1])]);
        const f = elem === DataType.FLOAT ? one : g.op('Cast', [one], { to: DataType.FLOAT });
        g.output(f, 'first', DataType.FLOAT, [1]);
        return g;
      },
      true,
    );
    await s.run({ x: t }, ['first']);
  }

  async close(): Promise<void> {
    const all = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(all.map((s) => s.session.release()));
  }
}
