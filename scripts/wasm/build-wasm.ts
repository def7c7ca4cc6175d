/**
 * Compiles the hand-written WebAssembly text kernels (src/model/inputs/*.wat) to the committed .wasm files next to
 * them, with wabt (a devDependency: the runtime only loads the .wasm, it never needs wabt).
 *   npm run build:wasm        (node --import tsx scripts/wasm/build-wasm.ts): rewrite the .wasm files
 * test/model/inputs/pillow-resample-wasm.test.ts checks that the committed .wasm is what this build produces.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const WAT_FILES = ['src/model/inputs/pillow-resample.wat'] as const;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The .wasm bytes for one .wat file (path relative to the repository root). */
export async function compileWat(relPath: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const text = await readFile(ROOT + relPath, 'utf8');
  const mod = wabt.parseWat(relPath, text, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({ canonicalize_lebs: true, write_debug_names: false }).buffer;
  } finally {
    mod.destroy();
  }
}

async function main(): Promise<void> {
  for (const wat of WAT_FILES) {
    const out = wat.replace(/\.wat$/, '.wasm');
    const bytes = await compileWat(wat);
    await writeFile(ROOT + out, bytes);
    process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await main();
