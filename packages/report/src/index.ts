export * from './schema.js';
export { renderReport } from './render.js';
export { summarize } from './summary.js';
export { encodePng } from './png.js';
