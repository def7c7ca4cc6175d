/**
 * onnxruntime's C API, called through koffi (an FFI with prebuilt binaries, so nothing is compiled at install) on
 * the very shared library onnxruntime-node loads. It exists for one thing the Node binding cannot do on the CPU
 * provider: run with pre-allocated outputs *without copying them back*. onnxruntime-node 1.30 wraps a pre-allocated
 * fetch, lets ORT write into it, then copies every fetched output into a fresh ArrayBuffer
 * (js/node/src/tensor_helper.cc `OrtValueToNapiValue`, "TODO: optimize memory"; onnx-model.test.ts holds it). For
 * the KV cache that copy is the whole cache per decode step, so the engine could not give GroupQueryAttention the
 * same buffer as past and present, and GQA then zeroes a present buffer and copies the past into it every step
 * (contrib_ops/cpu/bert/gqa_attention_base.h `ComputeAttentionProbs`: memset unless `past_present_share_buffer`,
 * `ConcatStateChunkGQA` per query head). Here the cache tensors wrap JS memory and are bound as both; nothing of
 * them crosses back.
 *
 * The C API is a table of function pointers (`struct OrtApi` in onnxruntime_c_api.h) that ORT only ever appends to,
 * so the member indices below hold for every library that answers `GetApi(API_VERSION)`. Only the members used here
 * are named; each index is the member's position in that struct.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import onnxProto from 'onnx-proto';

/** Version asked of `OrtGetApiBase()->GetApi`: every member below existed by API 2 (ORT 1.3); 16 is ORT 1.16. */
const API_VERSION = 16;

/** Positions in `struct OrtApi` (onnxruntime_c_api.h, member order). */
const MEMBER = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateSession: 7,
  Run: 9,
  CreateSessionOptions: 10,
  EnableProfiling: 14,
  SetSessionGraphOptimizationLevel: 23,
  SetIntraOpNumThreads: 24,
  SetInterOpNumThreads: 25,
  CreateTensorWithDataAsOrtValue: 49,
  GetTensorMutableData: 51,
  GetTensorElementType: 60,
  GetDimensionsCount: 61,
  GetDimensions: 62,
  GetTensorTypeAndShape: 65,
  CreateCpuMemoryInfo: 69,
  AllocatorFree: 76,
  GetAllocatorWithDefaultOptions: 78,
  ReleaseStatus: 93,
  ReleaseSession: 95,
  ReleaseValue: 96,
  ReleaseTensorTypeAndShapeInfo: 99,
  ReleaseSessionOptions: 100,
  SessionEndProfiling: 110,
} as const;

/** ONNXTensorElementDataType values of the element types the engine feeds and fetches. */
const ELEMENT = { float32: 1, int32: 6, int64: 7 } as const;
type ElementName = keyof typeof ELEMENT;

/** GraphOptimizationLevel ORT_ENABLE_ALL, as onnxruntime-node's `graphOptimizationLevel: 'all'`. */
const ENABLE_ALL = 99;

export type NativeData = Float32Array | Int32Array | BigInt64Array;

/** A host tensor: JS memory that ORT reads or writes in place (no copy either way). */
export interface NativeTensor {
  readonly data: NativeData;
  readonly dims: readonly number[];
}

/** An output ORT allocated, copied into JS memory. */
export interface FetchedTensor {
  readonly data: NativeData;
  readonly dims: number[];
}

