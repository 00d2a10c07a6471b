/**
 * The canonical phantom body: analytic shapes in a body frame where x runs to the patient's left,
 * y to the back (both mm from the body axis) and d is mm below the top of the head (vertex).
 * A subject scales x and y by its girth and d by its height (see phantom.ts).
 */

/** One organ of the phantom label maps. */
export interface PhantomOrgan {
  /** Label value (1..N; 0 is air outside the body). */
  readonly id: number;
  readonly name: string;
}

/**
 * Organ ids of every phantom label map, in a fixed order. 'body' is soft tissue and fat that is
 * not part of another organ. From head to feet: skull, brain; spine (all along); airway; lungs,
 * heart, ribs; liver (patient right), stomach and spleen (left); kidneys; bladder, pelvis.
 */
export const PHANTOM_ORGANS = [
  { id: 1, name: 'body' },
  { id: 2, name: 'skull' },
  { id: 3, name: 'brain' },
  { id: 4, name: 'spine' },
  { id: 5, name: 'airway' },
  { id: 6, name: 'lungs' },
  { id: 7, name: 'heart' },
  { id: 8, name: 'ribs' },
  { id: 9, name: 'liver' },
  { id: 10, name: 'stomach' },
  { id: 11, name: 'spleen' },
  { id: 12, name: 'kidneys' },
  { id: 13, name: 'bladder' },
  { id: 14, name: 'pelvis' },
] as const satisfies readonly PhantomOrgan[];

/** Name of a phantom organ. */
export type PhantomOrganName = (typeof PHANTOM_ORGANS)[number]['name'];

/** Label id of each organ name. */
export const PHANTOM_ORGAN_ID = Object.fromEntries(PHANTOM_ORGANS.map((o) => [o.name, o.id])) as Readonly<
  Record<PhantomOrganName, number>
>;

/** Length of the canonical body (mm from the vertex to the bottom of the modelled range). */
export const CANONICAL_BODY_MM = 1000;

/** Profile knot: at depth d, an ellipse of semi-axes (a, b) centred at (x, y). */
export type Knot = readonly [d: number, a: number, b: number, x: number, y: number];

/** Shapes, in canonical mm. `shell` keeps only a wall of that thickness (mm). */
export type Shape =
  | {
      readonly kind: 'ellipsoid';
      readonly centre: readonly [x: number, y: number, d: number];
      readonly radii: readonly [a: number, b: number, c: number];
      readonly shell?: number;
    }
  | {
      /** A tube whose cross-section is interpolated linearly between knots (sorted by d). */
      readonly kind: 'tube';
      readonly knots: readonly Knot[];
      /** Shrinks the section by this many mm (plus the subject's fat layer when `belowFat`). */
      readonly inset?: number;
      readonly belowFat?: boolean;
      readonly shell?: number;
    };

/** One painted shape; later layers overwrite earlier ones. */
export interface Layer {
  readonly organ: PhantomOrganName;
  /** Nominal CT number (HU) before the subject's offsets and noise. */
  readonly hu: number;
  readonly shape: Shape;
  /** Depth range (canonical mm) outside which the layer is not painted. */
  readonly clip?: readonly [number, number];
  /** Painted only where ((d − from) mod period) < width: vertebral bodies, ribs. */
  readonly bands?: { readonly from: number; readonly period: number; readonly width: number };
}

const TORSO: readonly Knot[] = [
  [280, 150, 60, 0, 10],
  [320, 172, 95, 0, 5],
  [400, 165, 105, 0, 0],
  [500, 160, 110, 0, 0],
  [600, 150, 108, 0, 0],
  [700, 150, 105, 0, 0],
  [800, 160, 105, 0, 0],
  [900, 168, 100, 0, 0],
  [1000, 160, 95, 0, 5],
];

const NECK: readonly Knot[] = [
  [190, 58, 62, 0, 10],
  [300, 62, 64, 0, 10],
];

const AIRWAY: readonly Knot[] = [
  [165, 10, 10, 0, -30],
  [235, 9, 9, 0, -20],
  [300, 9, 9, 0, -25],
  [430, 9, 9, 0, -10],
];

/** Vertebral bodies along the whole trunk, radius growing towards the lumbar spine. */
const SPINE: readonly Knot[] = [
  [140, 9, 9, 0, 15],
  [230, 10, 10, 0, 28],
  [300, 11, 11, 0, 35],
  [380, 13, 13, 0, 55],
  [600, 16, 16, 0, 55],
  [800, 19, 19, 0, 45],
  [880, 20, 20, 0, 60],
];

