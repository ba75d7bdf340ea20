import { readFileSync } from 'node:fs';
import { encodeUser, fmtCreds, fromSeed, createUser } from '@nats-io/jwt';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { EventConsumer, EventHandler } from './event-bus.js';
import { EVENT_STREAM, consumeDurable, durableConfig, durableName } from './nats-consumer.js';
import { natsAuth } from './nats-event-bus.js';
import {
  RUNNER_REQUEST_SUBJECTS,
  addressOfSubject,
  botSubject,
  effectsReply,
  effectsRequest,
  loadReply,
  parseRunnerMessage,
} from './runner-protocol.js';
import type {
  BotAddress,
  EffectsReply,
  EffectsRequest,
  LoadReply,
  RunnerVerb,
} from './runner-protocol.js';

/** The API's replicas share the runners' requests: each request reaches one of them. */
const API_QUEUE = 'mp-api';
/** How long a runner waits for the API to answer one request. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The durable consumer a bot's runner pulls its channel's events from. */
export function runnerDurable(address: BotAddress): string {
  return durableName(address.tenantId, address.channelId, `bot_${address.botId}`);
}

/** Replies to the runner (and events pulled by it) arrive under this prefix, its own. */
export function runnerInboxPrefix(address: BotAddress): string {
  return `_INBOX_${runnerDurable(address)}`;
}

/**
 * Everything a runner may do (DESIGN §6, layer 4): ask the API for its bot and commit effects on
 * its own subjects, pull from and acknowledge its own durable consumer, and receive on its own
 * inbox. It cannot create consumers, read the stream, or touch another channel's subjects.
 */
export function runnerPermissions(address: BotAddress): {
  pub: { allow: string[] };
  sub: { allow: string[] };
} {
  const durable = runnerDurable(address);
  return {
    pub: {
      allow: [
        botSubject(address, 'load'),
        botSubject(address, 'effects'),
        `$JS.API.CONSUMER.INFO.${EVENT_STREAM}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${EVENT_STREAM}.${durable}`,
        `$JS.ACK.${EVENT_STREAM}.${durable}.>`,
      ],
    },
    sub: { allow: [`${runnerInboxPrefix(address)}.>`] },
  };
}

export interface RunnerRequestHandlers {
  load(address: BotAddress): Promise<LoadReply>;
  effects(address: BotAddress, request: EffectsRequest): Promise<EffectsReply>;
}

export interface NatsRunnerHubOptions {
  readonly servers: string;
  /** The API's own credentials file content, when the server requires credentials. */
  readonly credentials?: string | undefined;
  /** Seed of the account key (or an account signing key) that signs runner credentials. */
  readonly signingKeyFile: string;
  /** The account's public key; needed when the seed is a signing key, not the account's own. */
  readonly account?: string | undefined;
  /**
   * How long an event handed to a runner may stay unacknowledged before it is delivered again:
   * longer than a hook may run, short enough that a killed runner's event comes back soon.
   */
  readonly ackWaitMs: number;
  readonly logger: { error(message: string): void };
}

/**
 * The API's side of the runners (DESIGN §7): mints each runner's credentials, prepares its
 * durable consumer, and answers its requests. The subject a request arrives on names the bot, and
 * only that bot's runner may publish on it, so the subject is the runner's proven identity.
 */