/** Folder holding onnxruntime-node's native binding and the onnxruntime shared library it loads. */
export function ortBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('onnxruntime-node');
  return path.resolve(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * onnxruntime's shared library beside onnxruntime-node's binding (libonnxruntime.so.1, .dylib, onnxruntime.dll), or
 * the file `INTERNVL_EVAL_ORT_LIBRARY` names. It should be the library onnxruntime-node loads (one ORT per process).
 */
function ortLibrary(): string {
  const override = process.env.INTERNVL_EVAL_ORT_LIBRARY;
  if (override) {
    if (!fs.existsSync(override)) throw new Error(`INTERNVL_EVAL_ORT_LIBRARY: no file ${override}`);
    return override;
  }
  const dir = ortBinaryDir();
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const lib = names.find((n) => /^(lib)?onnxruntime(\.so(\.\d+)*|(\.\d+)*\.dylib|\.dll)$/.test(n));
  if (!lib) throw new Error(`no onnxruntime shared library in ${dir}`);
  return path.join(dir, lib);
}

/** A foreign function as koffi gives it (untyped), with its worker-thread form. */
type Fn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };
type Koffi = typeof import('koffi');

interface Api {
  readonly koffi: Koffi;
  readonly version: string;
  readonly fn: { readonly [K in keyof typeof MEMBER]: Fn };
  readonly env: unknown;
  readonly cpu: unknown;
  /** Throws the message of a non-null OrtStatus (released first), prefixed with `what`. */
  readonly check: (status: unknown, what: string) => void;
}

/** The one load of the C API (a promise, so that concurrent first callers share it: koffi refuses a second
 * declaration of the same prototype name). */
let loading: Promise<Api | Error> | null = null;

/** The C API, loaded once per process; an Error says why it cannot be used here. */
function api(): Promise<Api | Error> {
  loading ??= loadApi();
  return loading;
}

