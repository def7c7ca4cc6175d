/** The fixed request mix of the serve load test and bench (bench/serve.ts). */
import { PNG_2X2 } from '../runner/helpers.ts';

const dataUrl = `data:image/png;base64,${PNG_2X2.toString('base64')}`;

/**
 * A fixed mix: text-only and one-image questions, different lengths and token limits. `forceTokens`: every reply
 * runs to its `max_tokens` (min_tokens = max_tokens), so a random-weight model's early stop token does not make
 * the decode work vary (the bench's setting).
 */
export function loadBodies(n: number, opts: { maxTokens?: number; forceTokens?: boolean } = {}): object[] {
  return Array.from({ length: n }, (_, i) => ({
    model: 'tiny',
    max_tokens: (opts.maxTokens ?? 6) + (i % 4) * 2,
    ...(opts.forceTokens ? { min_tokens: (opts.maxTokens ?? 6) + (i % 4) * 2 } : {}),
    messages: [
      {
        role: 'user',
        content:
          i % 3 === 0
            ? [
                { type: 'image_url', image_url: { url: dataUrl, max_dynamic_patch: 1 } },
                { type: 'text', text: `Describe picture ${i}.` },
              ]
            : `Question ${i}: ${'why '.repeat(1 + (i % 5))}?`,
      },
    ],
  }));
}
