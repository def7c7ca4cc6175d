/**
 * EngineOptions: everything that decides how the ONNX engine is built and run, as ONE object that travels whole
 * from every CLI (run, chat, serve, sweep, bench: src/cli/engine-flags.ts) through the runner and the backend to
 * the engine and its sessions. resolveEngineOptions() fills the defaults and validates, once.
 */
import { defaultEngineThreads } from '../cpu-cores.ts';
import { variantSpec, type Variant } from '../graph/variants.ts';
import { computeDtype, type ComputeDtype } from '../graph/compute-dtype.ts';
import { ENGINE_DEVICES, type EngineDevice } from './devices.ts';
import { defaultVisionBatch } from './vision-batching.ts';

export { ENGINE_DEVICES, type EngineDevice };

export interface EngineOptions {
  /** Build variant when given a checkpoint (VARIANT_TABLE); a built folder keeps its own. */
  readonly variant: Variant;
  readonly device: EngineDevice;
  /** ORT intra-op threads per session (default: every core, cpu-cores.ts). */
  readonly threads: number;
  /** CUDA device ordinal. */
  readonly deviceId?: number;
  /** Build overrides of the variant's table row (int8/int4 only). */
  readonly blockSize?: number;
  readonly accuracyLevel?: number;
  readonly zeroPoint?: boolean;
  /** Tiles per vision-encoder run (bounds activation memory; default vision-batching.ts: 4 on cpu, a cap on GPUs). */
  readonly visionBatch: number;
  /** Decoder compute precision of a build (graph/compute-dtype.ts; fp16 runs on GPU providers only). */
  readonly compute?: ComputeDtype;
  /** Built-model cache root (buildModel's cacheDir). */
  readonly cacheDir?: string;
}

/** What callers and flags may give: any subset, names as strings (checked by resolveEngineOptions). */
export type EngineOptionsInput = {
  readonly [K in keyof EngineOptions]?: K extends 'variant' | 'device' | 'compute'
    ? string
    : EngineOptions[K];
};

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
    throw new Error(`${name} must be a positive integer, got ${v}`);
  }
}

export function resolveEngineOptions(input: EngineOptionsInput = {}): EngineOptions {
  const variant = (input.variant ?? 'fp32') as Variant;
  const spec = variantSpec(variant);
  const device = (input.device ?? 'cpu') as EngineDevice;
  if (!ENGINE_DEVICES.includes(device)) {
    throw new Error(`unknown device '${device}' (expected one of ${ENGINE_DEVICES.join(', ')})`);
  }
  positiveInt('threads', input.threads);
  positiveInt('visionBatch', input.visionBatch);
  if (
    spec.bits === undefined &&
    (input.blockSize !== undefined || input.accuracyLevel !== undefined || input.zeroPoint)
  ) {
    throw new Error(`block size, accuracy level and zero points apply to int8/int4 only, not ${variant}`);
  }
  return {
    variant,
    device,
    threads: input.threads ?? defaultEngineThreads(),
    visionBatch: input.visionBatch ?? defaultVisionBatch(device),
    ...(input.deviceId !== undefined ? { deviceId: input.deviceId } : {}),
    ...(input.blockSize !== undefined ? { blockSize: input.blockSize } : {}),
    ...(input.accuracyLevel !== undefined ? { accuracyLevel: input.accuracyLevel } : {}),
    ...(input.zeroPoint !== undefined ? { zeroPoint: input.zeroPoint } : {}),
    ...(input.cacheDir !== undefined ? { cacheDir: input.cacheDir } : {}),
    ...(input.compute !== undefined ? { compute: computeDtype(input.compute) } : {}),
  };
}
