import { describeInputError, randomId, sha256Hex, InvalidRequestError } from '#core';
import type { BotId, ChannelId, SlotId, TenantId } from '#core';
import type { Principal } from '#auth';
import type { EventBus } from '#events';
import { z } from 'zod';
import {
  AmbiguousMemberError,
  BadOpError,
  BotNotFoundError,
  ChannelNotFoundError,
  CursorAheadError,
  InviteInvalidError,
  NotAdminError,
  NotMemberError,
  RateLimitedError,
  RejoinTokenInvalidError,
  SlotNotFoundError,
  TooManyChannelsError,
} from './channel.errors.js';
import { Limits } from './channel.limits.js';
import {
  removeBotOp,
  renameOp,
  setAdminOp,
  type BotCodeInput,
  type ChannelInfoInput,
  type CreateChannelInput,
  type DmBotInput,
  type JoinChannelInput,
  type PostMessageInput,
  type SyncMessagesInput,
  type UpdateChannelInput,
} from './channel.schemas.js';
import type { BotDefinition, Channel, MessageBody, MessageDraft, Slot } from './channel.types.js';
import {
  memberRef,
  toBotInfoView,
  toChannelView,
  toMessageView,
  type BotInfoView,
  type ChannelView,
  type MessageView,
  type SlotView,
} from './channel.views.js';
import type { TokenBucketLimiter } from '#core';
import type { BotHost } from './ports/bot-host.js';
import { messageEvent } from './ports/channel.store.js';
import type {
  AppendedMessage,
  ChannelStore,
  ChannelUpdate,
  Seat,
  SlotDraft,
} from './ports/channel.store.js';
import { RecentSeats } from './recent-seats.js';
import type { RecalledSeat } from './recent-seats.js';
import { parseSlotSpec } from './slot-spec.js';
import type { SlotSpec } from './slot-spec.js';

/** Who is calling: the principal behind the request (DESIGN §4). */
export interface Caller {
  readonly principal: Principal;
}

export interface CreateChannelResult {
  channel_id: string;
  invites: string[];
  view: ChannelView;
  bot_errors?: string[];
}

export interface JoinChannelResult {
  channel_id: string;
  slot_id: string;
  rejoin_token: string;
  view: ChannelView;
  bots: BotInfoView[];
}

export interface SyncResult {
  messages: MessageView[];
  cursor: number;
  view: ChannelView | null;
}

export interface BotCodeView {
  bot_id: string;
  name: string;
  version: string;
  code_ref: string | null;
  inline_code: string;
  manifest: Record<string, unknown>;
  code_hash: string;
  manifest_hash: string;
}

export interface ChannelListing {
  channels: {
    channel_id: string;
    name: string;
    slots: SlotView[];
    message_count: number;
    bots: string[];
  }[];
  total_channels: number;
}

/**
 * The channel use cases of spec/compat.md. Transports parse input with the shared schemas and
 * call one method; every rule about channels, seats and messages lives here.
 */
export class ChannelService {
  private readonly recentSeats = new RecentSeats();

  constructor(
    private readonly store: ChannelStore,
    private readonly bots: BotHost,
    private readonly bus: EventBus,
    private readonly rate: TokenBucketLimiter,
  ) {}

  async createChannel(caller: Caller, input: CreateChannelInput): Promise<CreateChannelResult> {
    const tenantId = caller.principal.tenantId;
    const specs = input.slots.map(parseSlotSpec);
    if ((await this.store.countChannels(tenantId)) >= Limits.channelsPerTenant) {
      throw new TooManyChannelsError(Limits.channelsPerTenant);
    }
    // A bot that cannot attach never fails the call: it is reported in bot_errors (spec/compat.md).
    const botErrors: string[] = [];
    let bot: PlacedBot | null = null;
    if (input.bot_code || input.bot_preset) {
      const prepared = await this.bots.prepare({ code: input.bot_code, preset: input.bot_preset });
      const placed = prepared.ok ? placeBot(specs, prepared.definition) : prepared;
      if (placed.ok) bot = placed.bot;
      else botErrors.push(placed.error);
    }

    const invites: string[] = [];
    const slots: SlotDraft[] = specs.map((spec, index) => {
      const slotId = `s${index}` as SlotId;
      let inviteHash: string | null = null;
      if (spec.kind === 'invite') {
        const code = randomId('inv_', 22);
        invites.push(code);
        inviteHash = sha256Hex(code);
      }
      return { slotId, ...spec, inviteHash, botId: bot?.slotId === slotId ? bot.botId : null };
    });

    const { channel, lastEventSeq } = await this.store.createChannel(tenantId, {
      id: randomId('chn_', 11) as ChannelId,
      name: input.name,
      createdBy: caller.principal.id,
      slots,
      bots: bot ? [bot] : [],
      messages: bot ? attachMessages(bot) : [],
      events: bot ? [{ type: 'init', botId: bot.botId, payload: {} }] : [],
    });
    if (bot) await this.bots.settle(tenantId, channel.id, lastEventSeq);
    const result: CreateChannelResult = {
      channel_id: channel.id,
      invites,
      view: toChannelView(channel),
    };
    if (botErrors.length > 0) result.bot_errors = botErrors;
    return result;
  }

