/**
 * What `--model` names: a built model folder (has build.json), a checkpoint folder in the Hugging Face layout
 * (config.json + safetensors), or a Hugging Face repo id (`owner/name`, optionally `owner/name@revision`)
 * downloaded with @huggingface/hub `snapshotDownload` into the standard HF cache
 * (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`), honouring `HF_ENDPOINT` and `HF_TOKEN`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isBuiltModelDir } from './built-model.ts';

export type ModelSource =
  | { readonly kind: 'built'; readonly dir: string }
  | { readonly kind: 'checkpoint'; readonly dir: string }
  | { readonly kind: 'hub'; readonly repo: string; readonly revision?: string };

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9._/-]+)?$/;

/** Classifies a `--model` value. A path that exists wins over a repo id of the same spelling. */
export function classifyModelSource(spec: string): ModelSource {
  const abs = path.resolve(spec);
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory())
      throw new Error(`${abs}: --model must be a folder or a Hugging Face repo id`);
    if (isBuiltModelDir(abs)) return { kind: 'built', dir: abs };
    if (fs.existsSync(path.join(abs, 'config.json'))) return { kind: 'checkpoint', dir: abs };
    throw new Error(`${abs}: neither a built model (no build.json) nor a checkpoint (no config.json)`);
  }
  if (REPO_ID.test(spec) && !spec.startsWith('.')) {
    const [repo, revision] = spec.split('@');
    return revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  }
  throw new Error(`${abs}: model folder does not exist (and '${spec}' is not a Hugging Face repo id)`);
}

export interface HubOptions {
  /** Default: $HF_ENDPOINT or https://huggingface.co */
  readonly hubUrl?: string;
  /** Default: $HF_TOKEN */
  readonly accessToken?: string;
  /** Default: the standard HF hub cache. */
  readonly cacheDir?: string;
  readonly fetch?: typeof fetch;
}

/** Downloads (or finds in the cache) a hub snapshot; returns its folder inside the HF cache. */
export async function downloadFromHub(
  repo: string,
  revision: string | undefined,
  options: HubOptions = {},
): Promise<string> {
  const { snapshotDownload } = await import('@huggingface/hub');
  const hubUrl = options.hubUrl ?? process.env.HF_ENDPOINT;
  const accessToken = options.accessToken ?? process.env.HF_TOKEN;
  try {
    return await snapshotDownload({
      repo: { type: 'model', name: repo },
      ...(revision ? { revision } : {}),
      ...(hubUrl ? { hubUrl } : {}),
      ...(accessToken ? { accessToken } : {}),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  } catch (err) {
    throw new Error(
      `cannot download ${repo}${revision ? `@${revision}` : ''} from the Hugging Face hub: ${(err as Error).message}`,
    );
  }
}
