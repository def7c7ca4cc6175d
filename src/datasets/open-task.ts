/**
 * `openTask`: the one entry the runner uses to read a task's data, whatever its format: picks the adapter for
 * `task.source.format` and streams `Sample | SampleError` (bad rows become SampleErrors, never a crash).
 */
import type { AdapterOptions, DatasetAdapter } from './adapter.ts';
import { openInternvlJsonl } from './formats/internvl-jsonl.ts';
import { openLmmsParquet } from './formats/lmms-parquet.ts';
import { openMmeTxt } from './formats/mme-txt.ts';
import { openMvbenchJson } from './formats/mvbench-json.ts';
import { openOcrbenchJson } from './formats/ocrbench-json.ts';
import { openRefcocoJsonl } from './formats/refcoco-jsonl.ts';
import { openVlmevalkitTsv } from './formats/vlmevalkit-tsv.ts';
import type { SampleOrError } from './sample.ts';
import type { DatasetFormat, TaskConfig } from './task.ts';

export const ADAPTERS: Readonly<Record<DatasetFormat, DatasetAdapter>> = {
  'internvl-jsonl': openInternvlJsonl,
  'vlmevalkit-tsv': openVlmevalkitTsv,
  'lmms-parquet': openLmmsParquet,
  'mme-txt': openMmeTxt,
  'mvbench-json': openMvbenchJson,
  'refcoco-jsonl': openRefcocoJsonl,
  'ocrbench-json': openOcrbenchJson,
};

export interface OpenTaskOptions extends AdapterOptions {
  /** Stop after this many items (Samples and SampleErrors both count), in file order. */
  limit?: number;
}

/** Streams a task's samples from `opts.root` (see task-fetch.ts `resolveTaskRoot` for the root of a fetched task). */
export async function* openTask(task: TaskConfig, opts: OpenTaskOptions): AsyncGenerator<SampleOrError> {
  const adapter = ADAPTERS[task.source.format];
  if (!adapter) throw new Error(`task ${task.name}: no adapter for format "${task.source.format}"`);
  if (opts.limit !== undefined && opts.limit <= 0) return;
  let n = 0;
  for await (const s of adapter(task, opts)) {
    yield s;
    if (opts.limit !== undefined && ++n >= opts.limit) return;
  }
}
