import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { BotId, ChannelId, TenantId } from '#core';
import { testNats } from '#test-support';
import type { ReceivedChannelEvent } from './channel-event.message.js';
import { eventSubject, wakeSubject } from './event-bus.js';
import { NatsEventBus, natsAuth } from './nats-event-bus.js';
import { NatsRunnerHub, NatsRunnerLink, runnerDurable, runnerInboxPrefix } from './nats-runners.js';
import { botSubject } from './runner-protocol.js';
import type { BotAddress } from './runner-protocol.js';

const quiet = { error: () => undefined };

function address(tenant = 'ten_runner'): BotAddress {
  const id = randomBytes(4).toString('hex');
  return {
    tenantId: tenant as TenantId,
    channelId: `chn_${id}` as ChannelId,
    botId: `bot_${id}` as BotId,
  };
}

/** Connects with the runner's credentials, as the runner would (its own inbox prefix). */
async function connectAs(credentials: string, own: BotAddress): Promise<NatsConnection> {
  return connect({
    servers: testNats().servers,
    inboxPrefix: runnerInboxPrefix(own),
    ...natsAuth(credentials),
  });
}

/** The first permission error the connection reports, or null within the time. */
async function permissionError(nc: NatsConnection, act: () => void): Promise<string | null> {
  const seen = (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error') return String(status.error);
    }
    return null;
  })();
  act();
  await nc.flush();
  return Promise.race([seen, new Promise<null>((resolve) => setTimeout(resolve, 500, null))]);
}

/**
 * Layer 4 of the sandbox (DESIGN §6): the credentials the API mints for a runner reach its own
 * channel's bot subjects and durable consumer, and the NATS server refuses everything else.
 */
describe('runner credentials on a NATS server in operator mode', () => {
  let hub: NatsRunnerHub;
  let bus: NatsEventBus;
  const own = address();
  const other = address();
  let credentials: string;

  beforeAll(async () => {
    const { servers, credentials: api, signingKeyFile } = testNats();
    hub = await NatsRunnerHub.connect({
      servers,
      credentials: api,
      signingKeyFile,
      ackWaitMs: 5_000,
      logger: quiet,
    });
    bus = await NatsEventBus.connect({
      servers,
      credentials: api,
      name: 'runner-test',
      logger: quiet,
    });
    hub.serve({
      load: (target) => Promise.resolve({ ok: false, error: `no bot ${target.botId}` }),
      effects: () => Promise.resolve({ status: 'committed', stateApplied: true }),
    });
    await hub.prepare(own);
    await hub.prepare(other);
    credentials = await hub.credentials(own, 60);
  });

  afterAll(async () => {
    await hub?.close();
    await bus?.close();
  });

  it('lets the runner ask for its bot, commit effects and pull its own events in order', async () => {
    const link = await NatsRunnerLink.connect({
      servers: testNats().servers,
      credentials,
      address: own,
      logger: quiet,
    });
    try {
      await expect(link.load()).resolves.toEqual({ ok: false, error: `no bot ${own.botId}` });
      await expect(
        link.commit({ seq: 1, outcome: { ok: false, error: 'x' } }),
      ).resolves.toMatchObject({ status: 'committed' });
      for (const seq of [1, 2]) {
        await bus.publishEvent({
          ...own,
          seq,
          type: 'join',
          botId: null,
          payload: { member: { slot_id: 'p1', label: 'P1' } },
          createdAt: new Date().toISOString(),
        });
      }
      const seen: ReceivedChannelEvent[] = [];
      const consumer = await link.consume((event) => {
        seen.push(event);
        return Promise.resolve();
      });
      for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      await consumer.stop();
      expect(seen.map((event) => event.seq)).toEqual([1, 2]);
    } finally {
      await link.close();
    }
  });

  it.each([
    ['another channel’s events', () => eventSubject(other.tenantId, other.channelId)],
    [
      'its own channel’s raw events (only the durable consumer)',
      () => eventSubject(own.tenantId, own.channelId),
    ],
    ['another channel’s wake-ups', () => wakeSubject(other.tenantId, other.channelId)],
    ['every subject', () => '>'],
    ['the shared inbox (where other clients’ replies arrive)', () => '_INBOX.>'],
    ['another runner’s inbox', () => `${runnerInboxPrefix(other)}.>`],
    ['the API’s effects requests of every bot', () => 'mp.*.ch.*.bot.*.effects'],
  ])('refuses to subscribe to %s', async (_what, subject) => {
    const nc = await connectAs(credentials, own);
    try {
      const error = await permissionError(nc, () => nc.subscribe(subject()));
      expect(error).toMatch(/permissions violation/i);
    } finally {
      await nc.close();
    }
  });

  it.each([
    ['another bot’s effects', () => botSubject(other, 'effects')],
    ['another bot’s load', () => botSubject(other, 'load')],
    ['an event into its own channel', () => eventSubject(own.tenantId, own.channelId)],
    ['a wake-up of its own channel', () => wakeSubject(own.tenantId, own.channelId)],
    [
      'a pull from another bot’s consumer',
      () => `$JS.API.CONSUMER.MSG.NEXT.MP_EVENTS.${runnerDurable(other)}`,
    ],
    ['a new consumer on the stream', () => `$JS.API.CONSUMER.CREATE.MP_EVENTS`],
    ['a stream read', () => '$JS.API.STREAM.MSG.GET.MP_EVENTS'],
    ['a stream deletion', () => '$JS.API.STREAM.DELETE.MP_EVENTS'],
  ])('refuses to publish %s', async (_what, subject) => {
    const nc = await connectAs(credentials, own);
    try {
      const error = await permissionError(nc, () => nc.publish(subject(), '{}'));
      expect(error).toMatch(/permissions violation/i);
    } finally {
      await nc.close();
    }
  });

  it('refuses the JetStream API beyond its own consumer', async () => {
    const nc = await connectAs(credentials, own);
    try {
      await expect(
        jetstream(nc).consumers.get('MP_EVENTS', runnerDurable(other)),
      ).rejects.toThrow();
    } finally {
      await nc.close();
    }
  });

  it('refuses credentials that have expired, and ones signed by a key the server does not know', async () => {
    const expired = await hub.credentials(own, -10);
    await expect(connectAs(expired, own)).rejects.toThrow(/authorization|expired/i);
    const { createAccount, createUser, encodeUser, fmtCreds } = await import('@nats-io/jwt');
    const stranger = createUser();
    const forged = new TextDecoder().decode(
      fmtCreds(await encodeUser('forged', stranger, createAccount()), stranger),
    );
    await expect(connectAs(forged, own)).rejects.toThrow(/authorization/i);
  });
});
