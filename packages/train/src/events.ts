/** What the loop reports while it runs (a discriminated union: switch on `type`). */
export type TrainEvent =
  | { readonly type: 'start'; readonly backend: string; readonly fromStep: number; readonly steps: number; readonly resumed: boolean }
  | {
      readonly type: 'step';
      readonly step: number;
      readonly steps: number;
      readonly loss: number;
      readonly lr: number;
      readonly gradNorm: number;
      readonly ms: number;
      readonly slicesPerSecond: number;
      readonly etaSeconds: number;
      /** tf.memory(): tensors alive and bytes held by the backend. */
      readonly numTensors: number;
      readonly numBytes: number;
    }
  | { readonly type: 'checkpoint'; readonly step: number; readonly where: string }
  | { readonly type: 'done'; readonly step: number; readonly status: 'finished' | 'cancelled'; readonly seconds: number };
