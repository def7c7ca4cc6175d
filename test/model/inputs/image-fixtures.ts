/** Shared access to test/fixtures/images (made by scripts/fixtures/make_image_fixtures.py with Pillow 9.4). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));

export interface DecodeCase {
  file: string;
  pillowMode: string;
  width: number;
  height: number;
  expected: string;
  sha256: string;
  lossy: boolean;
  note: string;
}
export interface ResizeCase {
  src: string;
  filter: 'bicubic' | 'bilinear';
  width: number;
  height: number;
  sha256: string;
  samples: [number, number][];
  expected?: string;
}
export interface TileCase {
  src: string;
  maxNum: number;
  useThumbnail: boolean;
  upscale: number;
  width: number;
  height: number;
  grid: [number, number];
  tiles: { sha256: string; samples: [number, number][] }[];
}

export const manifest = JSON.parse(readFileSync(FIXTURES + 'manifest.json', 'utf8')) as {
  decode: DecodeCase[];
  resize: ResizeCase[];
  tiles: TileCase[];
};

export function fixtureBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + rel));
}

export function gunzipFixture(rel: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(FIXTURES + rel)));
}

export function readJsonFixture<T>(rel: string): T {
  return JSON.parse(readFileSync(FIXTURES + rel, 'utf8')) as T;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Max abs difference and count of differing bytes: readable failure messages instead of a 10k-byte diff. */
export function byteDiff(a: Uint8Array, b: Uint8Array): { max: number; count: number; first: number } {
  let max = 0;
  let count = 0;
  let first = -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = Math.abs((a[i] ?? -1000) - (b[i] ?? 1000));
    if (d) {
      count++;
      if (first < 0) first = i;
      if (d > max) max = d;
    }
  }
  return { max, count, first };
}
