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
 * heart, ribs; liver (patient right), stomach and spleen (left); kidneys; bladder, pelvis. Ids 15..17
 * (bowel with its gas, psoas muscles, aorta and iliac arteries) were added later, so older ids never
 * change meaning.
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
  { id: 15, name: 'bowel' },
  { id: 16, name: 'psoas' },
  { id: 17, name: 'aorta' },
] as const satisfies readonly PhantomOrgan[];

/** Name of a phantom organ. */
export type PhantomOrganName = (typeof PHANTOM_ORGANS)[number]['name'];

/** Label id of each organ name. */
export const PHANTOM_ORGAN_ID = Object.fromEntries(PHANTOM_ORGANS.map((o) => [o.name, o.id])) as Readonly<
  Record<PhantomOrganName, number>
>;

/** Length of the canonical body (mm from the vertex to the bottom of the modelled range: mid-thigh). */
export const CANONICAL_BODY_MM = 1100;

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

/** The thighs below the crotch (one side; mirrored). */
const THIGH: readonly Knot[] = [
  [990, 70, 80, 80, 5],
  [1100, 78, 82, 92, 5],
];

/** Thigh muscle inside each thigh's fat (painted as body, like the trunk's muscle). */
const THIGH_MUSCLE: readonly Layer[] = [-1, 1].map((side): Layer => ({
  organ: 'body',
  hu: 40,
  shape: { kind: 'tube', knots: THIGH.map(([d, a, b, x, y]) => [d, a, b, side * x, y] as const), belowFat: true },
}));

/**
 * The abdominal cavity's visceral and retroperitoneal fat, growing from below the liver into the
 * pelvis and narrowing again: organs, bowel and psoas are painted into it so that the lower
 * abdomen changes with depth the way real CT does (the muscle wall is painted over its edge).
 */
