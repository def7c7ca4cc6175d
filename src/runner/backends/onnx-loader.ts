/**
 * Loads the in-process ONNX engine as a Backend (`OnnxBackend.load` in ./onnx.ts, owned by the engine work);
 * imported only for `--backend onnx`, so the other backends start without onnxruntime.
 */
import type { Backend } from '../backend.ts';
import type { BackendOptions } from './create.ts';

export async function createOnnxBackend(opts: BackendOptions): Promise<Backend> {
  const { OnnxBackend } = await import('./onnx.ts');
  return OnnxBackend.load(opts.model, {
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.batchSize !== undefined ? { maxBatch: opts.batchSize } : {}),
    ...(opts.preprocessWorkers !== undefined ? { preprocessWorkers: opts.preprocessWorkers } : {}),
  });
}
