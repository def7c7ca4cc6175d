/**
 * Turns a Sample into a GenerationRequest (user text from the task's prompt recipe, image bytes read now, video
 * frames sampled now) and a finished sample into its PredictionRecord.
 */
import { createHash } from 'node:crypto';
import type { Sample, SampleError } from '../datasets/sample.ts';
import type { TaskConfig } from '../datasets/task.ts';
import type { SampleScore, ScoreInput } from '../metrics/scorer.ts';
import type { GenerationRequest, GenerationResult } from './backend.ts';
import type { PredictionRecord } from './prediction-record.ts';
import type { RunDeps } from './stages.ts';

export interface PreparedRequest {
  readonly request: GenerationRequest;
  readonly promptHash: string;
}

/** Builds the request for one sample; throws (with the image's origin) when its inputs cannot be read. */
export async function prepareRequest(
  task: TaskConfig,
  sample: Sample,
  deps: Pick<RunDeps, 'buildUserText' | 'loadVideoFrames'>,
): Promise<PreparedRequest> {
  const question = deps.buildUserText(task.prompt, sample);
  let images: Uint8Array[];
  if (sample.video) {
    const frames = task.frames;
    if (!frames) throw new Error(`task ${task.name}: a video sample needs \`frames\` in the task config`);
    try {
      images = await deps.loadVideoFrames(sample.video, frames, task);
    } catch (err) {
      const where = sample.video.kind === 'file' ? sample.video.path : sample.video.dir;
      throw new Error(`video ${where}: ${(err as Error).message}`);
    }
  } else {
    images = await Promise.all(
      sample.images.map(async (img) => {
        try {
          return await img.load();
        } catch (err) {
          throw new Error(`image ${img.origin}: ${(err as Error).message}`);
        }
      }),
    );
  }
  const request: GenerationRequest = {
    id: sample.id,
    question,
    images,
    maxTiles: images.map(() => task.maxTiles),
    useThumbnail: task.useThumbnail,
    maxNewTokens: task.maxNewTokens,
    minNewTokens: task.minNewTokens,
  };
  return { request, promptHash: hashRequest(request) };
}

/** sha256 (first 16 hex) of the user text, each image's bytes hash, and the generation settings. */
export function hashRequest(req: GenerationRequest): string {
  const h = createHash('sha256');
  h.update(req.question);
  for (const img of req.images) h.update('\0img:' + createHash('sha256').update(img).digest('hex'));
  h.update(
    '\0gen:' +
      JSON.stringify({
        maxTiles: req.maxTiles,
        useThumbnail: req.useThumbnail,
        maxNewTokens: req.maxNewTokens,
        minNewTokens: req.minNewTokens,
        systemMessage: req.systemMessage ?? null,
      }),
  );
  return h.digest('hex').slice(0, 16);
}

/** Scorer-relevant fields of a sample, kept in the record so it can be re-scored without the data. */
export function sampleMeta(sample: Sample): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...sample.meta };
  if (sample.choices !== undefined) meta.choices = sample.choices;
  if (sample.hint !== undefined) meta.hint = sample.hint;
  if (sample.bbox !== undefined) meta.bbox = sample.bbox;
  if (sample.width !== undefined) meta.width = sample.width;
  if (sample.height !== undefined) meta.height = sample.height;
  if (sample.category !== undefined) meta.category = sample.category;
  return meta;
}

/** What a scorer sees of a logged record (the same shape as the `score` CLI's JSONL line). */
export function scoreInputOf(record: PredictionRecord): ScoreInput {
  return {
    ...(record.meta ?? {}),
    id: record.id,
    prediction: record.prediction,
    answers: record.answers,
    answer: record.answers[0],
  };
}

export function resultRecord(
  task: TaskConfig,
  sample: Sample,
  prepared: PreparedRequest,
  result: GenerationResult,
): PredictionRecord {
  const record: PredictionRecord = {
    id: sample.id,
    task: task.name,
    promptHash: prepared.promptHash,
    prompt: prepared.request.question,
    tiles: [...result.tiles],
    imageTokens: result.imageTokens,
    promptTokens: result.promptTokens,
    outputTokens: result.outputTokens,
    latencyMs: round(result.latencyMs),
    prediction: result.text,
    answers: [...sample.answers],
    score: null,
    meta: sampleMeta(sample),
  };
  if (result.error !== undefined) record.error = `model: ${result.error}`;
  return record;
}

/** A sample that never reached the model (bad row, unreadable image, prompt error). */
export function failedRecord(
  task: TaskConfig,
  sample: Sample | SampleError,
  error: string,
  prepared?: PreparedRequest,
): PredictionRecord {
  const isSample = (sample as Sample).answers !== undefined;
  return {
    id: sample.id,
    task: task.name,
    promptHash: prepared?.promptHash ?? '',
    prompt: prepared?.request.question ?? '',
    tiles: [],
    imageTokens: 0,
    promptTokens: 0,
    outputTokens: 0,
    latencyMs: 0,
    prediction: '',
    answers: isSample ? [...(sample as Sample).answers] : [],
    score: null,
    error,
    ...(isSample ? { meta: sampleMeta(sample as Sample) } : {}),
  };
}

export function applyScore(record: PredictionRecord, score: SampleScore | null): PredictionRecord {
  if (score === null) return record;
  const out: PredictionRecord = { ...record, score: score.score };
  if (score.extracted !== undefined) out.extracted = score.extracted;
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
