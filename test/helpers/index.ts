export * from './browser';
export * from './console';
export * from './engine';
export * from './processes';
export * from './redis';