async function loadApi(): Promise<Api | Error> {
  try {
    const koffi = ((await import('koffi')) as unknown as { default: Koffi }).default;
    // onnxruntime-node's binding loads the library first, as it does in the engine (onnx-model.ts imports it). With
    // koffi loading it alone, the full-size int4 decoder at one intra-op thread failed at a random node ("GetElementType
    // is not implemented") and the process then crashed, 5 runs of 5; with the binding loaded first, none of 18 (the
    // cause was not found; the tiny model never showed it). The engine never met it; anything else using this module would.
    await import('onnxruntime-node');
    const lib = koffi.load(ortLibrary());
    const base = lib.func('void *OrtGetApiBase()')();
    const getApi = koffi.decode(
      koffi.decode(base, 0, 'void *'),
      koffi.proto('void *OrtGetApi(uint32_t version)'),
    );
    const getVersion = koffi.decode(koffi.decode(base, 8, 'void *'), koffi.proto('const char *OrtVersion()'));
    const version = String(getVersion());
    const table = getApi(API_VERSION);
    if (!table) throw new Error(`onnxruntime ${version} does not offer C API version ${API_VERSION}`);
    const member = (name: keyof typeof MEMBER, signature: string): Fn =>
      koffi.decode(
        koffi.decode(table, MEMBER[name] * koffi.sizeof('void *'), 'void *'),
        koffi.proto(signature),
      );
    const fn = {
      GetErrorMessage: member('GetErrorMessage', 'const char *GetErrorMessage(void *status)'),
      CreateEnv: member('CreateEnv', 'void *CreateEnv(int level, const char *logid, _Out_ void **out)'),
      CreateSession: member(
        'CreateSession',
        'void *CreateSession(void *env, const char *path, void *options, _Out_ void **out)',
      ),
      Run: member(
        'Run',
        'void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t inputCount, ' +
          'const char **outputNames, size_t outputCount, _Inout_ void **outputs)',
      ),
      CreateSessionOptions: member('CreateSessionOptions', 'void *CreateSessionOptions(_Out_ void **out)'),
      EnableProfiling: member('EnableProfiling', 'void *EnableProfiling(void *options, const char *prefix)'),
      SetSessionGraphOptimizationLevel: member(
        'SetSessionGraphOptimizationLevel',
        'void *SetSessionGraphOptimizationLevel(void *options, int level)',
      ),
      SetIntraOpNumThreads: member(
        'SetIntraOpNumThreads',
        'void *SetIntraOpNumThreads(void *options, int n)',
      ),
      SetInterOpNumThreads: member(
        'SetInterOpNumThreads',
        'void *SetInterOpNumThreads(void *options, int n)',
      ),
      CreateTensorWithDataAsOrtValue: member(
        'CreateTensorWithDataAsOrtValue',
        'void *CreateTensorWithDataAsOrtValue(void *info, void *data, size_t bytes, const int64_t *shape, ' +
          'size_t rank, int type, _Out_ void **out)',
      ),
      GetTensorMutableData: member(
        'GetTensorMutableData',
        'void *GetTensorMutableData(void *value, _Out_ void **out)',
      ),
      GetTensorElementType: member(
        'GetTensorElementType',
        'void *GetTensorElementType(void *info, _Out_ int *out)',
      ),
      GetDimensionsCount: member(
        'GetDimensionsCount',
        'void *GetDimensionsCount(void *info, _Out_ size_t *out)',
      ),
      GetDimensions: member(
        'GetDimensions',
        'void *GetDimensions(void *info, _Out_ int64_t *dims, size_t count)',
      ),
      GetTensorTypeAndShape: member(
        'GetTensorTypeAndShape',
        'void *GetTensorTypeAndShape(void *value, _Out_ void **out)',
      ),
      CreateCpuMemoryInfo: member(
        'CreateCpuMemoryInfo',
        'void *CreateCpuMemoryInfo(int allocator, int memType, _Out_ void **out)',
      ),
      AllocatorFree: member('AllocatorFree', 'void *AllocatorFree(void *allocator, void *p)'),
      GetAllocatorWithDefaultOptions: member(
        'GetAllocatorWithDefaultOptions',
        'void *GetAllocatorWithDefaultOptions(_Out_ void **out)',
      ),
      ReleaseStatus: member('ReleaseStatus', 'void ReleaseStatus(void *status)'),
      ReleaseSession: member('ReleaseSession', 'void ReleaseSession(void *session)'),
      ReleaseValue: member('ReleaseValue', 'void ReleaseValue(void *value)'),
      ReleaseTensorTypeAndShapeInfo: member(
        'ReleaseTensorTypeAndShapeInfo',
        'void ReleaseTensorTypeAndShapeInfo(void *info)',
      ),
      ReleaseSessionOptions: member('ReleaseSessionOptions', 'void ReleaseSessionOptions(void *options)'),
      SessionEndProfiling: member(
        'SessionEndProfiling',
        'void *SessionEndProfiling(void *session, void *allocator, _Out_ void **out)',
      ),
    };
    const check = checker(fn);
    const out: unknown[] = [null];
    // ORT keeps one environment per process: this returns the one onnxruntime-node made (reference-counted).
    check(fn.CreateEnv(2, 'internvl-eval', out), 'CreateEnv');
    const env = out[0];
    check(fn.CreateCpuMemoryInfo(0, 0, out), 'CreateCpuMemoryInfo'); // OrtDeviceAllocator, OrtMemTypeDefault
    return { koffi, version, fn, env, cpu: out[0], check };
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Throws the message of a non-null OrtStatus (and releases it). */
function checker(fn: { GetErrorMessage: Fn; ReleaseStatus: Fn }) {
  return (status: unknown, what: string): void => {
    if (!status) return;
    const message = String(fn.GetErrorMessage(status));
    fn.ReleaseStatus(status);
    throw new Error(`${what}: ${message}`);
  };
}

/** Whether the C API can be used in this process (null), or why not. */
export async function nativeUnavailable(): Promise<string | null> {
  const a = await api();
  return a instanceof Error ? a.message : null;
}

/** TensorProto.DataType numbers of the element types named in `inputTypes`. */
const TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'float32', 6: 'int32', 7: 'int64', 10: 'float16' };

/** Graph inputs (with element types) and outputs of an .onnx file (its graph only: external weights are not read). */
function graphNames(file: string): { inputs: string[]; types: Map<string, string>; outputs: string[] } {
  const graph = onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)).graph;
  const inits = new Set((graph?.initializer ?? []).map((t) => t.name));
  const inputs = (graph?.input ?? []).filter((v) => v.name && !inits.has(v.name));
  const types = new Map<string, string>();
  for (const v of inputs) {
    const t = v.type?.tensorType?.elemType;
    if (typeof t === 'number') types.set(v.name ?? '', TYPE_NAMES[t] ?? `type ${t}`);
  }
  return {
    inputs: inputs.map((v) => v.name ?? ''),
    types,
    outputs: (graph?.output ?? []).map((v) => v.name ?? '').filter(Boolean),
  };
}

