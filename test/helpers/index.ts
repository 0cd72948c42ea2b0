export * from './browser';
export * from './console';
export * from './processes';
export * from './redis';
