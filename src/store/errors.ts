/** Thrown when a write names a channel that does not exist (for example, deleted meanwhile). */
export class UnknownChannelError extends Error {
  constructor(readonly channelId: string) {
    super(`channel ${channelId} does not exist`);
    this.name = 'UnknownChannelError';
  }
}
