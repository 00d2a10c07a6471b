import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/**
 * The pieces of tfjs-backend-webgpu's program contract our WGSL kernels use. Every tensor goes in
 * and comes out flat (rank 1), and the kernels index with their own integer uniforms: tfjs 4.22's
 * generated helpers cannot index rank-5 shapes (its `vec5` is a struct), and flat views cost no
 * copy (a reshape shares the buffer).
 */

/** One i32 uniform of a program, by the name its WGSL reads (`uniforms.<name>`). */
export type IntUniforms = Readonly<Record<string, number>>;
/** An f32 uniform set, like {@link IntUniforms}. */
export type FloatUniforms = Readonly<Record<string, number>>;

/** The same data seen as a 1D tensor: no copy, the backend reads only the data id and shape. */
export function flat(t: TensorInfo): TensorInfo {
  return { dataId: t.dataId, shape: [t.shape.reduce((a, b) => a * b, 1)], dtype: t.dtype };
}

/** A flat result given its logical shape (the buffer is the same; see {@link flat}). */
export function shaped(t: TensorInfo, shape: readonly number[]): TensorInfo {
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
}

/** The most workgroups a dispatch may have along one dimension (WebGPU's default limit). */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

export interface ProgramSpec {
  /** Names the compiled pipeline: everything baked into the WGSL text must be in it. */
  readonly key: string;
  readonly inputs: readonly string[];
  /** Elements of the flat output. */
  readonly size: number;
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroups along x, y, z; each must stay ≤ {@link MAX_WORKGROUPS_PER_DIMENSION}. */
  readonly dispatch: readonly [number, number, number];
  readonly ints?: IntUniforms;
  readonly floats?: FloatUniforms;
  /**
   * The body: WGSL that defines `fn main(index: i32)` (index = the flat invocation index; kernels
   * with a 2D/3D dispatch use `localId`, `localIndex`, `workgroupId` instead). Inputs are the
   * storage arrays named in `inputs`, the output is `result`, uniforms `uniforms.<name>`. The code
   * must read every input: tfjs builds the pipeline with layout 'auto', which drops unread bindings.
   */
  readonly code: string;
}

function uniformDeclarations(spec: ProgramSpec): string {
  const ints = Object.keys(spec.ints ?? {}).map((n) => `${n} : i32,`);
  const floats = Object.keys(spec.floats ?? {}).map((n) => `${n} : f32,`);
  return [...ints, ...floats].join(' ');
}

/**
 * Records one of our programs on the webgpu backend's command queue (no readback, no submit of
 * its own: tfjs batches submits) and returns its flat float32 output.
 */
export function runProgram(backend: WebGPUBackend, spec: ProgramSpec, inputs: readonly TensorInfo[]): TensorInfo {
  for (const d of spec.dispatch) {
    if (d > MAX_WORKGROUPS_PER_DIMENSION) {
      throw new Error(`${spec.key}: ${d} workgroups along one dimension exceed WebGPU's ${MAX_WORKGROUPS_PER_DIMENSION}`);
    }
  }
  const uniforms = uniformDeclarations(spec);
  const program: WebGPUProgram = {
    outputShape: [spec.size],
    shaderKey: `tomosort_${spec.key}`,
    // A flat layout: tfjs calls main(getGlobalIndex()) and generates no coordinate helpers we rely on.
    dispatchLayout: { x: [0] },
    dispatch: [...spec.dispatch] as [number, number, number],
    variableNames: [...spec.inputs],
    workgroupSize: [...spec.workgroupSize] as [number, number, number],
    size: true,
    ...(uniforms ? { uniforms } : {}),
    getUserCode: () => spec.code,
  };
  const values = [
    ...Object.values(spec.ints ?? {}).map((v) => ({ type: 'int32', data: [v] })),
    ...Object.values(spec.floats ?? {}).map((v) => ({ type: 'float32', data: [v] })),
  ];
  return backend.runWebGPUProgram(program, inputs.map(flat), 'float32', values);
}

/** Workgroups for `n` invocations of a 1D kernel of `perGroup` lanes, as [x, y, 1] within the per-dimension limit. */
export function flatDispatch(n: number, perGroup: number): [number, number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [groups, 1, 1];
  const x = Math.ceil(Math.sqrt(groups));
  return [x, Math.ceil(groups / x), 1];
}
