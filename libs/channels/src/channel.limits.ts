/**
 * Input limits (DESIGN §11). Each is documented in the README's limits table; change both together.
 */
export const Limits = {
  channelNameLength: 100,
  slotLabelLength: 64,
  slotsPerChannel: 32,
  /** Serialised JSON size of one message body, in UTF-8 bytes. */
  messageBodyBytes: 16 * 1024,
  messageKindLength: 32,
  botCodeBytes: 256 * 1024,
  channelsPerTenant: 10_000,
  messagesPerSync: 200,
  longPollMaxMs: 60_000,
  updateOpsPerCall: 20,
  idLength: 64,
} as const;
