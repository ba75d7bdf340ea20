import pg from 'pg';
import { runClosedLoops } from './timed-loop.js';
import type { LoopOptions, LoopResult } from './timed-loop.js';

/**
 * The baseline for posting: single-row INSERTs of a small jsonb body through the `pg` driver,
 * one connection per writer, on the same PostgreSQL server as the API (DESIGN §10).
 */
export async function rawInsertRate(
  databaseUrl: string,
  writers: number,
  options: LoopOptions,
): Promise<LoopResult> {
  const clients = Array.from(
    { length: writers },
    () => new pg.Client({ connectionString: databaseUrl }),
  );
  await Promise.all(clients.map((client) => client.connect()));
  try {
    await clients[0]?.query(
      `CREATE TABLE IF NOT EXISTS bench_raw_messages (
         id bigserial PRIMARY KEY,
         channel_id text NOT NULL,
         body jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now())`,
    );
    let n = 0;
    return await runClosedLoops(
      writers,
      async (writer) => {
        await clients[writer]?.query(
          'INSERT INTO bench_raw_messages (channel_id, body) VALUES ($1, $2::jsonb)',
          [`chn_${writer}`, JSON.stringify({ text: `hello ${(n += 1)}` })],
        );
      },
      options,
    );
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}
