export * from './browser';
export * from './console';
export * from './engine';
export * from './graphql';
export * from './private-plane';
export * from './processes';
export * from './redis';
export * from './wait';
