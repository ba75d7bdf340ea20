// GuessBot: a number-guessing referee. This file is the exact source that runs in the sandbox
// and whose SHA-256 is published as the bot's code_hash, so players can verify the referee.
//
// Fairness: on init the bot commits to sha256("<target>|<nonce>") and reveals both at the end,
// so anyone can check the target was fixed before the first guess.

const HELP = ['!status: your private view of the game', '!help: this list'];

export default class GuessBot {
  static manifest = {
    name: 'GuessBot',
    version: '1.0',
    summary: 'Number guessing referee',
    hooks: ['on_init', 'on_join', 'on_message'],
    emits: ['prompt', 'state', 'turn', 'judge'],
    params: { mode: 'number', range: [1, 100] },
  };

  constructor(ctx, params) {
    this.ctx = ctx;
    this.range = Array.isArray(params?.range) ? params.range : [1, 100];
    this.mode = params?.mode ?? 'number';
  }

  onInit() {
    const [lo, hi] = this.range;
    const target = this.ctx.random.int(lo, hi);
    const nonce = this.ctx.random.hex(16);
    const commit = this.ctx.sha256(`${target}|${nonce}`);
    const state = {
      target,
      nonce,
      commit,
      players: [],
      labels: {},
      game_started: false,
      game_ended: false,
      turn_index: 0,
      turn_number: 0,
      guess_count: 0,
    };
    this.ctx.setState(state);
    this.ctx.post('bot', {
      type: 'prompt',
      text: `Guess the number between ${lo} and ${hi}!`,
      mode: this.mode,
      range: [lo, hi],
    });
    this.ctx.post('control', {
      type: 'bot:commit',
      commit,
      message: 'sha256("<target>|<nonce>"), revealed when the game ends',
    });
    this.ctx.post('control', { type: 'bot:state', public_state: this.publicState(state) });
  }

  onJoin(member) {
    const state = this.ctx.getState();
    if (state.game_ended || state.players.includes(member.slot_id)) return;
    state.players.push(member.slot_id);
    state.labels[member.slot_id] = member.label;
    this.ctx.post('bot', {
      type: 'player_joined',
      player: member.slot_id,
      player_count: state.players.length,
    });
    if (!state.game_started && state.players.length >= 2) {
      state.game_started = true;
      state.turn_index = 0;
      state.turn_number = 1;
      this.ctx.post('bot', {
        type: 'game_start',
        players: [...state.players],
        turn_order: [...state.players],
      });
      this.announceTurn(state);
    }
    this.ctx.setState(state);
  }

  onMessage(msg) {
    const player = msg.from?.slot_id;
    const text = typeof msg.body?.text === 'string' ? msg.body.text : '';
    if (!player || msg.kind !== 'user') return;
    const state = this.ctx.getState();
    if (state.game_ended) return;
    const conceding = /\bconcede\b/i.test(text);
    const digits = text.match(/\d+/g);
    if (!conceding && !digits) return;

    if (!state.game_started)
      return this.violation('GAME_NOT_STARTED', 'Wait for a second player.', player);
    if (!state.players.includes(player))
      return this.violation('BAD_MOVE', 'Only players may guess.', player);
    if (conceding) return this.finish(state, this.opponentOf(state, player), 'concede');

    const current = state.players[state.turn_index];
    if (player !== current) {
      return this.violation('BAD_TURN', `It is ${current}'s turn, not ${player}'s.`, player);
    }
    const guess = Number(digits[digits.length - 1]);
    const [lo, hi] = this.range;
    if (guess < lo || guess > hi) {
      return this.violation('BAD_MOVE', `Guess a number between ${lo} and ${hi}.`, player);
    }

    state.guess_count += 1;
    if (guess === state.target) {
      this.ctx.post('bot', {
        type: 'judge',
        result: 'correct',
        player,
        guess,
        guess_count: state.guess_count,
      });
      return this.finish(state, player, 'correct');
    }
    this.ctx.post('bot', {
      type: 'judge',
      result: guess > state.target ? 'high' : 'low',
      player,
      guess,
      hint: hintFor(Math.abs(guess - state.target)),
      guess_count: state.guess_count,
    });
    state.turn_index = (state.turn_index + 1) % state.players.length;
    state.turn_number += 1;
    this.announceTurn(state);
    this.ctx.setState(state);
  }

  onPrivateMessage(member, msg) {
    const command = String(msg?.text ?? '').trim();
    const state = this.ctx.getState();
    if (command === '!status') {
      this.ctx.dm(member, 'private', {
        type: 'status',
        you: member.slot_id,
        your_turn:
          state.game_started &&
          !state.game_ended &&
          state.players[state.turn_index] === member.slot_id,
        ...this.publicState(state),
      });
    } else if (command === '!help') {
      this.ctx.dm(member, 'private', { type: 'help', commands: HELP });
    } else {
      this.ctx.dm(member, 'private', {
        type: 'error',
        text: `Unknown command: ${command.slice(0, 100)}`,
      });
    }
  }

  announceTurn(state) {
    this.ctx.post('control', {
      type: 'bot:turn',
      player: state.players[state.turn_index],
      turn_number: state.turn_number,
    });
  }

  violation(reason, details, player) {
    this.ctx.post('control', { type: 'violation', reason, details, player });
  }

  opponentOf(state, player) {
    return state.players.find((p) => p !== player) ?? null;
  }

  finish(state, winner, reason) {
    state.game_ended = true;
    const verified = this.ctx.sha256(`${state.target}|${state.nonce}`) === state.commit;
    this.ctx.post('control', {
      type: 'bot:reveal',
      target: state.target,
      nonce: state.nonce,
      commit: state.commit,
      verified,
    });
    this.ctx.post('bot', {
      type: 'game_end',
      winner,
      reason,
      target: state.target,
      total_guesses: state.guess_count,
      players: [...state.players],
    });
    this.ctx.post('system', { type: 'end' });
    this.ctx.setState(state);
  }

  publicState(state) {
    return {
      mode: this.mode,
      range: [...this.range],
      players: [...state.players],
      player_count: state.players.length,
      game_started: state.game_started,
      game_ended: state.game_ended,
      current_turn:
        state.game_started && !state.game_ended ? state.players[state.turn_index] : null,
      guess_count: state.guess_count,
    };
  }
}

function hintFor(distance) {
  if (distance <= 5) return 'very close!';
  if (distance <= 10) return 'close';
  if (distance <= 20) return 'getting warm';
  return 'cold';
}
