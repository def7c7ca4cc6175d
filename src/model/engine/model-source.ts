/**
 * What `--model` names: a built model folder (has build.json), a checkpoint folder in the Hugging Face layout
 * (config.json + safetensors), or a Hugging Face repo id (`owner/name`, optionally `owner/name@revision`)
 * downloaded with @huggingface/hub `snapshotDownload` into the standard HF cache
 * (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`), honouring `HF_ENDPOINT` and `HF_TOKEN`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cachedCommit, hubEnv, redact, snapshotDir } from '../../common/hf-cache.ts';
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

/**
 * Downloads (or finds in the cache) a hub snapshot; returns its folder inside the HF cache. The cache, endpoint,
 * token and offline mode come from the same environment the dataset downloads read (`hubEnv`: HF_HUB_CACHE /
 * HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE). Offline, only a cached snapshot is used; nothing is fetched.
 */
export async function downloadFromHub(
  repo: string,
  revision: string | undefined,
  options: HubOptions = {},
): Promise<string> {
  const env = hubEnv();
  const cacheDir = options.cacheDir ?? env.cacheDir;
  const name = `${repo}${revision ? `@${revision}` : ''}`;
  if (env.offline) {
    const r = { repo, type: 'model' as const, ...(revision ? { revision } : {}) };
    const local = { ...env, cacheDir };
    const commit = await cachedCommit(local, r);
    const dir = commit ? snapshotDir(local, r, commit) : undefined;
    if (!dir || !fs.existsSync(path.join(dir, 'config.json'))) {
      throw new Error(
        `HF_HUB_OFFLINE is set and ${name} is not in the Hugging Face cache (${cacheDir}); ` +
          'run once with network access, or pass a local checkpoint folder to --model',
      );
    }
    return dir;
  }
  const { snapshotDownload } = await import('@huggingface/hub');
  const hubUrl = options.hubUrl ?? (process.env.HF_ENDPOINT ? env.endpoint : undefined);
  const accessToken = options.accessToken ?? env.token;
  try {
    return await snapshotDownload({
      repo: { type: 'model', name: repo },
      ...(revision ? { revision } : {}),
      ...(hubUrl ? { hubUrl } : {}),
      ...(accessToken ? { accessToken } : {}),
      cacheDir,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  } catch (err) {
    // The token never reaches a message, a log or a manifest.
    throw new Error(
      `cannot download ${name} from the Hugging Face hub: ${redact((err as Error).message, accessToken)}`,
    );
  }
}
