export { type ControlClient, controlClient, neverDelivered } from './control-client.js';
export { ControlServer, type ControlServerOptions } from './control-server.js';
export type { AuditBody, CommandBody } from './protocol.js';
export { type OtherHolder, type ShellWriter, type ShellWriterOptions, shellWriter } from './shell-writer.js';
