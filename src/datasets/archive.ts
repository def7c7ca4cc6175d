/**
 * Safe, resumable zip extraction for benchmark archives (MME_Benchmark_release_version.zip, AI2D_TEST.zip,
 * MVBench video/*.zip, Video-MME videos_chunked_*.zip): entries stream from the archive to disk one at a time
 * (yauzl reads the central directory and inflates per entry, zip64 included), so a multi-GB video zip never sits in
 * memory.
 *
 * Refused, with an error naming the archive and the entry:
 * - entries that would land outside the target folder (zip-slip): `../x`, `/abs`, `C:\x`, backslashes, NUL bytes,
 *   and symlink entries (a link could point anywhere, and a later entry could be written through it);
 * - zip bombs: more than `maxEntries` entries, more than `maxTotalBytes` uncompressed in all, or one entry whose
 *   uncompressed/compressed ratio exceeds `maxEntryRatio` (checked on the central directory's declared sizes before
 *   any byte is written, and again on the bytes actually inflated, which yauzl also holds to the declared size).
 *
 * Atomic per archive: entries go to a temp folder beside the target; only when every entry is written are they moved
 * into place (rename, same file system) and a marker recording the archive's sha256 is written last. A later call
 * with the same sha256 finds the marker and skips; an interrupted one (no marker) wipes its temp folder and starts
 * over. Several archives may share one target folder (MVBench's per-source zips, Video-MME's chunks): folders are
 * merged, files replaced.
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { sha256File } from '../common/files.ts';
import { PathEscapeError, resolveInside } from './safe-path.ts';

export interface ExtractLimits {
  /** Cap on the sum of uncompressed entry sizes of one archive, in bytes. */
  maxTotalBytes: number;
  /** Cap on one entry's uncompressed/compressed size ratio (entries under `ratioFloorBytes` are exempt). */
  maxEntryRatio: number;
  /** Cap on the number of entries (files and folders) of one archive. */
  maxEntries: number;
  /** Entries smaller than this are not ratio-checked (a 4 KiB text of spaces is no bomb). */
  ratioFloorBytes: number;
}

/**
 * Defaults sized for the real archives: Video-MME's largest chunk is tens of GB of already-compressed mp4s (ratio
 * ~1), MME and AI2D hold a few thousand images. A deflate bomb reaches ratios of ~1000 per entry.
 */
export const DEFAULT_EXTRACT_LIMITS: Readonly<ExtractLimits> = {
  maxTotalBytes: 256 * 2 ** 30,
  maxEntryRatio: 200,
  maxEntries: 1_000_000,
  ratioFloorBytes: 1 * 2 ** 20,
};

export class ArchiveError extends Error {}

export interface ExtractProgress {
  archive: string;
  entries: number;
  bytes: number;
}

export interface ExtractOptions {
  /** sha256 of the archive if already known (the hub's LFS etag); computed otherwise. */
  sha256?: string;
  limits?: Partial<ExtractLimits>;
  /** Names the archive in markers and messages (e.g. its path in the hub repo); default: its base name. */
  key?: string;
  /** Folder for markers and temp folders; must be on the target's file system. Default `<dest>/.internvl-eval`. */
  stateDir?: string;
  onProgress?: (p: ExtractProgress) => void;
}

/** What a finished extraction records (JSON marker). */
export interface ExtractMarker {
  archive: string;
  sha256: string;
  dest: string;
  entries: number;
  bytes: number;
  /** Top-level names the archive put into `dest` (checked by `extractionStatus`). */
  top: string[];
}

export interface ExtractResult extends ExtractMarker {
  /** True when a marker with this sha256 was found and nothing was written. */
  skipped: boolean;
}

const STATE = '.internvl-eval';

function markerName(key: string): string {
  return key.replace(/[^\w.-]+/g, '__') + '.json';
}

function paths(dest: string, opts: ExtractOptions, archive: string) {
  const key = opts.key ?? path.basename(archive);
  const state = opts.stateDir ?? path.join(dest, STATE);
  return {
    key,
    marker: path.join(state, 'extracted', markerName(key)),
    tmp: path.join(state, 'extracting', markerName(key).replace(/\.json$/, '')),
  };
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function readMarker(file: string): Promise<ExtractMarker | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ExtractMarker;
  } catch {
    return undefined;
  }
}

