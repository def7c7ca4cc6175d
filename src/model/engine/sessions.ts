/**
 * ONNX Runtime sessions for the built model folder: execution-provider choice (cpu | cuda | webgpu), thread
 * settings, and a clear error when the chosen provider cannot run here.
 *
 * Facts (../shared/docs/model-runtime.md §D.1): onnxruntime-node 1.30 bundles the cpu and webgpu providers;
 * `listSupportedBackends()` reports cuda as `bundled: false` — its shared libraries are fetched from NuGet by the
 * package's install script (`node_modules/onnxruntime-node/script/install.js`), which npm 11 does not run by
 * default. WebGPU needs a real adapter; without one session creation fails inside Dawn.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ENGINE_DEVICES, type EngineDevice } from './devices.ts';
import type { EngineOptions } from './engine-options.ts';
import { ortBinaryDir } from './ort-native.ts';

export { ENGINE_DEVICES, type EngineDevice };

/** The part of EngineOptions (engine-options.ts) a session needs. */
export type SessionSettings = Pick<EngineOptions, 'device' | 'deviceId'> & {
  /** intra-op threads (EngineOptions always has them; absent = ORT's default, one per physical core). */
  readonly threads?: number;
};

/** Raised when the chosen execution provider is not installed or cannot start on this machine. */
export class ExecutionProviderUnavailableError extends Error {
  constructor(
    readonly device: EngineDevice,
    message: string,
  ) {
    super(message);
    this.name = 'ExecutionProviderUnavailableError';
  }
}

/**
 * How to get the CUDA provider libraries. Flags from onnxruntime-node 1.30 `script/install.js` and
 * `script/install-utils.js` (`parseInstallFlag`): `--onnxruntime-node-install` / `=true` (force the platform's
 * manifest, cuda12 on linux/x64), `--onnxruntime-node-install=cuda12`, `=skip`; the env var
 * `ONNXRUNTIME_NODE_INSTALL` takes the same values and is read first — so it overrides this project's `.npmrc`
 * (`onnxruntime-node-install=skip`). npm 11 runs a dependency's install script only once approved
 * (`npm approve-scripts`).
 */
export const CUDA_INSTALL_HINT =
  'To use CUDA, install the CUDA provider of onnxruntime-node (needs CUDA 12 and cuDNN 9 on the machine): ' +
  'run its installer directly, `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` ' +
  '(any npm version; or `npm approve-scripts onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild ' +
  "onnxruntime-node`; the env var wins over the project's .npmrc `onnxruntime-node-install=skip`). It downloads " +
  'Microsoft.ML.OnnxRuntime.Gpu.Linux from NuGet into node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ ' +
  '(libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so).';

/** Provider library that must exist for a non-bundled backend, per platform. */
function providerLibrary(device: EngineDevice): string | undefined {
  if (device !== 'cuda') return undefined;
  if (process.platform === 'win32') return 'onnxruntime_providers_cuda.dll';
  return 'libonnxruntime_providers_cuda.so';
}

/**
 * Throws ExecutionProviderUnavailableError when `device` cannot be used with the installed onnxruntime-node.
 * `backends` is injectable for tests; it defaults to `ort.listSupportedBackends()`.
 */
export function assertDeviceAvailable(
  device: EngineDevice,
  backends: readonly { name: string; bundled: boolean }[] = ort.listSupportedBackends(),
  binaryDir: string = ortBinaryDir(),
): void {
  if (!ENGINE_DEVICES.includes(device)) {
    throw new ExecutionProviderUnavailableError(
      device,
      `unknown device '${String(device)}': expected one of ${ENGINE_DEVICES.join(', ')}`,
    );
  }
  const entry = backends.find((b) => b.name === device);
  const names = backends.map((b) => b.name).join(', ');
  if (!entry) {
    const hint = device === 'cuda' ? ` ${CUDA_INSTALL_HINT}` : '';
    throw new ExecutionProviderUnavailableError(
      device,
      `execution provider '${device}' is not supported by this onnxruntime-node build on ${process.platform}/${process.arch} (supported: ${names}).${hint}`,
    );
  }
  if (!entry.bundled) {
    const lib = providerLibrary(device);
    if (lib && !fs.existsSync(path.join(binaryDir, lib))) {
      throw new ExecutionProviderUnavailableError(
        device,
        `execution provider '${device}' is not installed: ${path.join(binaryDir, lib)} is missing. ${CUDA_INSTALL_HINT}`,
      );
    }
  }
}

export function sessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] =
    settings.device === 'cuda'
      ? [{ name: 'cuda', deviceId: settings.deviceId ?? 0 }, 'cpu']
      : settings.device === 'webgpu'
        ? ['webgpu', 'cpu']
        : ['cpu'];
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
  };
  if (settings.threads !== undefined) {
    if (!Number.isInteger(settings.threads) || settings.threads < 1) {
      throw new Error(`threads must be a positive integer, got ${settings.threads}`);
    }
    options.intraOpNumThreads = settings.threads;
  }
  return options;
}

