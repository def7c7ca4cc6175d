/**
 * Backend by name, for `run` and `serve`. The ONNX engine is imported only when asked for, so `--backend
 * openai` / `echo` start without loading onnxruntime.
 */
import type { EngineOptionsInput } from '../../model/engine/engine-options.ts';
import type { Backend } from '../backend.ts';
import { EchoBackend } from './echo.ts';
import { OpenAIBackend, type OpenAIBackendOptions } from './openai.ts';

export type BackendName = 'onnx' | 'openai' | 'echo';
export const BACKEND_NAMES: readonly BackendName[] = ['onnx', 'openai', 'echo'];

/** openai: the connection settings, as OpenAIBackendOptions documents them. */
type OpenAIConnection = Partial<
  Pick<OpenAIBackendOptions, 'apiKey' | 'serverKind' | 'balance' | 'timeoutMs' | 'retries' | 'backoffMs'>
>;

export interface BackendOptions extends OpenAIConnection {
  readonly backend: BackendName;
  /** onnx: model folder (checkpoint or built); openai: model name sent to the server. */
  readonly model: string;
  /** onnx: how the engine is built and run, passed whole to the engine. */
  readonly engine?: EngineOptionsInput;
  readonly batchSize?: number;
  readonly endpoints?: readonly string[];
  readonly echoDelayMs?: number;
  /** onnx: image preprocessing worker threads (default: cpu-cores.ts defaultPreprocessWorkers; 0 = main thread). */
  readonly preprocessWorkers?: number;
}

export async function createBackend(opts: BackendOptions): Promise<Backend> {
  switch (opts.backend) {
    case 'echo':
      return new EchoBackend({ delayMs: opts.echoDelayMs, maxBatch: opts.batchSize, model: opts.model });
    case 'openai':
      return new OpenAIBackend({
        endpoints: opts.endpoints ?? [],
        model: opts.model,
        apiKey: opts.apiKey,
        serverKind: opts.serverKind,
        balance: opts.balance,
        timeoutMs: opts.timeoutMs,
        retries: opts.retries,
        backoffMs: opts.backoffMs,
      });
    case 'onnx': {
      // Imported only for --backend onnx, so the other backends start without onnxruntime.
      const { OnnxBackend } = await import('./onnx.ts');
      return OnnxBackend.load(opts.model, {
        ...(opts.engine ? { engine: opts.engine } : {}),
        ...(opts.batchSize !== undefined ? { maxBatch: opts.batchSize } : {}),
        ...(opts.preprocessWorkers !== undefined ? { preprocessWorkers: opts.preprocessWorkers } : {}),
      });
    }
    default:
      throw new Error(`unknown backend "${String(opts.backend)}" (known: ${BACKEND_NAMES.join(', ')})`);
  }
}
