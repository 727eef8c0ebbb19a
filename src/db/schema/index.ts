export * from './locations.js';
export * from './individuals.js';
export * from './groups.js';
export * from './security.js';
export * from './audit.js';
export * from './programmes.js';
export * from './dci.js';
export * from './versions.js';
