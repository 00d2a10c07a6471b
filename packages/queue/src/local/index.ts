export { startRedis } from './redis';
export type { LocalRedis } from './redis';