export class NatsRunnerHub {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsRunnerHubOptions,
  ) {}

  static async connect(options: NatsRunnerHubOptions): Promise<NatsRunnerHub> {
    const nc = await connect({
      servers: options.servers,
      name: 'mp-api-runners',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...natsAuth(options.credentials),
    });
    return new NatsRunnerHub(nc, await jetstreamManager(nc), options);
  }

  /** The servers runners connect to. */
  get servers(): string {
    return this.options.servers;
  }

  /** A credentials file's content for the bot's runner, valid for `ttlSeconds`. */
  async credentials(address: BotAddress, ttlSeconds: number): Promise<string> {
    const signer = fromSeed(new TextEncoder().encode(readSeed(this.options.signingKeyFile)));
    const user = createUser();
    const jwt = await encodeUser(
      `runner ${address.botId}`,
      user,
      signer,
      {
        ...runnerPermissions(address),
        ...(this.options.account ? { issuer_account: this.options.account } : {}),
      },
      { exp: Math.floor(Date.now() / 1000) + ttlSeconds },
    );
    return new TextDecoder().decode(fmtCreds(jwt, user));
  }

  /** Creates the bot's durable consumer if it is missing; runners may not create it themselves. */
  async prepare(address: BotAddress): Promise<void> {
    const durable = runnerDurable(address);
    const config = durableConfig(
      address.tenantId,
      address.channelId,
      durable,
      this.options.ackWaitMs,
    );
    try {
      await this.jsm.consumers.add(EVENT_STREAM, config);
    } catch {
      // It exists with other settings (an API with another hook limit made it): align them.
      await this.jsm.consumers.update(EVENT_STREAM, durable, { ack_wait: config.ack_wait });
    }
  }

  /** Deletes the bot's consumer (the bot was removed). */
  async discard(address: BotAddress): Promise<void> {
    try {
      await this.jsm.consumers.delete(EVENT_STREAM, runnerDurable(address));
    } catch {
      // Already gone.
    }
  }

  /** Answers every runner's requests until closed. */
  serve(handlers: RunnerRequestHandlers): void {
    for (const verb of Object.keys(RUNNER_REQUEST_SUBJECTS) as RunnerVerb[]) {
      this.nc.subscribe(RUNNER_REQUEST_SUBJECTS[verb], {
        queue: API_QUEUE,
        callback: (error, message) => {
          if (!error) void this.answer(message, handlers);
        },
      });
    }
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }

  private async answer(message: Msg, handlers: RunnerRequestHandlers): Promise<void> {
    const target = addressOfSubject(message.subject);
    if (!target || !message.reply) return;
    try {
      const reply =
        target.verb === 'load'
          ? await handlers.load(target.address)
          : await handlers.effects(
              target.address,
              parseRunnerMessage(effectsRequest, message.json(), 'effects request'),
            );
      message.respond(JSON.stringify(reply));
    } catch (error) {
      // No answer: the runner's request times out, and the event is delivered again later.
      this.options.logger.error(
        `runner request on ${message.subject} failed: ${(error as Error).message}`,
      );
    }
  }
}

function readSeed(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/**
 * A runner's connection (DESIGN §7), with the credentials the API minted for its one bot: it
 * reads its bot, pulls its channel's events from its durable consumer, and sends each hook's
 * effects to the API for commit.
 */
export class NatsRunnerLink {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly address: BotAddress,
    private readonly logger: { error(message: string): void },
  ) {}

  static async connect(options: {
    servers: string;
    credentials: string;
    address: BotAddress;
    logger: { error(message: string): void };
  }): Promise<NatsRunnerLink> {
    const nc = await connect({
      servers: options.servers,
      name: `mp-runner-${options.address.botId}`,
      inboxPrefix: runnerInboxPrefix(options.address),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...natsAuth(options.credentials),
    });
    return new NatsRunnerLink(nc, options.address, options.logger);
  }

  async load(): Promise<LoadReply> {
    const reply = await this.nc.request(botSubject(this.address, 'load'), '', {
      timeout: REQUEST_TIMEOUT_MS,
    });
    return parseRunnerMessage(loadReply, reply.json(), 'load reply');
  }

  async commit(request: EffectsRequest): Promise<EffectsReply> {
    const reply = await this.nc.request(
      botSubject(this.address, 'effects'),
      JSON.stringify(request),
      { timeout: REQUEST_TIMEOUT_MS },
    );
    return parseRunnerMessage(effectsReply, reply.json(), 'effects reply');
  }

  /** Delivers the channel's events from the bot's durable consumer, in order, one at a time. */
  consume(handle: EventHandler): Promise<EventConsumer> {
    return consumeDurable(jetstream(this.nc), runnerDurable(this.address), handle, this.logger);
  }

  /** Settles when the connection is gone for good (closed, or its credentials expired). */
  async closed(): Promise<void> {
    await this.nc.closed();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
