import sharp from 'sharp';

/**
 * A deterministic noisy picture, encoded (every resampling path sees non-flat input); `seed` shifts the pattern so
 * that two pictures of one size differ.
 */
export async function noisyPicture(
  w: number,
  h: number,
  { seed = 0, format = 'png' }: { seed?: number; format?: 'png' | 'jpeg' } = {},
): Promise<Uint8Array> {
  const raw = new Uint8Array(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + seed * 131 + ((i / 3 / w) | 0) * 31) % 251;
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  return new Uint8Array(await (format === 'png' ? img.png() : img.jpeg({ quality: 85 })).toBuffer());
}
