export {
  AmbiguousMemberError,
  BadOpError,
  BotNotFoundError,
  ChannelNotFoundError,
  InviteInvalidError,
  NotAdminError,
  NotMemberError,
  RateLimitedError,
  RejoinTokenInvalidError,
  SlotAlreadyFilledError,
  SlotNotFoundError,
  TooManyChannelsError,
} from './channel.errors.js';
export { Limits } from './channel.limits.js';
export {
  botCodeInput,
  channelInfoInput,
  createChannelInput,
  dmBotInput,
  healthCheckInput,
  joinChannelInput,
  listChannelsInput,
  postMessageInput,
  removeBotOp,
  renameOp,
  setAdminOp,
  syncMessagesInput,
  updateChannelInput,
} from './channel.schemas.js';
export type {
  BotCodeInput,
  ChannelInfoInput,
  CreateChannelInput,
  DmBotInput,
  JoinChannelInput,
  PostMessageInput,
  SyncMessagesInput,
  UpdateChannelInput,
} from './channel.schemas.js';
export {
  botCodeResult,
  botInfoView,
  channelInfoResult,
  channelView,
  createChannelResult,
  dmBotResult,
  healthCheckResult,
  joinChannelResult,
  listChannelsResult,
  messageView,
  postMessageResult,
  slotView,
  syncMessagesResult,
  updateChannelResult,
} from './channel.results.js';
export { ChannelService } from './channel.service.js';
export type {
  BotCodeView,
  Caller,
  ChannelListing,
  CreateChannelResult,
  JoinChannelResult,
  SyncResult,
} from './channel.service.js';
export type {
  BotDefinition,
  BotRecord,
  BotSummary,
  Channel,
  ChannelEvent,
  ChannelEventDraft,
  MemberRef,
  Message,
  MessageBody,
  MessageDraft,
  Slot,
  SlotKind,
} from './channel.types.js';
export { memberRef, toBotInfoView, toChannelView, toMessageView } from './channel.views.js';
export type { BotInfoView, ChannelView, MessageView, SlotView } from './channel.views.js';
export { BotHost } from './ports/bot-host.js';
export type { BotPreparation } from './ports/bot-host.js';
export { ChannelStore, messageEvent } from './ports/channel.store.js';
export { EventOutbox } from './ports/event-outbox.js';
export type { UnpublishedChannel } from './ports/event-outbox.js';
export { OutboxRelay } from './outbox-relay.js';
export { CachingChannelStore } from './caching-channel.store.js';
export type { OutboxRelayLogger, OutboxRelaySettings } from './outbox-relay.js';
export type {
  AppendedMessage,
  BotEffectsCommit,
  ChannelDraft,
  ChannelSummary,
  ChannelUpdate,
  PendingEvent,
  Seat,
  SeatClaim,
  SlotDraft,
} from './ports/channel.store.js';
export { parseSlotSpec } from './slot-spec.js';
