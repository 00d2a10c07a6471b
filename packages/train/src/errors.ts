/** Thrown when a run cannot start or continue: a checkpoint from other settings or damaged, bad options, state that does not fit the model. */
export class TrainError extends Error {
  override readonly name = 'TrainError';
}

export const isTrainError = (e: unknown): e is TrainError => e instanceof TrainError;
