import { rm } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { base64Problem, checkImageBytes, DEFAULT_MAX_PIXELS } from '../../src/datasets/image-source.ts';
import { collect, png, put, split, task, tempDir } from './helpers.ts';

/** A real PNG header (signature + IHDR + a tiny IDAT + IEND) claiming w x h pixels: what a bomb looks like up front. */
function pngHeader(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('image checks on load', () => {
  it('refuses a decompression bomb from its header alone (PIL limit 2 x 89478485 pixels)', async () => {
    const bomb = pngHeader(20000, 20000);
    expect(bomb.length).toBeLessThan(200);
    await expect(checkImageBytes(bomb, 'q.jsonl:3: field "image"')).rejects.toThrow(
      `q.jsonl:3: field "image": image is 20000x20000 = 400000000 pixels, over the limit of ${DEFAULT_MAX_PIXELS} (decompression bomb guard)`,
    );
    await expect(checkImageBytes(pngHeader(100, 100), 'x')).resolves.toBeUndefined();
  });

  it('applies a configured pixel limit through openTask, and reports corrupt and missing files at load', async () => {
    const root = await tempDir();
    await put(root, 'big.png', await png(20, 20, [0, 0, 0]));
    await put(root, 'small.png', await png(5, 5, [0, 0, 0]));
    await put(root, 'corrupt.png', Buffer.from('GIF89a but not really'));
    await put(root, 'gone.png', await png(5, 5, [0, 0, 0]));
    await put(
      root,
      'q.jsonl',
      ['big', 'small', 'corrupt', 'gone']
        .map((n, k) => JSON.stringify({ image: `${n}.png`, question: n, question_id: k }))
        .join('\n'),
    );
    const { samples } = split(await collect(task({ format: 'internvl-jsonl', path: 'q.jsonl' }), root, 100));
    await expect(samples[0].images[0].load()).rejects.toThrow(
      'q.jsonl:1: field "image" (big.png): image is 20x20 = 400 pixels, over the limit of 100',
    );
    await expect(samples[1].images[0].load()).resolves.toBeInstanceOf(Uint8Array);
    await expect(samples[2].images[0].load()).rejects.toThrow(
      /^q\.jsonl:3: field "image" \(corrupt\.png\): not a readable image/,
    );
    await rm(`${root}/gone.png`);
    await expect(samples[3].images[0].load()).rejects.toThrow(
      /^q\.jsonl:4: field "image" \(gone\.png\): cannot read image .*ENOENT/,
    );
  });

  it.each([
    ['', 'empty'],
    ['aGVsbG8=', undefined],
    ['aGVs\nbG8=', undefined],
    ['aGVsbG8', 'length 7 is not a multiple of 4 (truncated?)'],
    ['aGV$bG8=', 'characters outside the base64 alphabet'],
  ])('base64 check of %j', (s, problem) => {
    expect(base64Problem(s)).toBe(problem);
  });
});