  async joinChannel(caller: Caller, input: JoinChannelInput): Promise<JoinChannelResult> {
    const tenantId = caller.principal.tenantId;
    const code = input.invite_code.trim();
    let channelId: ChannelId;
    let slotId: SlotId;
    let token: string;
    if (code.startsWith('rejoin_')) {
      const seat = await this.store.findSeatByToken(tenantId, sha256Hex(code));
      if (!seat) throw new RejoinTokenInvalidError();
      await this.rebindToCaller(caller, seat);
      ({ channelId } = seat);
      slotId = seat.slot.slotId;
      token = code;
    } else {
      token = randomId('rejoin_', 22);
      const joined = await this.store.redeemInvite(
        tenantId,
        sha256Hex(code),
        caller.principal.id,
        sha256Hex(token),
      );
      if (!joined) throw new InviteInvalidError();
      ({ channelId } = joined.seat);
      slotId = joined.seat.slot.slotId;
      // The seat shows as filled now: other replicas' cached views of the channel must go.
      this.bus.publishWake(tenantId, channelId);
      await this.bots.settle(tenantId, channelId, joined.eventSeq);
    }
    const found = await this.store.findChannelWithBots(tenantId, channelId);
    if (!found) throw new ChannelNotFoundError();
    const { channel, bots } = found;
    return {
      channel_id: channelId,
      slot_id: slotId,
      rejoin_token: token,
      view: toChannelView(channel),
      bots: bots.map(toBotInfoView),
    };
  }

  async postMessage(
    caller: Caller,
    input: PostMessageInput,
  ): Promise<{ msg_id: number; ts: string }> {
    const tenantId = caller.principal.tenantId;
    const channelId = input.channel_id as ChannelId;
    const tokenHash = input.member_token ? sha256Hex(input.member_token) : null;
    const recalled = tokenHash
      ? this.recentSeats.recall(tenantId, tokenHash, channelId, caller.principal.id)
      : null;
    const slot = recalled?.slot ?? (await this.actingSlot(caller, channelId, input.member_token));
    const body = toBody(input.body);
    const draft = (from: Slot): MessageDraft => ({
      sender: memberRef(from.slotId),
      kind: input.kind,
      body,
      toSlot: null,
    });
    this.takeRateToken(tenantId, channelId, slot.slotId);
    const appended = recalled
      ? await this.appendAsRecalled(caller, channelId, input.member_token, recalled, draft)
      : await this.store.appendMessage(tenantId, channelId, draft(slot));
    const { message, eventSeq, botsBehind } = appended;
    this.bus.publishWake(tenantId, channelId);
    if (eventSeq !== null) {
      const event = messageEvent(message, eventSeq);
      await this.bots.settle(tenantId, channelId, eventSeq, botsBehind, event);
    }
    return { msg_id: message.id, ts: message.ts.toISOString() };
  }

  /**
   * Appends from a remembered seat while it is still the caller's; once it is not (the token was
   * used from another session), reads the seat, taking it back as the token says, and appends.
   */
  private async appendAsRecalled(
    caller: Caller,
    channelId: ChannelId,
    memberToken: string | null | undefined,
    recalled: RecalledSeat,
    draft: (from: Slot) => MessageDraft,
  ): Promise<AppendedMessage> {
    const tenantId = caller.principal.tenantId;
    const claimed = await this.store.appendClaimedMessage(
      tenantId,
      channelId,
      draft(recalled.slot),
      recalled.claim,
    );
    if (claimed) return claimed;
    this.recentSeats.forget(tenantId, recalled.claim.tokenHash);
    const current = await this.actingSlot(caller, channelId, memberToken);
    return this.store.appendMessage(tenantId, channelId, draft(current));
  }