/** Posterior arch behind each vertebral body (a bony ring around the spinal canal). */
const SPINE_ARCH: readonly Knot[] = SPINE.map(([d, r, , x, y]) => [d, 11, 11, x, y + r + 9] as const);

const mirrored = (organ: PhantomOrganName, hu: number, x: number, y: number, d: number, radii: readonly [number, number, number], dRight = d): Layer[] => [
  { organ, hu, shape: { kind: 'ellipsoid', centre: [-x, y, dRight], radii } },
  { organ, hu, shape: { kind: 'ellipsoid', centre: [x, y, d], radii } },
];

/** The phantom, in paint order. */
export const LAYERS: readonly Layer[] = [
  { organ: 'body', hu: -100, shape: { kind: 'tube', knots: TORSO } },
  { organ: 'body', hu: 40, shape: { kind: 'tube', knots: TORSO, belowFat: true } },
  { organ: 'body', hu: 40, shape: { kind: 'ellipsoid', centre: [0, 0, 115], radii: [78, 98, 115] } },
  { organ: 'body', hu: 40, shape: { kind: 'tube', knots: NECK } },
  { organ: 'brain', hu: 35, shape: { kind: 'ellipsoid', centre: [0, 0, 112], radii: [65, 85, 98] }, clip: [0, 140] },
  { organ: 'skull', hu: 700, shape: { kind: 'ellipsoid', centre: [0, 0, 112], radii: [72, 92, 105], shell: 7 }, clip: [0, 140] },
  { organ: 'skull', hu: 600, shape: { kind: 'tube', knots: [[138, 62, 78, 0, 5], [152, 58, 72, 0, 8]] } },
  ...mirrored('lungs', -820, 78, 12, 470, [60, 80, 150]),
  { organ: 'heart', hu: 40, shape: { kind: 'ellipsoid', centre: [25, -30, 505], radii: [60, 52, 62] } },
  { organ: 'liver', hu: 60, shape: { kind: 'ellipsoid', centre: [-62, 0, 640], radii: [92, 85, 80] } },
  { organ: 'stomach', hu: 25, shape: { kind: 'ellipsoid', centre: [62, -25, 625], radii: [50, 45, 55] } },
  { organ: 'spleen', hu: 45, shape: { kind: 'ellipsoid', centre: [100, 50, 640], radii: [32, 45, 50] } },
  ...mirrored('kidneys', 30, 68, 55, 745, [28, 32, 55], 755),
  { organ: 'bladder', hu: 10, shape: { kind: 'ellipsoid', centre: [0, -35, 915], radii: [48, 42, 42] } },
  // Chest and abdominal wall: muscle painted over the organs so none reaches the fat layer.
  { organ: 'body', hu: 40, shape: { kind: 'tube', knots: TORSO, belowFat: true, shell: 16 } },
  { organ: 'airway', hu: -1000, shape: { kind: 'tube', knots: AIRWAY } },
  {
    organ: 'ribs',
    hu: 600,
    shape: { kind: 'tube', knots: TORSO, belowFat: true, inset: 6, shell: 7 },
    clip: [330, 660],
    bands: { from: 330, period: 24, width: 9 },
  },
  { organ: 'spine', hu: 80, shape: { kind: 'tube', knots: SPINE } },
  { organ: 'spine', hu: 350, shape: { kind: 'tube', knots: SPINE }, bands: { from: 140, period: 26, width: 20 } },
  { organ: 'spine', hu: 600, shape: { kind: 'tube', knots: SPINE_ARCH, shell: 4 }, bands: { from: 140, period: 26, width: 20 } },
  { organ: 'pelvis', hu: 600, shape: { kind: 'tube', knots: [[800, 40, 55, -92, 25], [890, 36, 50, -95, 25]], shell: 8 } },
  { organ: 'pelvis', hu: 600, shape: { kind: 'tube', knots: [[800, 40, 55, 92, 25], [890, 36, 50, 95, 25]], shell: 8 } },
  ...mirrored('pelvis', 500, 95, 5, 940, [24, 24, 24]),
  { organ: 'pelvis', hu: 500, shape: { kind: 'tube', knots: [[955, 16, 16, -110, 5], [1000, 16, 16, -112, 5]] } },
  { organ: 'pelvis', hu: 500, shape: { kind: 'tube', knots: [[955, 16, 16, 110, 5], [1000, 16, 16, 112, 5]] } },
];
