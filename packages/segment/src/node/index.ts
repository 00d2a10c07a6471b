export { interpolateAnnotation } from './interpolate';
