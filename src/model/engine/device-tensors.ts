/**
 * Device-resident tensors (onnxruntime-node 1.30, WebGPU provider) and the one door between them and the host.
 *
 * Facts this module is built on (shared/docs/model-runtime.md, "Fused decoder and device residency", checked again
 * on WebGPU over SwiftShader): a device tensor (`location: 'gpu-buffer'`) is an opaque handle that only a session
 * output can create; `.data` throws and `getData()` aborts the process, so the host never reads one; nothing frees
 * it but `dispose()`; fed to a CPU-provider session it is read as if its device pointer were host memory (garbage,
 * silently). Every session run of the engine therefore goes through `MeteredSession.run`, which refuses device
 * tensors on a host session and counts the bytes of host tensors that cross to or from a device session, and every
 * output the engine reads goes through `hostData`, which refuses device tensors.
 */
import * as ort from 'onnxruntime-node';

/** True when `t` lives in device memory (an onnxruntime-node WebGPU buffer). */
export function isDeviceTensor(t: ort.Tensor): boolean {
  return t.location !== 'cpu' && t.location !== 'cpu-pinned';
}

/** Token or prompt embeddings [batch, seq, hidden] kept on the device (handed from session to session). */
export interface DeviceEmbeds {
  readonly kind: 'device';
  readonly tensor: ort.Tensor;
  /** Element count, as `Float32Array.length` of the host form (the generation loop checks sizes with it). */
  readonly length: number;
}

/** Embeddings in host memory (CPU provider) or on the device (WebGPU residency). */
export type Embeds = Float32Array | DeviceEmbeds;

export function isDeviceEmbeds(e: Embeds): e is DeviceEmbeds {
  return !(e instanceof Float32Array);
}

export function deviceEmbeds(tensor: ort.Tensor): DeviceEmbeds {
  return { kind: 'device', tensor, length: tensor.dims.reduce((a, b) => a * b, 1) };
}

/** Frees a device tensor (idempotent; a host tensor is left alone). */
export function disposeDevice(t: ort.Tensor | undefined | null): void {
  if (t && isDeviceTensor(t)) t.dispose();
}

/** Bytes that crossed between host and device, per tensor name. */
export interface TransferTotals {
  readonly toDeviceBytes: number;
  readonly toHostBytes: number;
  /** name → [bytes to the device, bytes to the host] */
  readonly byName: Readonly<Record<string, readonly [number, number]>>;
}

/** Which part of a generation a transfer belongs to: the prompt (vision, embeddings, prefill) or the decode steps. */
export type CostPhase = 'prefill' | 'decode';

/**
 * Counts host↔device traffic at the session boundary: the bytes of every host tensor fed to a device session
 * (uploaded) and of every host tensor it returns (downloaded), per phase. A host session (CPU provider) moves
 * nothing across.
 */
export class TransferMeter {
  /** The phase new transfers are counted in (the decoder sets it). */
  phase: CostPhase = 'prefill';
  private maps = TransferMeter.empty();

  private static empty(): Record<CostPhase, [Map<string, number>, Map<string, number>]> {
    return { prefill: [new Map(), new Map()], decode: [new Map(), new Map()] };
  }

  upload(name: string, bytes: number): void {
    const m = this.maps[this.phase][0];
    m.set(name, (m.get(name) ?? 0) + bytes);
  }

  download(name: string, bytes: number): void {
    const m = this.maps[this.phase][1];
    m.set(name, (m.get(name) ?? 0) + bytes);
  }

  totals(phase: CostPhase): TransferTotals {
    const [toDevice, toHost] = this.maps[phase];
    const byName: Record<string, [number, number]> = {};
    for (const [n, b] of toDevice) byName[n] = [b, 0];
    for (const [n, b] of toHost) byName[n] = [byName[n]?.[0] ?? 0, b];
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { toDeviceBytes: sum(toDevice), toHostBytes: sum(toHost), byName };
  }

  reset(): void {
    this.maps = TransferMeter.empty();
    this.phase = 'prefill';
  }
}

/** Bytes of a host tensor's data. */
function hostBytes(t: ort.Tensor): number {
  const d = t.data as ArrayBufferView;
  return d.byteLength;
}

/**
 * The one accessor for an output's values on the host. Refuses a device tensor with a clear error instead of the
 * process abort that `getData()` gives in onnxruntime-node 1.30.
 */
export function hostData<T extends ort.Tensor.DataType = Float32Array>(t: ort.Tensor, what: string): T {
  if (isDeviceTensor(t)) {
    throw new Error(
      `${what} is a device tensor (${t.location}); onnxruntime-node 1.30 cannot copy it to the host ` +
        '(getData() aborts the process): fetch it from a session whose output stays on the host',
    );
  }
  return t.data as T;
}

type Fetches = readonly string[] | Record<string, ort.Tensor | null>;

/**
 * A session plus the device it runs on: the only way the engine runs a session. It refuses a device tensor as
 * input (or pre-allocated output) of a host session — which would read device memory as host memory — and
 * meters host↔device bytes of a device session.
 */
export class MeteredSession {
  constructor(
    readonly session: ort.InferenceSession,
    /** For error messages: the ONNX file. */
    readonly file: string,
    /** true: the session runs on a device provider (WebGPU). */
    readonly onDevice: boolean,
    readonly meter: TransferMeter,
  ) {}

  async run(feeds: Record<string, ort.Tensor>, fetches?: Fetches): Promise<Record<string, ort.Tensor>> {
    const preallocated =
      fetches && !Array.isArray(fetches)
        ? Object.entries(fetches as Record<string, ort.Tensor | null>).filter(
            (e): e is [string, ort.Tensor] => e[1] !== null,
          )
        : [];
    for (const [name, t] of [...Object.entries(feeds), ...preallocated]) {
      if (isDeviceTensor(t)) {
        if (!this.onDevice) {
          throw new Error(
            `${this.file}: '${name}' is a device (${t.location}) tensor but this session runs on the CPU ` +
              'provider, which would read device memory as host memory; keep device tensors between device sessions',
          );
        }
      } else if (this.onDevice) {
        this.meter.upload(name, hostBytes(t));
      }
    }
    const res = fetches
      ? await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType)
      : await this.session.run(feeds);
    if (this.onDevice) {
      for (const [name, t] of Object.entries(res))
        if (!isDeviceTensor(t)) this.meter.download(name, hostBytes(t));
    }
    return res;
  }
}
