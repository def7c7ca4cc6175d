/**
 * How the cores of this machine are shared by default between the ONNX Runtime sessions (intra-op threads) and the
 * image-preprocessing worker pool. ORT's own default is one intra-op thread per *physical* core, which on a 2-vCPU
 * VM means 1 thread: half the machine (issue 11 measured 2× slower vision and prefill than with 2 threads).
 */
import os from 'node:os';

/** Logical cores this process may use (`os.availableParallelism()`: honours CPU affinity). */
export function availableCores(): number {
  return Math.max(1, os.availableParallelism());
}

/** ORT intra-op threads per session: every core; the sessions run one at a time (vision, embed, decoder). */
export function defaultEngineThreads(cores: number = availableCores()): number {
  return cores;
}

/**
 * Preprocessing workers next to an engine that uses every core: they work in bursts ahead of the model (the
 * runner's preparation stage), so a quarter of the cores (at least 1) keeps images ready without taking the cores
 * the model's matrix work needs. Standalone pools keep their own default (preprocess-pool.ts defaultPoolSize).
 */
export function defaultPreprocessWorkers(cores: number = availableCores()): number {
  return Math.max(1, Math.floor(cores / 4));
}
