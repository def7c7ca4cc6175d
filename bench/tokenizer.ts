/**
 * Tokenizer throughput: InternLM2 encoding of ~1 MB of mixed text (English, Chinese, digits, code, emoji), next to
 * baselines measured in the same run on the same text:
 * - `TextEncoder.encode` (UTF-8 only: the floor of any tokenizer's cost),
 * - the reference algorithm run as one BPE over the whole text (our slow path, without the vocabulary-derived
 *   segmentation and segment cache — what a straight port of SentencePiece's bpe_model.cc costs).
 * The real tokenizer.model comes from ../shared/fixtures (beside the repo).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternLM2Tokenizer } from '../src/model/inputs/tokenizer.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const modelDir = path.resolve(repoRoot, '../shared/fixtures/internlm2-tokenizer');

const EN =
  'the of and to in is that for it with as was on be by this are or from at an which have not but had they his were we can all one there their been if has more who will would so what out up about into them than some could time these two may then do first any like now my such only other its over also new years most people way made very after see us should well where just because through each much before between good those both'.split(
    ' ',
  );
const ZH =
  '的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质';
const CODE = [
  'function f(x) {\n  return x * 2 + 1;\n}\n',
  'for (let i = 0; i < n; i++) sum += a[i];\n',
  'def mean(xs):\n    return sum(xs) / len(xs)\n',
  '    if (err != nil) { return nil, err }\n',
];

/** Deterministic pseudo-random mixed text of about `bytes` UTF-8 bytes. */
function mixedText(bytes: number): string {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let s: string;
    switch (rnd(6)) {
      case 0:
      case 1:
        s = Array.from({ length: 5 + rnd(20) }, () => EN[rnd(EN.length)]).join(' ') + '. ';
        break;
      case 2:
        s = Array.from({ length: 5 + rnd(30) }, () => ZH[rnd(ZH.length)]).join('') + '。';
        break;
      case 3:
        s = `${rnd(100000)}.${rnd(100)} ${rnd(10 ** 6)}-${rnd(1000)} $${rnd(99999)}\n`;
        break;
      case 4:
        s = CODE[rnd(CODE.length)];
        break;
      default:
        s = ['😀 ', '  ', '\t', '\n\n', 'Ünïcödé ', '——', ' 🎉🎉 '][rnd(7)];
    }
    parts.push(s);
    size += Buffer.byteLength(s);
  }
  return parts.join('');
}

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

export async function run(): Promise<void> {
  const text = mixedText(1_000_000);
  const mb = Buffer.byteLength(text) / 1e6;
  const line = (name: string, secs: number, extra = '') =>
    process.stdout.write(
      `${name.padEnd(44)} ${(secs * 1000).toFixed(1).padStart(8)} ms  ${(mb / secs).toFixed(1).padStart(8)} MB/s${extra}\n`,
    );
  process.stdout.write(
    `text: ${mb.toFixed(2)} MB, ${text.length} UTF-16 units (English, Chinese, digits, code, emoji)\n`,
  );

  const [, tLoad] = await (async () => {
    const t = performance.now();
    const tok = await InternLM2Tokenizer.fromDir(modelDir);
    return [tok, (performance.now() - t) / 1000] as const;
  })();
  process.stdout.write(`load tokenizer.model + index: ${(tLoad * 1000).toFixed(0)} ms\n`);

  const utf8 = new TextEncoder();
  const [, tUtf8] = time(() => utf8.encode(text));
  line('baseline: TextEncoder.encode', tUtf8);

  // Cold: a fresh tokenizer (empty segment cache) per measurement.
  const cold = await InternLM2Tokenizer.fromDir(modelDir);
  const [ids, tCold] = time(() => cold.encode(text));
  const [, tWarm] = time(() => cold.encode(text));
  const slow = await InternLM2Tokenizer.fromDir(modelDir);
  const [whole, tWhole] = time(() => {
    const out: number[] = [];
    slow.sp.encodeNormalized(slow.sp.normalize(text), out, false);
    return out;
  });
  line('baseline: one BPE over the whole text', tWhole);
  line(
    'InternLM2Tokenizer.encode (cold cache)',
    tCold,
    `  ${(tWhole / tCold).toFixed(1)}x the whole-text BPE`,
  );
  line('InternLM2Tokenizer.encode (warm cache)', tWarm, `  ${(tUtf8 / tWarm).toFixed(2)}x TextEncoder speed`);
  const same = ids.length - 1 === whole.length && whole.every((id, i) => id === ids[i + 1]);
  process.stdout.write(`${ids.length} ids; fast path equals the whole-text BPE: ${same}\n`);
  const [dec, tDec] = time(() => cold.decode(ids.slice(1)));
  line('decode', tDec, `  round trip exact: ${dec === text}`);
}
