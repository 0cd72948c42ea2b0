export * from './cursor';
export * from './event-codec';
export * from './event-filter';
export * from './event-hub';
export * from './event-log';
export * from './resumable-feed';
export * from './stream-tail';