function elementOf(data: NativeData): ElementName {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  return 'int64';
}

export interface NativeSessionOptions {
  readonly threads: number;
  /** Turns ORT's profiler on, writing `<prefix>_<date>.json` (kernel-profile.ts reads it). */
  readonly profileFilePrefix?: string;
}

/**
 * A CPU-provider session opened through the C API. `run` takes inputs and *bound* outputs as JS memory (ORT reads
 * and writes them in place; a bound output may be the same memory as an input, which is how GQA's past and present
 * become one buffer) and copies back only the outputs named in `fetch`.
 */
export class NativeSession {
  private released = false;

  private constructor(
    private readonly a: Api,
    private readonly session: unknown,
    readonly file: string,
    readonly inputNames: readonly string[],
    /** Element type of each graph input ('float32', 'float16', 'int64', ...). */
    readonly inputTypes: ReadonlyMap<string, string>,
    readonly outputNames: readonly string[],
  ) {}

  static async open(file: string, options: NativeSessionOptions): Promise<NativeSession> {
    const a = await api();
    if (a instanceof Error) throw new Error(`${file}: onnxruntime's C API is not usable here: ${a.message}`);
    const { check } = a;
    const out: unknown[] = [null];
    check(a.fn.CreateSessionOptions(out), 'CreateSessionOptions');
    const so = out[0];
    try {
      check(a.fn.SetSessionGraphOptimizationLevel(so, ENABLE_ALL), 'SetSessionGraphOptimizationLevel');
      check(a.fn.SetIntraOpNumThreads(so, options.threads), 'SetIntraOpNumThreads');
      check(a.fn.SetInterOpNumThreads(so, 1), 'SetInterOpNumThreads');
      if (options.profileFilePrefix)
        check(a.fn.EnableProfiling(so, options.profileFilePrefix), 'EnableProfiling');
      const status = await new Promise<unknown>((resolve, reject) =>
        a.fn.CreateSession.async(a.env, file, so, out, (err: unknown, res: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res),
        ),
      );
      check(status, `${file}: CreateSession`);
    } finally {
      a.fn.ReleaseSessionOptions(so);
    }
    const names = graphNames(file);
    return new NativeSession(a, out[0], file, names.inputs, names.types, names.outputs);
  }

  /** ORT 's version string (e.g. "1.30.0"). */
  get version(): string {
    return this.a.version;
  }

