/** Where the ffmpeg binary is: the one `@ffmpeg-installer/ffmpeg` ships (installed by `npm ci`, no system ffmpeg). */
import { createRequire } from 'node:module';

/** Path of the bundled ffmpeg binary. */
export function ffmpegPath(): string {
  const require = createRequire(import.meta.url);
  try {
    const mod = require('@ffmpeg-installer/ffmpeg') as { path: string };
    return mod.path;
  } catch (e) {
    throw new Error(
      `ffmpeg not found: the package @ffmpeg-installer/ffmpeg (installed by npm ci) is missing or has no binary ` +
        `for this platform (${process.platform}-${process.arch}): ${(e as Error).message}`,
    );
  }
}