export type ExtractionState =
  { done: true; marker: ExtractMarker } | { done: false; reason: string; interrupted: boolean };

/**
 * Whether `archive` (named by `key`, default its base name) is fully extracted into `dest`: a marker exists, names
 * the same sha256 (when given), and every top-level entry it recorded is still there.
 */
export async function extractionStatus(
  dest: string,
  opts: Pick<ExtractOptions, 'key' | 'stateDir' | 'sha256'> & { archive?: string },
): Promise<ExtractionState> {
  const p = paths(dest, opts, opts.archive ?? opts.key ?? '');
  const interrupted = await exists(p.tmp);
  const m = await readMarker(p.marker);
  if (!m) {
    return {
      done: false,
      interrupted,
      reason: interrupted ? 'extraction was interrupted (run fetch again)' : 'not extracted',
    };
  }
  if (opts.sha256 && m.sha256 !== opts.sha256) {
    return {
      done: false,
      interrupted,
      reason: `extracted from another version of the archive (sha256 ${m.sha256}, now ${opts.sha256})`,
    };
  }
  for (const t of m.top) {
    if (!(await exists(path.join(dest, t)))) {
      return { done: false, interrupted, reason: `${t} is missing from ${dest}` };
    }
  }
  return { done: true, marker: m };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true },
      (err, zf) => (err ? reject(err) : resolve(zf)),
    ),
  );
}

function openEntry(zf: yauzl.ZipFile, e: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zf.openReadStream(e, (err, s) => (err ? reject(err) : resolve(s))));
}

/** Unix file type bits of an entry made on a Unix host (`versionMadeBy` high byte 3), else 0. */
function unixType(e: yauzl.Entry): number {
  return e.versionMadeBy >> 8 === 3 ? (e.externalFileAttributes >>> 16) & 0o170000 : 0;
}

/** Checks one entry name; returns its path relative to the target, or throws naming it. */
function entryTarget(label: string, root: string, e: yauzl.Entry): string {
  const name = e.fileName;
  const bad = (why: string): never => {
    throw new ArchiveError(`${label}: entry ${JSON.stringify(name)} refused: ${why}`);
  };
  if (unixType(e) === 0o120000)
    bad('symbolic links are not extracted (a link could point outside the target)');
  if (name.includes('\\')) bad('backslash in the name');
  if (/^[a-zA-Z]:/.test(name)) bad('absolute (drive) path');
  if (name.split('/')[0] === STATE) bad(`the name ${STATE} is reserved for extraction markers`);
  try {
    resolveInside(root, name);
  } catch (err) {
    bad(err instanceof PathEscapeError ? err.message.replace(root, 'the target folder') : String(err));
  }
  const rel = path.normalize(name).replace(/[/\\]+$/, '');
  if (rel === '' || rel === '.') bad('empty name');
  return rel;
}

/** Moves every entry of `from` into `to`, merging folders and replacing files; returns the top-level names. */
async function mergeInto(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const ent of await readdir(from, { withFileTypes: true })) {
    const src = path.join(from, ent.name);
    const dst = path.join(to, ent.name);
    const there = await lstat(dst).catch(() => undefined);
    if (ent.isDirectory() && there?.isDirectory()) {
      await mergeInto(src, dst);
      continue;
    }
    if (there) await rm(dst, { recursive: true, force: true });
    await rename(src, dst);
  }
}

/**
 * Extracts `archive` into `dest` (see the module comment for the checks); skips when a marker for the same sha256
 * says it is done. Throws `ArchiveError` naming the archive and the entry on anything refused; nothing of a refused
 * or failed archive reaches `dest`.
 */
