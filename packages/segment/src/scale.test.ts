import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@tomosort/backend/node';
import { createVolume } from '@tomosort/volume';
import type { Volume } from '@tomosort/volume';
import { dicePerClass, isSegmentError, predictVolume, prepareAnnotation, toModelInput } from './index';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

/**
 * A disk of radius `r` mm (value 200, else −1000) at patient (cx, cy) mm on an nx × ny grid of
 * (sx, sy) mm pixels, 3 slices; labels 1 inside.
 */
function disk(nx: number, ny: number, sx: number, sy: number, r: number, cx: number, cy: number, modality = 'CT') {
  const data = new Float32Array(nx * ny * 3);
  const labels = new Uint8Array(nx * ny * 3);
  for (let k = 0; k < 3; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const inside = Math.hypot(i * sx - cx, j * sy - cy) < r;
        data[i + nx * (j + ny * k)] = inside ? 200 : -1000;
        labels[i + nx * (j + ny * k)] = inside ? 1 : 0;
      }
    }
  }
  const geometry = { dims: [nx, ny, 3] as const, spacing: [sx, sy, 2] as const, origin: [0, 0, 0] as never };
  return { volume: createVolume({ ...geometry, data, modality }), labels: createVolume({ ...geometry, data: labels, modality: 'SEG' }) };
}

/** Pixels above half the window's range in slice 0 of a model-grid image. */
const area = (images: Float32Array, size: number, threshold: number): number => images.subarray(0, size * size).reduce((n, x) => n + (x > threshold ? 1 : 0), 0);

/** A "model" that labels window units above 0.5 as class 1: it sees exactly what it is fed. */
const threshold = { apply: (x: tf.Tensor4D) => tf.mul(tf.concat([tf.sub(0.5, x), tf.sub(x, 0.5)], 3), 50) };

describe('fixed physical scale: slices reach the model at mm per pixel, not squeezed to size²', () => {
  it('a 30 mm disk covers the same model pixels whatever the scan pixel size and field of view', () => {
    // 0.5 mm pixels over 100 × 60 mm, and 1.25 mm pixels over 150 × 150 mm: both at 2 mm/pixel, 64².
    const fine = disk(200, 120, 0.5, 0.5, 15, 50, 30);
    const coarse = disk(120, 120, 1.25, 1.25, 15, 74.375, 74.375);
    const opts = { mmPerPixel: 2 };
    const a = prepareAnnotation({ id: 'fine', ...fine, slices: [0] }, 64, [{ value: 1, name: 'disk' }], opts);
    const b = prepareAnnotation({ id: 'coarse', ...coarse, slices: [0] }, 64, [{ value: 1, name: 'disk' }], opts);
    const expected = (Math.PI * 15 * 15) / (2 * 2); // ≈ 177 pixels
    for (const p of [a, b]) {
      expect(Math.abs(area(p.images, 64, -400) - expected) / expected).toBeLessThan(0.08);
      expect(Math.abs(p.targets.reduce((n, t) => n + t, 0) - expected) / expected).toBeLessThan(0.08);
    }
    // Stretched to size² (no mmPerPixel), the non-square fine scan's disk becomes an ellipse of another area.
    const squeezed = prepareAnnotation({ id: 'fine', ...fine, slices: [0] }, 64, [{ value: 1, name: 'disk' }]);
    expect(Math.abs(area(squeezed.images, 64, -400) - expected) / expected).toBeGreaterThan(0.5);
  });

  it('padding beyond the scan takes its lowest value (air), not the edge pixels', () => {
    const { volume } = disk(40, 40, 1, 1, 10, 20, 20);
    // 128 mm field of view around a 40 mm scan: the outer ring is padding.
    const small = toModelInput(volume, 64, { mmPerPixel: 2 });
    expect(small.data[0]).toBe(-1000);
    expect(small.spacing.slice(0, 2)).toEqual([2, 2]);
  });

  it('prediction maps back onto the scan grid: a threshold model recovers the disk (Dice > 0.95), background beyond the model’s field of view', async () => {
    const { volume, labels } = disk(150, 90, 0.8, 1.2, 20, 60, 54);
    const classes = [{ value: 1, name: 'disk' }];
    const window = { center: -400, width: 1200 };
    const predicted = await predictVolume(threshold, volume, { size: 64, mmPerPixel: 1.5, window, classes });
    expect(predicted.dims).toEqual(volume.dims);
    expect(dicePerClass(predicted, labels, classes).disk).toBeGreaterThan(0.95);
    // A 32 mm field of view around the scan's centre (60, 53.4 mm) holds part of the disk; outside it, background.
    const cropped = await predictVolume(threshold, volume, { size: 16, mmPerPixel: 2, window, classes });
    for (let j = 0; j < 90; j++) {
      for (let i = 0; i < 150; i++) {
        const far = Math.abs(i * 0.8 - 59.6) > 18 || Math.abs(j * 1.2 - 53.4) > 18;
        if (far) expect(cropped.data[i + 150 * j]).toBe(0);
      }
    }
    expect(cropped.data.reduce((n, v) => n + v, 0)).toBeGreaterThan(0);
  });
});

describe('intensity by modality', () => {
  it('an MR volume at any gain reaches the model in the same window units; without a window it is refused', () => {
    const a = disk(40, 40, 1, 1, 10, 20, 20, 'MR');
    const b = disk(40, 40, 1, 1, 10, 20, 20, 'MR');
    for (let n = 0; n < b.volume.data.length; n++) b.volume.data[n] = 3 * (a.volume.data[n]! + 1000) + 17;
    const window = { center: 40, width: 400 };
    const x = toModelInput(a.volume, 16, { window });
    const y = toModelInput(b.volume, 16, { window });
    for (let n = 0; n < x.data.length; n++) expect(y.data[n]).toBeCloseTo(x.data[n]!, 2);
    expect(() => toModelInput(a.volume, 16, {})).toThrow(/MR volume needs the model's window/);
    try {
      toModelInput(a.volume, 16, {}, 'mr-series');
    } catch (e) {
      expect(isSegmentError(e)).toBe(true);
    }
  });
});
