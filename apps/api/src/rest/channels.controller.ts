import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { AccessGrant } from '#auth';
import { InvalidRequestError, describeInputError } from '#core';
import {
  ChannelService,
  botCodeInput,
  channelInfoInput,
  createChannelInput,
  dmBotInput,
  joinChannelInput,
  postMessageInput,
  syncMessagesInput,
  updateChannelInput,
} from '#channels';
import type { Caller } from '#channels';
import type { z } from 'zod';
import { BearerAuthGuard, RequireScopes } from '../auth/bearer-auth.guard.js';

/**
 * REST over the same services and schemas as the MCP tools, for the principal of the request's
 * access token. A member with several seats names one with its token, sent as `X-Member-Token` or
 * as `member_token` in the body or query. Reads need `channels:read`, writes `channels:write`.
 */
@Controller('api/v1')
@UseGuards(BearerAuthGuard)
export class ChannelsController {
  constructor(private readonly channels: ChannelService) {}

  @Post('channels')
  @RequireScopes(['channels:write'])
  @HttpCode(201)
  create(@Req() req: IncomingMessage, @Body() body: unknown) {
    return this.channels.createChannel(callerOf(req), parse(createChannelInput, req, body));
  }

  @Get('channels')
  @RequireScopes(['channels:read'])
  list(@Req() req: IncomingMessage) {
    return this.channels.listChannels(callerOf(req));
  }

  @Post('channels/join')
  @RequireScopes(['channels:write'])
  @HttpCode(200)
  join(@Req() req: IncomingMessage, @Body() body: unknown) {
    return this.channels.joinChannel(callerOf(req), parse(joinChannelInput, req, body));
  }

  @Get('channels/:channelId')
  @RequireScopes(['channels:read'])
  info(
    @Req() req: IncomingMessage,
    @Param('channelId') channelId: string,
    @Query() query: unknown,
  ) {
    return this.channels.getChannelInfo(
      callerOf(req),
      parse(channelInfoInput, req, query, { channel_id: channelId }),
    );
  }

  @Patch('channels/:channelId')
  @RequireScopes(['channels:write'])
  update(
    @Req() req: IncomingMessage,
    @Param('channelId') channelId: string,
    @Body() body: unknown,
  ) {
    return this.channels.updateChannel(
      callerOf(req),
      parse(updateChannelInput, req, body, { channel_id: channelId }),
    );
  }

  @Post('channels/:channelId/messages')
  @RequireScopes(['channels:write'])
  @HttpCode(201)
  post(@Req() req: IncomingMessage, @Param('channelId') channelId: string, @Body() body: unknown) {
    return this.channels.postMessage(
      callerOf(req),
      parse(postMessageInput, req, body, { channel_id: channelId }),
    );
  }

  @Get('channels/:channelId/messages')
  @RequireScopes(['channels:read'])
  sync(
    @Req() req: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
    @Param('channelId') channelId: string,
    @Query() query: Record<string, unknown>,
  ) {
    const numeric = { ...query, ...numbers(query, ['cursor', 'timeout_ms']) };
    const input = parse(syncMessagesInput, req, numeric, { channel_id: channelId });
    return this.channels.syncMessages(callerOf(req), input, closedSignal(res));
  }

  @Post('channels/:channelId/bots/:botId/dm')
  @RequireScopes(['channels:write'])
  @HttpCode(200)
  dm(
    @Req() req: IncomingMessage,
    @Param('channelId') channelId: string,
    @Param('botId') botId: string,
    @Body() body: unknown,
  ) {
    return this.channels.dmBot(
      callerOf(req),
      parse(dmBotInput, req, body, { channel_id: channelId, bot_id: botId }),
    );
  }

  @Get('channels/:channelId/bots/:botId/code')
  @RequireScopes(['channels:read'])
  code(
    @Req() req: IncomingMessage,
    @Param('channelId') channelId: string,
    @Param('botId') botId: string,
    @Query() query: unknown,
  ) {
    return this.channels.getBotCode(
      callerOf(req),
      parse(botCodeInput, req, query, { channel_id: channelId, bot_id: botId }),
    );
  }
}

/** The caller the bearer guard authenticated. */
function callerOf(req: IncomingMessage): Caller {
  return { principal: (req as IncomingMessage & { user: AccessGrant }).user.principal };
}

/** Merges path values over the body or query, adds the member token header, and validates. */
function parse<S extends z.ZodType>(
  schema: S,
  req: IncomingMessage,
  source: unknown,
  path: object = {},
): z.output<S> {
  const base =
    typeof source === 'object' && source !== null && !Array.isArray(source) ? source : {};
  const token = req.headers['x-member-token'];
  const memberToken = typeof token === 'string' && token ? { member_token: token } : {};
  const input = { ...memberToken, ...base, ...path };
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new InvalidRequestError(describeInputError(parsed.error, input));
  return parsed.data;
}

/** Query strings carry numbers as text; whole decimal numbers become numbers, anything else stays for zod to reject. */
function numbers(query: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = query[key];
    if (typeof value === 'string' && /^-?\d+$/.test(value)) out[key] = Number(value);
  }
  return out;
}

/** Aborts when the response closes, so a long poll stops when its client goes away. */
function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}
