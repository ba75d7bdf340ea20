import { z } from 'zod';
import type { BotId, ChannelId, TenantId } from '#core';
import { channelSubjectPrefix, subjectToken } from './event-bus.js';

/** One bot of one channel: what a runner serves and its credentials reach. */
export interface BotAddress {
  readonly tenantId: TenantId;
  readonly channelId: ChannelId;
  readonly botId: BotId;
}

/** What a runner asks of the API (DESIGN §7): its bot at start, and to commit a hook's effects. */
export type RunnerVerb = 'load' | 'effects';

/** `mp.<tenant>.ch.<channel>.bot.<bot>.<verb>`: request/reply from runner to API. */
export function botSubject(address: BotAddress, verb: RunnerVerb): string {
  const channel = channelSubjectPrefix(address.tenantId, address.channelId);
  return `${channel}.bot.${subjectToken('bot id', address.botId)}.${verb}`;
}

/** The subjects the API serves, for every bot: the wildcards over `botSubject`. */
export const RUNNER_REQUEST_SUBJECTS: Record<RunnerVerb, string> = {
  load: 'mp.*.ch.*.bot.*.load',
  effects: 'mp.*.ch.*.bot.*.effects',
};

/** The address in a request subject; null for a subject that is not one. */
export function addressOfSubject(
  subject: string,
): { address: BotAddress; verb: RunnerVerb } | null {
  const match = /^mp\.([^.]+)\.ch\.([^.]+)\.bot\.([^.]+)\.(load|effects)$/.exec(subject);
  if (!match) return null;
  const [, tenantId, channelId, botId, verb] = match;
  return {
    address: {
      tenantId: tenantId as TenantId,
      channelId: channelId as ChannelId,
      botId: botId as BotId,
    },
    verb: verb as RunnerVerb,
  };
}

/** The bot as a runner needs it: code, configuration, state, and where it left off. */
export const runnerBot = z.object({
  code: z.string(),
  params: z.record(z.string(), z.unknown()),
  egress: z.array(z.string()),
  state: z.record(z.string(), z.unknown()),
  lastEventSeq: z.number().int().nonnegative(),
  slots: z.array(z.object({ slotId: z.string(), label: z.string() })),
});
export type RunnerBot = z.infer<typeof runnerBot>;

/** The answer to `load`: the bot, or why there is none (removed). */
export const loadReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), bot: runnerBot }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type LoadReply = z.infer<typeof loadReply>;

const postEffect = z.object({
  kind: z.string(),
  body: z.record(z.string(), z.unknown()),
  to_slot: z.string().nullable(),
});

/** A hook's outcome for one event, as the runner computed it. */
export const effectsRequest = z.object({
  seq: z.number().int().positive(),
  outcome: z.discriminatedUnion('ok', [
    z.object({
      ok: z.literal(true),
      effects: z.object({
        posts: z.array(postEffect).readonly(),
        state: z.record(z.string(), z.unknown()).optional(),
        logs: z.array(z.string()).readonly(),
      }),
    }),
    z.object({ ok: z.literal(false), error: z.string() }),
  ]),
});
export type EffectsRequest = z.infer<typeof effectsRequest>;

/**
 * What became of the effects: `committed` (the state moved on as sent, unless `stateApplied` is
 * false because the effects became a `bot:error`); `duplicate` (already committed, as after a
 * redelivery); `reload` (the runner's view of the bot is stale or it skipped an event: it reads
 * the bot again and the event comes back); `gone` (the bot was removed).
 */
export const effectsReply = z.object({
  status: z.enum(['committed', 'duplicate', 'reload', 'gone']),
  stateApplied: z.boolean(),
});
export type EffectsReply = z.infer<typeof effectsReply>;

/** Parses a protocol message; throws with the first problem. */
export function parseRunnerMessage<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid ${what}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  return parsed.data;
}
