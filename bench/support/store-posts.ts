import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TENANT_ID } from '#auth';
import type { ChannelId, PrincipalId, SlotId } from '#core';
import { Database, TypeOrmChannelStore } from '#persistence';
import { runClosedLoops } from './timed-loop.js';
import type { LoopOptions, LoopResult } from './timed-loop.js';

/**
 * Posts/s of the store alone (`appendMessage`, the statement post_message commits), one channel
 * and one pooled connection per writer. Not a DESIGN budget: it splits the gap between the MCP
 * post rate and raw INSERTs into the database part and the request part.
 */
export async function storeAppendRate(
  databaseUrl: string,
  writers: number,
  options: LoopOptions,
): Promise<LoopResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mp-bench-store-'));
  const database = await Database.open({ url: databaseUrl, dataDir, poolSize: writers });
  try {
    const store = new TypeOrmChannelStore(database);
    const channels = await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        const { channel } = await store.createChannel(DEFAULT_TENANT_ID, {
          id: `chn_store${writer}_${Date.now()}` as ChannelId,
          name: 'store bench',
          createdBy: 'prn_bench' as PrincipalId,
          slots: [
            {
              slotId: 's0' as SlotId,
              kind: 'invite',
              label: 'a',
              admin: false,
              inviteHash: null,
              botId: null,
            },
          ],
          bots: [],
          messages: [],
          events: [],
        });
        return channel.id;
      }),
    );
    let n = 0;
    return await runClosedLoops(
      writers,
      async (writer) => {
        await store.appendMessage(DEFAULT_TENANT_ID, channels[writer] as ChannelId, {
          sender: 'member:s0',
          kind: 'user',
          body: { text: `hello ${(n += 1)}` },
          toSlot: null,
        });
      },
      options,
    );
  } finally {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