const ABDOMINAL_FAT: readonly Knot[] = [
  [660, 95, 55, 0, 10],
  [760, 128, 75, 0, 5],
  [880, 138, 78, 0, 0],
  [970, 100, 55, 0, -5],
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

/** Psoas (one side, patient left; mirrored): thin at the top of the lumbar spine, thick in the pelvis. */
const PSOAS: readonly Knot[] = [
  [690, 7, 7, 24, 52],
  [780, 16, 14, 36, 50],
  [870, 25, 21, 48, 38],
  [940, 22, 20, 64, 12],
  [1000, 18, 18, 78, 0],
];

/** Descending aorta, left of the spine in the chest, on it in the abdomen, down to the bifurcation. */
const AORTA: readonly Knot[] = [
  [400, 13, 13, 22, 30],
  [600, 12, 12, 12, 22],
  [830, 11, 11, 4, 12],
];

/** Common and external iliac artery (one side), diverging from the bifurcation towards the groin. */
const ILIAC_ARTERY: readonly Knot[] = [
  [830, 7, 7, 8, 12],
  [900, 7, 7, 45, 10],
  [980, 7, 7, 80, -10],
];

/** Iliac wing (one side): a bony plate that flares out of the sacroiliac joint, then narrows to the hip. */
const ILIAC_WING: readonly Knot[] = [
  [820, 22, 14, 50, 52],
  [860, 42, 22, 80, 35],
  [900, 40, 24, 92, 20],
  [930, 26, 20, 94, 10],
];

/** Sacrum: the spine's continuation, wide at the top and tapering to the coccyx. */
const SACRUM: readonly Knot[] = [
  [870, 40, 18, 0, 62],
  [930, 30, 14, 0, 72],
  [990, 12, 9, 0, 70],
];

/** Colon (one side of the frame, patient left = descending; mirrored = ascending). */
const COLON: readonly Knot[] = [
  [690, 22, 20, 100, 5],
  [880, 24, 22, 95, 0],
];

const mirroredTube = (organ: PhantomOrganName, hu: number, knots: readonly Knot[], extra: Partial<Pick<Layer, 'clip' | 'bands'>> & { readonly shell?: number } = {}): Layer[] => {
  const { shell, ...rest } = extra;
  const flip = knots.map(([d, a, b, x, y]) => [d, a, b, -x, y] as const);
  return [flip, knots].map((k): Layer => ({ organ, hu, shape: { kind: 'tube', knots: k, ...(shell === undefined ? {} : { shell }) }, ...rest }));
};

/**
 * Small-bowel loops filling the anterior abdomen: a fixed cluster of soft-tissue ellipsoids, some
 * holding a gas bubble, at depths 700..900.
 */
const SMALL_BOWEL: readonly Layer[] = [
  [-40, -40, 720], [30, -50, 740], [-10, -20, 770], [55, -25, 790], [-60, -10, 805],
  [10, -55, 820], [-30, -45, 850], [45, -40, 860], [0, -15, 885], [-55, -35, 900],
].flatMap(([x, y, d], n): Layer[] => {
  const loop: Layer = { organ: 'bowel', hu: 35, shape: { kind: 'ellipsoid', centre: [x!, y!, d!], radii: [24, 18, 22] } };
  if (n % 2 === 1) return [loop];
  return [loop, { organ: 'bowel', hu: -800, shape: { kind: 'ellipsoid', centre: [x!, y! - 4, d!], radii: [12, 8, 12] } }];
});

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
  ...mirroredTube('body', -100, THIGH),
  ...THIGH_MUSCLE,
  { organ: 'body', hu: -90, shape: { kind: 'tube', knots: ABDOMINAL_FAT } },
  { organ: 'brain', hu: 35, shape: { kind: 'ellipsoid', centre: [0, 0, 112], radii: [65, 85, 98] }, clip: [0, 140] },
  { organ: 'skull', hu: 700, shape: { kind: 'ellipsoid', centre: [0, 0, 112], radii: [72, 92, 105], shell: 7 }, clip: [0, 140] },
  { organ: 'skull', hu: 600, shape: { kind: 'tube', knots: [[138, 62, 78, 0, 5], [152, 58, 72, 0, 8]] } },
  ...mirrored('lungs', -820, 78, 12, 470, [60, 80, 150]),
  { organ: 'heart', hu: 40, shape: { kind: 'ellipsoid', centre: [25, -30, 505], radii: [60, 52, 62] } },
  { organ: 'liver', hu: 60, shape: { kind: 'ellipsoid', centre: [-62, 0, 640], radii: [92, 85, 80] } },
  { organ: 'stomach', hu: 25, shape: { kind: 'ellipsoid', centre: [62, -25, 625], radii: [50, 45, 55] } },
  { organ: 'spleen', hu: 45, shape: { kind: 'ellipsoid', centre: [100, 50, 640], radii: [32, 45, 50] } },
  // Kidneys in the nephrographic phase of a contrast scan: much brighter than muscle.
  ...mirrored('kidneys', 150, 68, 55, 745, [28, 32, 55], 755),
  ...mirroredTube('psoas', 50, PSOAS),
  ...mirroredTube('aorta', 200, ILIAC_ARTERY),
  { organ: 'aorta', hu: 200, shape: { kind: 'tube', knots: AORTA } },
  ...SMALL_BOWEL,
  // Transverse colon across the upper abdomen, then the ascending and descending colon, all with gas.
  { organ: 'bowel', hu: 30, shape: { kind: 'ellipsoid', centre: [0, -55, 690], radii: [115, 22, 20] } },
  { organ: 'bowel', hu: -850, shape: { kind: 'ellipsoid', centre: [0, -58, 690], radii: [100, 14, 13] } },
  ...mirroredTube('bowel', 30, COLON),
  ...mirroredTube('bowel', -850, COLON.map(([d, a, b, x, y]) => [d, a - 9, b - 9, x, y - 3] as const)),
  // Rectum with gas behind the bladder.
  { organ: 'bowel', hu: 30, shape: { kind: 'tube', knots: [[900, 20, 18, 10, 45], [990, 16, 16, 0, 50]] } },
  { organ: 'bowel', hu: -850, shape: { kind: 'tube', knots: [[900, 10, 9, 10, 43], [960, 8, 8, 2, 48]] } },
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
  ...mirroredTube('pelvis', 450, ILIAC_WING),
  ...mirroredTube('pelvis', 700, ILIAC_WING, { shell: 4 }),
  { organ: 'pelvis', hu: 450, shape: { kind: 'tube', knots: SACRUM } },
  ...mirrored('pelvis', 500, 95, 5, 940, [24, 24, 24]),
  // Pubic rami in front of the bladder, then the femoral necks and shafts down the thighs.
  ...mirroredTube('pelvis', 500, [[945, 12, 10, 40, -60], [975, 12, 10, 30, -62]]),
  ...mirroredTube('pelvis', 500, [[955, 16, 16, 110, 5], [1000, 16, 16, 100, 5], [1100, 13, 13, 92, 8]]),
  ...mirroredTube('pelvis', 800, [[1000, 16, 16, 100, 5], [1100, 13, 13, 92, 8]], { shell: 5 }),
];
