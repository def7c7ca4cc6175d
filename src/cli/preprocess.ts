/**
 * `internvl-eval preprocess IMAGE`: show what the model is fed for one image (grid, tiles, token count), and dump
 * the tiles / the normalised tensor for comparison with the Python reference.
 */
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { writeFloat32LE, writeTilePngs } from '../model/inputs/image-dump.ts';
import { preprocessImage } from '../model/inputs/image-preprocess.ts';

/** `<IMG_CONTEXT>` tokens per 448x448 tile (InternVL2 `num_image_token`). */
const TOKENS_PER_TILE = 256;

interface PreprocessArgs {
  image: string;
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
  command: 'preprocess <image>',
  describe:
    'Decode and tile one image as InternVL2 does; print grid and token count, optionally dump tiles/tensor',
  builder: (y) =>
    y
      .positional('image', {
        type: 'string',
        demandOption: true,
        describe: 'image file (PNG, JPEG, GIF, WebP, BMP, TIFF)',
      })
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
    let bytes: Uint8Array;
    try {
      bytes = await readFile(args.image);
    } catch (e) {
      throw new Error(`cannot read ${args.image}: ${(e as Error).message}`);
    }
    const r = await preprocessImage(bytes, {
      maxTiles: args['max-tiles'],
      minTiles: args['min-tiles'],
      useThumbnail: args.thumbnail,
      resize: args.resize,
      upscale: args.upscale,
      decode: { origin: args.image },
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
      `${args.image}: ${r.width}x${r.height}, grid ${r.grid[0]}x${r.grid[1]} (cols x rows)${thumb} = ${r.tiles} tiles, ` +
        `${summary.imageTokens} image tokens (resize ${args.resize})\n`,
    );
    for (const f of written) process.stdout.write(`wrote ${f}\n`);
  },
};
