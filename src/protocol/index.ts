export * from './status.js';
export * from './errors.js';
export * from './health.js';
export * from './events.js';
export * from './partner.js';
export * from './deliveries.js';
export * from './messages.js';
export * from './proxies.js';
