import { TrainError } from './errors';

/** Named float32 arrays packed as one JSON index + one binary blob (checkpoint payloads). */
export interface TensorBundleIndex {
  readonly entries: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly length: number }[];
}

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Packs arrays into one buffer; `offset`/`length` count float32 values. */
export function packBundle(arrays: readonly NamedArray[]): { index: TensorBundleIndex; data: Uint8Array } {
  const total = arrays.reduce((n, a) => n + a.values.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  const entries = arrays.map((a) => {
    all.set(a.values, offset);
    const e = { name: a.name, shape: [...a.shape], offset, length: a.values.length };
    offset += a.values.length;
    return e;
  });
  return { index: { entries }, data: new Uint8Array(all.buffer) };
}

/** Inverse of packBundle; throws when the blob is shorter than the index says. */
export function unpackBundle(index: TensorBundleIndex, data: Uint8Array): NamedArray[] {
  const copy = new Uint8Array(data); // a copy with its own ArrayBuffer (a Node Buffer may sit inside a shared pool)
  const all = new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4));
  return index.entries.map((e) => {
    if (e.offset + e.length > all.length) throw new TrainError(`bundle entry ${e.name} runs past the end of the data (${all.length} values)`);
    return { name: e.name, shape: e.shape, values: all.slice(e.offset, e.offset + e.length) };
  });
}
