/**
 * `internvl-eval preprocess IMAGE`: show what the model is fed for one image (grid, tiles, token count), and dump
 * the tiles / the normalised tensor for comparison with the Python reference.
 * `internvl-eval preprocess --bench [--max-tiles N] [--workers N] IMAGE...`: time preprocessing of your own images
 * (repeated for a few seconds; one thread unless --workers) and print images/s and tiles/s.
 */
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { writeFloat32LE, writeTilePngs } from '../model/inputs/image-dump.ts';
import { preprocessImage } from '../model/inputs/image-preprocess.ts';
import { measurePreprocessThroughput } from '../model/inputs/preprocess-throughput.ts';

/** `<IMG_CONTEXT>` tokens per 448x448 tile (InternVL2 `num_image_token`). */
const TOKENS_PER_TILE = 256;

interface PreprocessArgs {
  images: string[];
  bench: boolean;
  workers: number;
  seconds: number;
  'max-tiles': number;
  'min-tiles': number;
  thumbnail: boolean;
  resize: 'exact' | 'fast';
  upscale: number;
  'dump-tiles'?: string;
  out?: string;
  json: boolean;
}

export const preprocessCommand: CommandModule<object, PreprocessArgs> = {
  command: 'preprocess <images..>',
  describe:
    'Decode and tile one image as InternVL2 does; print grid and token count, optionally dump tiles/tensor ' +
    '(--bench: time preprocessing of the images)',
  builder: (y) =>
    y
      .positional('images', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'image file(s) (PNG, JPEG, GIF, WebP, BMP, TIFF); several only with --bench',
      })
      .option('bench', {
        type: 'boolean',
        default: false,
        describe: 'repeat the images for --seconds and print images/s and tiles/s',
      })
      .option('workers', {
        type: 'number',
        default: 0,
        describe: 'with --bench: worker threads (0 = one thread, the main one)',
      })
      .option('seconds', { type: 'number', default: 3, describe: 'with --bench: measuring time' })
      .option('max-tiles', {
        type: 'number',
        default: 6,
        describe: 'max_num (6 for most IVL tasks; 12/18/24 for some)',
      })
      .option('min-tiles', { type: 'number', default: 1, describe: 'min_num' })
      .option('thumbnail', {
        type: 'boolean',
        default: true,
        describe: 'append the 448x448 thumbnail (--no-thumbnail)',
      })
      .option('resize', {
        choices: ['exact', 'fast'] as const,
        default: 'exact' as const,
        describe: 'exact = Pillow-identical; fast = sharp',
      })
      .option('upscale', {
        type: 'number',
        default: 1,
        describe: 'bilinear upscale factor before tiling (VLMEvalKit MMMU: 2)',
      })
      .option('dump-tiles', {
        type: 'string',
        describe: 'write each tile as DIR/tile-NN.png (thumbnail last)',
      })
      .option('out', {
        type: 'string',
        describe: 'write pixel values as float32 little-endian [tiles,3,448,448]',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print {"width","height","grid","tiles","imageTokens"}',
      }),
  handler: async (args) => {
    if (args.bench) return bench(args);
    if (args.images.length !== 1)
      throw new Error(`preprocess: give one image (several only with --bench), got ${args.images.length}`);
    const image = args.images[0];
    const r = await preprocessImage(await readImage(image), {
      maxTiles: args['max-tiles'],
      minTiles: args['min-tiles'],
      useThumbnail: args.thumbnail,
      resize: args.resize,
      upscale: args.upscale,
      decode: { origin: image },
    });
    const summary = {
      width: r.width,
      height: r.height,
      grid: [r.grid[0], r.grid[1]],
      tiles: r.tiles,
      imageTokens: TOKENS_PER_TILE * r.tiles,
    };
    const written: string[] = [];
    if (args['dump-tiles']) written.push(...(await writeTilePngs(r.tileRgb, args['dump-tiles'])));
    if (args.out) {
      await writeFloat32LE(args.out, r.pixelValues);
      written.push(args.out);
    }
    if (args.json) {
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    const thumb = r.tiles > r.grid[0] * r.grid[1] ? ' + thumbnail' : '';
    process.stdout.write(
      `${image}: ${r.width}x${r.height}, grid ${r.grid[0]}x${r.grid[1]} (cols x rows)${thumb} = ${r.tiles} tiles, ` +
        `${summary.imageTokens} image tokens (resize ${args.resize})\n`,
    );
    for (const f of written) process.stdout.write(`wrote ${f}\n`);
  },
};

async function readImage(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

async function bench(args: PreprocessArgs): Promise<void> {
  const images = await Promise.all(args.images.map(readImage));
  const opts = {
    maxTiles: args['max-tiles'],
    minTiles: args['min-tiles'],
    useThumbnail: args.thumbnail,
    resize: args.resize,
    upscale: args.upscale,
  };
  // One checked pass first, so a bad file fails with its name instead of inside the timing loop.
  for (const [i, b] of images.entries())
    await preprocessImage(b, { ...opts, decode: { origin: args.images[i] } });
  const t = await measurePreprocessThroughput(images, {
    preprocess: opts,
    workers: args.workers,
    seconds: args.seconds,
  });
  const where = t.workers ? `${t.workers} worker thread(s)` : 'one thread';
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ ...t, maxTiles: opts.maxTiles, resize: opts.resize })}\n`);
    return;
  }
  process.stdout.write(
    `${images.length} image(s), max tiles ${opts.maxTiles}, resize ${opts.resize}, ${where}: ` +
      `${t.imagesPerSec.toFixed(2)} images/s, ${t.tilesPerSec.toFixed(1)} tiles/s ` +
      `(${t.images} images in ${t.seconds.toFixed(1)} s, ${t.cpuMsPerImage.toFixed(1)} ms CPU per image)\n`,
  );
}