/**
 * Where the decoder's KV cache lives and how the engine drives the decoder on a provider: the one place that
 * decides it.
 * - 'device' for WebGPU (issue 15): onnxruntime-node 1.30 binds WebGPU buffers as inputs and as pre-allocated
 *   outputs, so the cache stays on the GPU (device-kv-cache.ts: bound as past_key_values.* and present.*, GQA
 *   appends in place) and embeddings pass from session to session as device tensors; only logits come back.
 * - 'cpu' for the CPU provider and for CUDA: host memory (onnx-model.ts). On the CPU provider the cache is bound
 *   'in-place' (HostKvBinding). CUDA 'append's: the Node binding knows only the WebGPU buffer memory type, so CUDA
 *   tensors cannot be bound from JavaScript in 1.30 (model-runtime.md, "Fused decoder and device residency"), and
 *   the C API session (ort-native.ts) runs the CPU provider only.
 */
export interface DecoderPlan {
  readonly kvCache:
    { readonly location: 'device' } | { readonly location: 'cpu'; readonly binding: HostKvBinding };
  /**
   * Longest prompt chunk per decoder run; longer prefills run row by row in chunks of at most this many tokens.
   * WebGPU: ORT 1.30's GroupQueryAttention gives wrong results from 32 new tokens per run on (max abs diff 0.27 at
   * InternVL2-2B widths, CPU reference; decode and chunks <= 31 tokens on a past match to 5e-7) — measured under
   * SwiftShader (Vulkan on CPU), not yet on a real adapter.
   */
  readonly prefillChunk?: number;
}

export const WEBGPU_PREFILL_CHUNK = 31;

/**
 * How a host KV cache gets each run's new slots:
 * - 'in-place': the decoder runs through onnxruntime's C API (ort-native.ts) with the cache bound as both
 *   `past_key_values.*` and `present.*`, so GroupQueryAttention writes the new slots into it and reads the past
 *   where it lies. onnxruntime-node cannot do this on the CPU provider (it copies every fetched output back: the
 *   whole cache per step), and without a shared buffer GQA zeroes a present buffer and copies the past into it every
 *   step, the context-dependent part of a decode step (docs/engine-bench.md).
 * - 'append': onnxruntime-node feeds the cache as past and fetches each layer's packed qkv; the engine writes the
 *   new slots itself (onnx-model.ts appendFromQkv). The fallback where the C API cannot load.
 * `INTERNVL_EVAL_HOST_KV=append|in-place` overrides the default ('in-place' on the CPU provider).
 */
export type HostKvBinding = 'in-place' | 'append';

/** Whether `plan` runs the decoder through the C API with its host cache bound as past and present. */
export function bindsInPlace(plan: DecoderPlan): boolean {
  return plan.kvCache.location === 'cpu' && plan.kvCache.binding === 'in-place';
}

export function hostKvBinding(env: NodeJS.ProcessEnv = process.env): HostKvBinding {
  const v = env.INTERNVL_EVAL_HOST_KV;
  if (v === undefined || v === '') return 'in-place';
  if (v === 'in-place' || v === 'append') return v;
  throw new Error(`INTERNVL_EVAL_HOST_KV must be 'in-place' or 'append', got '${v}'`);
}

/** Everything decided per provider for an engine, in one place (as transformers.js decides in getSession). */
export interface SessionPlan {
  readonly session: ort.InferenceSession.SessionOptions;
  readonly decoder: DecoderPlan;
}

export function planSessions(options: SessionSettings): SessionPlan {
  return { session: sessionOptions(options), decoder: decoderPlan(options.device) };
}

export function decoderPlan(device: EngineDevice, env: NodeJS.ProcessEnv = process.env): DecoderPlan {
  if (device === 'webgpu') return { kvCache: { location: 'device' }, prefillChunk: WEBGPU_PREFILL_CHUNK };
  return { kvCache: { location: 'cpu', binding: device === 'cpu' ? hostKvBinding(env) : 'append' } };
}

/** Opens one ONNX file with the chosen provider; errors name the file and the provider. */
export async function openSession(
  file: string,
  settings: SessionSettings,
  options: ort.InferenceSession.SessionOptions = sessionOptions(settings),
): Promise<ort.InferenceSession> {
  assertDeviceAvailable(settings.device);
  if (!fs.existsSync(file)) throw new Error(`model file not found: ${file}`);
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (settings.device === 'webgpu' && /adapter/i.test(msg)) {
      throw new ExecutionProviderUnavailableError(
        'webgpu',
        `WebGPU execution provider could not start for ${file}: no usable GPU adapter on this machine (${msg}). Use --device cpu.`,
      );
    }
    if (settings.device === 'cuda') {
      throw new ExecutionProviderUnavailableError(
        'cuda',
        `CUDA execution provider could not start for ${file}: ${msg}. ${CUDA_INSTALL_HINT}`,
      );
    }
    throw new Error(`cannot open ONNX model ${file} on ${settings.device}: ${msg}`);
  }
}
