/**
 * Writes src/fixtures/phantomScores.json: real slice scores for the order-check tests.
 *
 *   pnpm tomosort pretrain --model small --size 32 --batch 32 --slices 8 --steps 3000 --lr 3e-3 \
 *     --source sample:phantom:24 --seed 3 --out /tmp/pt3k
 *   TOMOSORT_THREADS=1 pnpm exec tsx packages/localize/scripts/orderFixture.ts /tmp/pt3k/model
 *
 * Subjects 0–15 of phantom cohort seed 1 (never seen in training), axial, each with BLANK_ENDS
 * air slices (−1000 HU + 10 HU noise) added below and above, scored by the model like any slice.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spearman } from '@tomosort/losses';
import { expectKind } from '@tomosort/models';
import { loadModelFromDir } from '@tomosort/models/node';
import { initNativeBackend } from '@tomosort/native';
import { prepareVolume } from '@tomosort/pretext';
import type { PreparedVolume } from '@tomosort/pretext';
import { fillGaussian, mulberry32 } from '@tomosort/random';
import { phantomSubject } from '@tomosort/samples';
import { scoreVolume } from '../src/score';

const BLANK_ENDS = [3, 2] as const;
const dir = process.argv[2];
if (!dir) throw new Error('usage: orderFixture.ts MODEL_DIR');
await initNativeBackend();
const { model, manifest } = await loadModelFromDir(dir);
const net = expectKind(model, 'score');
const apply = { apply: (x: tf.Tensor4D, training: boolean) => net.apply(x, { training }) };
const rng = mulberry32(1);

/** The volume with air slices added at both ends (positions continue the spacing). */
function withBlankEnds(p: PreparedVolume, below: number, above: number): PreparedVolume {
  const plane = p.size * p.size;
  const data = new Float32Array((p.slices + below + above) * plane);
  fillGaussian(rng, data);
  for (let i = 0; i < data.length; i++) data[i] = -1000 + 10 * data[i]!;
  data.set(p.data, below * plane);
  return { ...p, slices: p.slices + below + above, data, firstMm: p.firstMm - below * p.spacingMm };
}

const volumes = [];
for (let n = 0; n < 16; n++) {
  const s = phantomSubject(n, 1, { size: manifest.inputSize });
  const p = withBlankEnds(prepareVolume(s.id, s.volume, { plane: 'axial', size: manifest.inputSize }), ...BLANK_ENDS);
  const r = await scoreVolume(apply, p, manifest.huWindow);
  const body = [...r.blank.keys()].filter((k) => !r.blank[k]);
  console.info(`${s.id}: ${p.slices} slices, blank ${p.slices - body.length}, ρ ${spearman(body.map((k) => r.scores[k]!), body.map((k) => r.positionsMm[k]!)).toFixed(3)}`);
  volumes.push({ id: s.id, spacingMm: p.spacingMm, firstMm: p.firstMm, scores: Array.from(r.scores, (v) => +v.toPrecision(5)), blank: Array.from(r.blank) });
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'fixtures', 'phantomScores.json');
const fixture = {
  about: 'slice scores of phantom cohort seed 1, subjects 0-15, axial 32², by a small ResNet after 3000 SortingLoss steps on cohort seed 0 (scripts/orderFixture.ts)',
  model: { steps: manifest.steps, metrics: manifest.metrics, inputSize: manifest.inputSize, huWindow: manifest.huWindow },
  blankEnds: BLANK_ENDS,
  volumes,
};
writeFileSync(out, `${JSON.stringify(fixture)}\n`);
console.info(`wrote ${out}`);
