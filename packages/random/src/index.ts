export type { Rng } from './random';
export { fillGaussian, hashString, mixSeed, mulberry32, uniform, uniformInt } from './random';
