import type { Vec3 } from '@tomosort/volume';

/** Fields of a hand-written NIfTI-1 header (defaults: int16, 3D, no transform, little endian). */
export interface HeaderSpec {
  dim: number[];
  datatype?: number;
  bitpix?: number;
  pixdim?: number[];
  voxOffset?: number;
  slope?: number;
  inter?: number;
  xyztUnits?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: Vec3;
  qoffset?: Vec3;
  srow?: [number[], number[], number[]];
  littleEndian?: boolean;
}

/** Writes the 348-byte header + 4 extension bytes + voxel bytes, as a NIfTI-1 writer would. */
export function niftiFile(spec: HeaderSpec, voxels: Uint8Array): Uint8Array {
  const le = spec.littleEndian ?? true;
  const voxOffset = spec.voxOffset ?? 352;
  const out = new Uint8Array(voxOffset + voxels.length);
  const v = new DataView(out.buffer);
  v.setInt32(0, 348, le);
  spec.dim.forEach((d, n) => v.setInt16(40 + 2 * n, d, le));
  v.setInt16(70, spec.datatype ?? 4, le);
  v.setInt16(72, spec.bitpix ?? 16, le);
  (spec.pixdim ?? [1, 1, 1, 1]).forEach((p, n) => v.setFloat32(76 + 4 * n, p, le));
  v.setFloat32(108, voxOffset, le);
  v.setFloat32(112, spec.slope ?? 0, le);
  v.setFloat32(116, spec.inter ?? 0, le);
  out[123] = spec.xyztUnits ?? 2;
  v.setInt16(252, spec.qformCode ?? 0, le);
  v.setInt16(254, spec.sformCode ?? 0, le);
  (spec.quatern ?? [0, 0, 0]).forEach((q, n) => v.setFloat32(256 + 4 * n, q, le));
  (spec.qoffset ?? [0, 0, 0]).forEach((q, n) => v.setFloat32(268 + 4 * n, q, le));
  (spec.srow ?? [[], [], []]).forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + 16 * r + 4 * c, x, le)));
  out.set([0x6e, 0x2b, 0x31, 0], 344);
  out.set(voxels, voxOffset);
  return out;
}

export const int16Bytes = (values: ArrayLike<number>, le = true): Uint8Array => {
  const b = new Uint8Array(values.length * 2);
  const v = new DataView(b.buffer);
  for (let n = 0; n < values.length; n++) v.setInt16(2 * n, values[n]!, le);
  return b;
};