export async function extractZip(
  archive: string,
  dest: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const limits = { ...DEFAULT_EXTRACT_LIMITS, ...opts.limits };
  const p = paths(dest, opts, archive);
  const label = `archive ${p.key}`;
  const sha = opts.sha256 ?? (await sha256File(archive));
  const state = await extractionStatus(dest, { ...opts, key: p.key, sha256: sha });
  if (state.done) return { ...state.marker, skipped: true };

  await rm(p.tmp, { recursive: true, force: true }); // an interrupted earlier attempt: start over
  await mkdir(p.tmp, { recursive: true });
  let zf: yauzl.ZipFile;
  try {
    zf = await openZip(archive);
  } catch (e) {
    await rm(p.tmp, { recursive: true, force: true });
    throw new ArchiveError(`${label}: not a readable zip file (${(e as Error).message})`);
  }
  if (zf.entryCount > limits.maxEntries) {
    zf.close();
    await rm(p.tmp, { recursive: true, force: true });
    throw new ArchiveError(
      `${label}: ${zf.entryCount} entries exceed the cap of ${limits.maxEntries} (maxEntries; possible zip bomb)`,
    );
  }
  const top = new Set<string>();
  let entries = 0;
  let declared = 0;
  let written = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const failWith = (e: unknown) => {
        zf.close();
        reject(
          e instanceof ArchiveError
            ? e
            : new ArchiveError(`${label}: ${(e as Error).message ?? String(e)} (bad or unsafe zip)`),
        );
      };
      zf.on('error', failWith);
      zf.on('end', resolve);
      zf.on('entry', (e: yauzl.Entry) => {
        (async () => {
          const rel = entryTarget(label, p.tmp, e);
          const entryLabel = `${label}: entry ${JSON.stringify(e.fileName)}`;
          entries++;
          top.add(rel.split(path.sep)[0]);
          const out = path.join(p.tmp, rel);
          if (e.fileName.endsWith('/')) {
            await mkdir(out, { recursive: true });
            return;
          }
          declared += e.uncompressedSize;
          if (declared > limits.maxTotalBytes) {
            throw new ArchiveError(
              `${entryLabel}: the archive's uncompressed size exceeds the cap of ${limits.maxTotalBytes} bytes ` +
                `(maxTotalBytes; possible zip bomb)`,
            );
          }
          const ratio = e.uncompressedSize / Math.max(1, e.compressedSize);
          if (e.uncompressedSize >= limits.ratioFloorBytes && ratio > limits.maxEntryRatio) {
            throw new ArchiveError(
              `${entryLabel}: compression ratio ${ratio.toFixed(0)}:1 (${e.uncompressedSize} bytes from ` +
                `${e.compressedSize}) exceeds the cap of ${limits.maxEntryRatio}:1 (maxEntryRatio; possible zip bomb)`,
            );
          }
          if (e.isEncrypted()) throw new ArchiveError(`${entryLabel}: encrypted entries are not supported`);
          await mkdir(path.dirname(out), { recursive: true });
          const src = await openEntry(zf, e);
          let entryBytes = 0;
          // Counts the bytes actually inflated, in case the declared sizes lie (yauzl checks that too).
          const guard = new Transform({
            transform(chunk: Buffer, _enc, cb) {
              entryBytes += chunk.length;
              written += chunk.length;
              if (entryBytes > e.uncompressedSize || written > limits.maxTotalBytes) {
                cb(
                  new ArchiveError(
                    `${entryLabel}: inflates beyond its declared or allowed size (possible zip bomb)`,
                  ),
                );
                return;
              }
              opts.onProgress?.({ archive: p.key, entries, bytes: written });
              cb(null, chunk);
            },
          });
          try {
            await pipeline(src, guard, createWriteStream(out));
          } catch (err) {
            if (err instanceof ArchiveError) throw err;
            throw new ArchiveError(`${entryLabel}: ${(err as Error).message}`);
          }
        })().then(() => zf.readEntry(), failWith);
      });
      zf.readEntry();
    });
    await mergeInto(p.tmp, dest);
  } catch (e) {
    await rm(p.tmp, { recursive: true, force: true });
    throw e;
  }
  await rm(p.tmp, { recursive: true, force: true });
  await rmdir(path.dirname(p.tmp)).catch(() => undefined); // only when no other extraction is under way
  const marker: ExtractMarker = {
    archive: p.key,
    sha256: sha,
    dest,
    entries,
    bytes: written,
    top: [...top].sort(),
  };
  await mkdir(path.dirname(p.marker), { recursive: true });
  await writeFileAtomic(p.marker, JSON.stringify(marker, null, 2) + '\n');
  return { ...marker, skipped: false };
}