  async dmBot(caller: Caller, input: DmBotInput): Promise<{ ok: true; delivered_to: string }> {
    const tenantId = caller.principal.tenantId;
    const channelId = input.channel_id as ChannelId;
    const slot = await this.actingSlot(caller, channelId, input.member_token);
    const bot = await this.store.findBot(tenantId, channelId, input.bot_id as BotId);
    if (!bot) throw new BotNotFoundError();
    this.takeRateToken(tenantId, channelId, slot.slotId);
    const seq = await this.store.appendEvent(tenantId, channelId, {
      type: 'dm',
      botId: bot.botId,
      payload: {
        member: { slot_id: slot.slotId, label: slot.label },
        message: { text: input.message },
      },
    });
    await this.bots.settle(tenantId, channelId, seq);
    return { ok: true, delivered_to: bot.botId };
  }

  /**
   * Messages after the cursor that the acting slot may see. When there are none it waits up to
   * `timeout_ms` for one (a real long poll, woken by commits on any replica) without holding a
   * database connection.
   */
  async syncMessages(
    caller: Caller,
    input: SyncMessagesInput,
    signal?: AbortSignal,
  ): Promise<SyncResult> {
    const tenantId = caller.principal.tenantId;
    const channelId = input.channel_id as ChannelId;
    const slot = await this.actingSlot(caller, channelId, input.member_token);
    const cursor = input.cursor ?? 0;
    const deadline = Date.now() + input.timeout_ms;
    let checkedCursor = false;

    const wake: { woken: boolean; resolve: (() => void) | null } = { woken: false, resolve: null };
    const unsubscribe = this.bus.onWake(tenantId, channelId, () => {
      wake.woken = true;
      wake.resolve?.();
    });
    try {
      for (;;) {
        wake.woken = false;
        const messages = await this.store.listVisible(
          tenantId,
          channelId,
          slot.slotId,
          cursor,
          Limits.messagesPerSync,
        );
        if (messages.length > 0) {
          return {
            messages: messages.map(toMessageView),
            cursor: messages.at(-1)?.id ?? cursor,
            view: null,
          };
        }
        // A cursor past the newest message would wait the whole poll for ids that come late or
        // never: refused at once, with the id to go on from.
        if (cursor > 0 && !checkedCursor) {
          checkedCursor = true;
          const last = (await this.store.lastMessageId(tenantId, channelId)) ?? 0;
          if (cursor > last) throw new CursorAheadError(cursor, last);
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0 || signal?.aborted) break;
        // The wake listener may have set `woken` while the read above was awaited.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (!wake.woken)
          await waitForWake(remaining, signal, (resolve) => (wake.resolve = resolve));
        wake.resolve = null;
      }
    } finally {
      unsubscribe();
    }
    const channel = await this.requireChannel(tenantId, channelId);
    return { messages: [], cursor, view: toChannelView(channel) };
  }

  async getChannelInfo(
    caller: Caller,
    input: ChannelInfoInput,
  ): Promise<{ view: ChannelView; bots: BotInfoView[] }> {
    const found = await this.store.findChannelWithBots(
      caller.principal.tenantId,
      input.channel_id as ChannelId,
    );
    if (!found) throw new ChannelNotFoundError();
    if (input.member_token) await this.actingSlot(caller, found.channel.id, input.member_token);
    return { view: toChannelView(found.channel), bots: found.bots.map(toBotInfoView) };
  }

  async getBotCode(caller: Caller, input: BotCodeInput): Promise<BotCodeView> {
    const tenantId = caller.principal.tenantId;
    const channel = await this.requireChannel(tenantId, input.channel_id);
    if (input.member_token) await this.actingSlot(caller, channel.id, input.member_token);
    const bot = await this.store.findBot(tenantId, channel.id, input.bot_id as BotId);
    if (!bot) throw new BotNotFoundError();
    return {
      bot_id: bot.botId,
      name: bot.name,
      version: bot.version,
      code_ref: bot.codeRef,
      inline_code: bot.code,
      manifest: bot.manifest,
      code_hash: bot.codeHash,
      manifest_hash: bot.manifestHash,
    };
  }