  /**
   * One run. `inputs` and `bound` wrap JS memory (bound outputs are written in place; they must have the shape the
   * graph produces); `fetch` names outputs ORT allocates, returned as copies. The run happens on a worker thread
   * (the event loop stays free); the JS memory must not be detached or resized meanwhile.
   */
  async run(
    inputs: Readonly<Record<string, NativeTensor>>,
    bound: Readonly<Record<string, NativeTensor>>,
    fetch: readonly string[],
  ): Promise<Record<string, FetchedTensor>> {
    if (this.released) throw new Error(`${this.file}: session released`);
    const { fn, koffi, check } = this.a;
    const made: unknown[] = [];
    const wrap = (name: string, t: NativeTensor): unknown => {
      const bytes = t.data.byteLength;
      const count = t.dims.reduce((x, y) => x * y, 1);
      if (count * t.data.BYTES_PER_ELEMENT !== bytes) {
        throw new Error(`${this.file}: '${name}' holds ${t.data.length} values, dims [${t.dims.join(', ')}]`);
      }
      const out: unknown[] = [null];
      check(
        fn.CreateTensorWithDataAsOrtValue(
          this.a.cpu,
          koffi.address(t.data),
          bytes,
          BigInt64Array.from(t.dims, BigInt),
          t.dims.length,
          ELEMENT[elementOf(t.data)],
          out,
        ),
        `${this.file}: '${name}'`,
      );
      made.push(out[0]);
      return out[0];
    };
    const fetched: unknown[] = [];
    try {
      const inNames = Object.keys(inputs);
      const inValues = inNames.map((n) => wrap(n, inputs[n]));
      const boundNames = Object.keys(bound);
      const outNames = [...boundNames, ...fetch];
      const outValues: unknown[] = [...boundNames.map((n) => wrap(n, bound[n])), ...fetch.map(() => null)];
      const status = await new Promise<unknown>((resolve, reject) =>
        fn.Run.async(
          this.session,
          null,
          inNames,
          inValues,
          inNames.length,
          outNames,
          outNames.length,
          outValues,
          (err: unknown, res: unknown) =>
            err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res),
        ),
      );
      for (let i = boundNames.length; i < outValues.length; i++) if (outValues[i]) fetched.push(outValues[i]);
      check(status, `${this.file}: run`);
      const result: Record<string, FetchedTensor> = {};
      fetch.forEach((name, i) => {
        result[name] = this.copyOut(outValues[boundNames.length + i], name);
      });
      return result;
    } finally {
      for (const v of [...made, ...fetched]) fn.ReleaseValue(v);
    }
  }

  /** An ORT-allocated output as JS memory (float32, int32 or int64). */
  private copyOut(value: unknown, name: string): FetchedTensor {
    const { fn, koffi, check } = this.a;
    if (!value) throw new Error(`${this.file}: no output '${name}'`);
    const out: unknown[] = [null];
    check(fn.GetTensorTypeAndShape(value, out), `${this.file}: '${name}' shape`);
    const info = out[0];
    let dims: number[];
    let type: number;
    try {
      const count = [0];
      check(fn.GetDimensionsCount(info, count), `${this.file}: '${name}' rank`);
      const d = new BigInt64Array(Number(count[0]));
      check(fn.GetDimensions(info, d, d.length), `${this.file}: '${name}' dims`);
      dims = Array.from(d, Number);
      const t = [0];
      check(fn.GetTensorElementType(info, t), `${this.file}: '${name}' type`);
      type = t[0];
    } finally {
      fn.ReleaseTensorTypeAndShapeInfo(info);
    }
    const n = dims.reduce((x, y) => x * y, 1);
    check(fn.GetTensorMutableData(value, out), `${this.file}: '${name}' data`);
    const at = out[0];
    const copy = (bytesPer: number) => (n === 0 ? new ArrayBuffer(0) : koffi.view(at, n * bytesPer).slice(0));
    if (type === ELEMENT.float32) return { data: new Float32Array(copy(4)), dims };
    if (type === ELEMENT.int64) return { data: new BigInt64Array(copy(8)), dims };
    if (type === ELEMENT.int32) return { data: new Int32Array(copy(4)), dims };
    throw new Error(
      `${this.file}: output '${name}' has element type ${type}, which the engine does not read`,
    );
  }

  /** Stops ORT's profiler and returns the profile file's path (profiled sessions only). */
  endProfiling(): string {
    const { fn, koffi, check } = this.a;
    const out: unknown[] = [null];
    check(fn.GetAllocatorWithDefaultOptions(out), 'GetAllocatorWithDefaultOptions');
    const allocator = out[0];
    check(fn.SessionEndProfiling(this.session, allocator, out), `${this.file}: SessionEndProfiling`);
    const p = out[0];
    try {
      return p ? String(koffi.decode.string(p)) : '';
    } finally {
      if (p) fn.AllocatorFree(allocator, p);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.a.fn.ReleaseSession(this.session);
  }
}
