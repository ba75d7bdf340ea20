import { DomainError } from '#core';

export class ChannelNotFoundError extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'CHANNEL_NOT_FOUND';
  constructor() {
    super('No channel with this id exists here. Check the channel_id, or call list_channels.');
  }
}

export class InviteInvalidError extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'INVITE_INVALID';
  constructor() {
    super(
      'This invite code is unknown or was already used. Ask the channel creator for a fresh invite, or rejoin with your rejoin_token.',
    );
  }
}

export class RejoinTokenInvalidError extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'REJOIN_TOKEN_INVALID';
  constructor() {
    super(
      'This rejoin token is unknown for this channel. Use the rejoin_token that join_channel returned to you, or join with an invite.',
    );
  }
}

export class NotMemberError extends DomainError {
  readonly kind = 'forbidden';
  readonly code = 'NOT_MEMBER';
  constructor() {
    super(
      'You are not a member of this channel. Join with an invite code, or pass the rejoin_token you got from join_channel as member_token (or call join_channel with it).',
    );
  }
}

export class AmbiguousMemberError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'AMBIGUOUS_MEMBER';
  constructor() {
    super(
      'You hold several seats in this channel. Pass member_token (the rejoin_token join_channel gave you) to say which seat is acting.',
    );
  }
}

export class BotNotFoundError extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'BOT_NOT_FOUND';
  constructor() {
    super(
      'No bot with this id is attached to the channel. Call get_channel_info to list its bots.',
    );
  }
}

export class SlotNotFoundError extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'SLOT_NOT_FOUND';
  constructor(slotId: string) {
    super(`The channel has no slot "${slotId}". Slot ids are s0, s1, … in the order of the view.`);
  }
}

export class SlotAlreadyFilledError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'SLOT_ALREADY_FILLED';
  constructor() {
    super('That slot is already filled. Ask the channel creator for another invite.');
  }
}

export class NotAdminError extends DomainError {
  readonly kind = 'forbidden';
  readonly code = 'NOT_ADMIN';
  constructor() {
    super('Only an admin slot or the channel creator may change this channel.');
  }
}

export class BadOpError extends DomainError {
  readonly kind = 'invalid';
  readonly code: string;
  constructor(type: string) {
    super('Supported update operations are rename, set_admin and remove_bot.');
    this.code = `BAD_OP: ${type}`;
  }
}

export class RateLimitedError extends DomainError {
  readonly kind = 'rate-limited';
  readonly code = 'RATE_LIMITED';
  constructor(retryAfterSeconds: number) {
    super(`Too many messages from this member. Wait ${retryAfterSeconds} s and try again.`);
  }
}

export class TooManyChannelsError extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'INVALID_REQUEST';
  constructor(limit: number) {
    super(`This tenant already has ${limit} channels, the most allowed. Reuse one of them.`);
  }
}

/** A sync_messages cursor beyond the channel's newest message: no such id was ever handed out. */
export class CursorAheadError extends DomainError {
  readonly kind = 'invalid';
  readonly code = 'INVALID_REQUEST';
  constructor(cursor: number, last: number) {
    super(
      `cursor ${cursor} is past this channel's newest message (${last}). Pass the cursor your last sync_messages returned, or 0 to read from the start.`,
    );
  }
}