  /** The caller's channels only: those where it holds a seat or that it created. */
  async listChannels(caller: Caller): Promise<ChannelListing> {
    const summaries = await this.store.listChannelsOf(
      caller.principal.tenantId,
      caller.principal.id,
      500,
    );
    return {
      channels: summaries.map(({ channel, messageCount, botIds }) => ({
        channel_id: channel.id,
        name: channel.name,
        slots: toChannelView(channel).slots,
        message_count: messageCount,
        bots: [...botIds],
      })),
      total_channels: summaries.length,
    };
  }

  /** Admin-only changes, applied all or nothing: rename, set_admin, remove_bot. */
  async updateChannel(
    caller: Caller,
    input: UpdateChannelInput,
  ): Promise<{ ok: true; view: ChannelView; bots: BotInfoView[] }> {
    const tenantId = caller.principal.tenantId;
    const channel = await this.requireChannel(tenantId, input.channel_id);
    const actor = await this.adminActor(caller, channel, input.member_token);
    const bots = await this.store.listBots(tenantId, channel.id);
    const updates = input.ops.map((op, index): ChannelUpdate => {
      switch (op.type) {
        case 'rename':
          return { type: 'rename', name: parseOp(renameOp, op, index).name };
        case 'set_admin': {
          const { slot_id, admin } = parseOp(setAdminOp, op, index);
          const slot = channel.slots.find((s) => s.slotId === slot_id);
          if (!slot) throw new SlotNotFoundError(slot_id);
          if (slot.kind === 'bot' && !admin) {
            throw new InvalidRequestError(`ops[${index}]: bot slots are always admin.`);
          }
          return { type: 'set_admin', slotId: slot.slotId, admin };
        }
        case 'remove_bot': {
          const { bot_id } = parseOp(removeBotOp, op, index);
          if (!bots.some((b) => b.botId === bot_id)) throw new BotNotFoundError();
          return { type: 'remove_bot', botId: bot_id as BotId };
        }
        default:
          throw new BadOpError(op.type);
      }
    });
    const updated = await this.store.updateChannel(tenantId, channel.id, updates, {
      sender: 'system',
      kind: 'system',
      body: { type: 'channel_updated', by: actor, ops: updates.map(describeUpdate) },
      toSlot: null,
    });
    this.bus.publishWake(tenantId, channel.id);
    const removed = updates.flatMap((update) =>
      update.type === 'remove_bot' ? [update.botId] : [],
    );
    if (removed.length > 0) await this.bots.removed(tenantId, channel.id, removed);
    const remaining = await this.store.listBots(tenantId, channel.id);
    return { ok: true, view: toChannelView(updated), bots: remaining.map(toBotInfoView) };
  }

  private async requireChannel(tenantId: TenantId, channelId: string): Promise<Channel> {
    const channel = await this.store.findChannel(tenantId, channelId as ChannelId);
    if (!channel) throw new ChannelNotFoundError();
    return channel;
  }

  /**
   * Resolves "who is acting" (DESIGN §4): the member token's seat, else the principal's only
   * seat; several seats without a token are ambiguous; none is not a member. The channel is read
   * only when that fails, to answer CHANNEL_NOT_FOUND for a channel that does not exist.
   */
  private async actingSlot(
    caller: Caller,
    channelId: string,
    memberToken: string | null | undefined,
  ): Promise<Slot> {
    try {
      return await this.seatOf(caller, channelId as ChannelId, memberToken);
    } catch (error) {
      if (error instanceof NotMemberError || error instanceof RejoinTokenInvalidError) {
        await this.requireChannel(caller.principal.tenantId, channelId);
      }
      throw error;
    }
  }

  private async seatOf(
    caller: Caller,
    channelId: ChannelId,
    memberToken: string | null | undefined,
  ): Promise<Slot> {
    const { principal } = caller;
    if (memberToken) {
      const tokenHash = sha256Hex(memberToken);
      const seat = await this.store.findSeatByToken(principal.tenantId, tokenHash);
      if (!seat || seat.channelId !== channelId) throw new RejoinTokenInvalidError();
      await this.rebindToCaller(caller, seat);
      const slot = { ...seat.slot, principalId: principal.id };
      this.recentSeats.remember(principal.tenantId, tokenHash, channelId, slot);
      return slot;
    }
    const seats = await this.store.seatsOf(principal.tenantId, channelId, principal.id);
    if (seats.length > 1) throw new AmbiguousMemberError();
    const seat = seats[0];
    if (!seat) throw new NotMemberError();
    return seat;
  }

  /** A token names its seat; the caller using it takes the seat over (DESIGN §4). */
  private async rebindToCaller(caller: Caller, seat: Seat): Promise<void> {
    const { principal } = caller;
    if (seat.slot.principalId === principal.id) return;
    await this.store.rebindSeat(principal.tenantId, seat.channelId, seat.slot.slotId, principal.id);
  }

  /** The admin acting on the channel: an admin seat, or the principal that created it. */
  private async adminActor(
    caller: Caller,
    channel: Channel,
    memberToken: string | null | undefined,
  ): Promise<string> {
    try {
      const slot = await this.actingSlot(caller, channel.id, memberToken);
      if (slot.admin) return memberRef(slot.slotId);
    } catch (error) {
      if (!(error instanceof NotMemberError)) throw error;
    }
    if (channel.createdBy === caller.principal.id) return 'creator';
    throw new NotAdminError();
  }

  private takeRateToken(tenantId: TenantId, channelId: ChannelId, slotId: SlotId): void {
    const wait = this.rate.take(`${tenantId}/${channelId}/${slotId}`);
    if (wait > 0) throw new RateLimitedError(wait);
  }
}

function attachMessages(bot: BotDefinition & { botId: BotId; slotId: SlotId }): MessageDraft[] {
  const manifest = bot.manifest;
  const system = (body: MessageBody): MessageDraft => ({
    sender: 'system',
    kind: 'system',
    body,
    toSlot: null,
  });
  return [
    system({
      type: 'bots_announced',
      bots: [
        {
          slot_id: bot.slotId,
          name: bot.name,
          version: bot.version,
          summary: manifest['summary'] ?? null,
        },
      ],
    }),
    system({
      type: 'bot:attach',
      bot_id: bot.botId,
      code_hash: bot.codeHash,
      manifest_hash: bot.manifestHash,
      name: bot.name,
    }),
    system({
      type: 'bot:manifest',
      bot_id: bot.botId,
      manifest_excerpt: {
        name: bot.name,
        version: bot.version,
        summary: manifest['summary'] ?? null,
        hooks: manifest['hooks'] ?? [],
        emits: manifest['emits'] ?? [],
      },
    }),
  ];
}

function toBody(body: PostMessageInput['body']): MessageBody {
  const value: MessageBody = typeof body === 'string' ? (body === '' ? {} : { text: body }) : body;
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > Limits.messageBodyBytes) {
    throw new InvalidRequestError(
      `body is larger than ${Limits.messageBodyBytes} bytes; send a shorter message.`,
    );
  }
  return value;
}

function parseOp<T>(schema: z.ZodType<T>, op: unknown, index: number): T {
  const parsed = schema.safeParse(op);
  if (parsed.success) return parsed.data;
  throw new InvalidRequestError(describeInputError(parsed.error, op, `ops[${index}].`));
}

function describeUpdate(update: ChannelUpdate): Record<string, unknown> {
  switch (update.type) {
    case 'rename':
      return { type: 'rename', name: update.name };
    case 'set_admin':
      return { type: 'set_admin', slot_id: update.slotId, admin: update.admin };
    case 'remove_bot':
      return { type: 'remove_bot', bot_id: update.botId };
  }
}

function waitForWake(
  ms: number,
  signal: AbortSignal | undefined,
  register: (resolve: () => void) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    register(done);
  });
}

type PlacedBot = BotDefinition & { botId: BotId; slotId: SlotId };

/**
 * Seats a bot in the channel's first bot slot. A bot given without one gets a slot at the end,
 * as the original does, unless the channel is already full.
 */
function placeBot(
  specs: SlotSpec[],
  definition: BotDefinition,
): { ok: true; bot: PlacedBot } | { ok: false; error: string } {
  const name = definition.name.replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || 'Bot';
  let index = specs.findIndex((spec) => spec.kind === 'bot');
  if (index < 0) {
    if (specs.length >= Limits.slotsPerChannel) {
      return {
        ok: false,
        error: `${definition.name}: the channel has ${Limits.slotsPerChannel} slots and none is a bot slot; make one of them "bot:referee".`,
      };
    }
    index = specs.push({ kind: 'bot', label: name, admin: true }) - 1;
  }
  const bot = { ...definition, botId: `bot_${name}_0` as BotId, slotId: `s${index}` as SlotId };
  return { ok: true, bot };
}
