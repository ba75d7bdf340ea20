import { healthCheckInput, healthCheckResult } from '#channels';
import { defineTool } from '../tool.js';

export const healthCheckTool = defineTool({
  name: 'health_check',
  title: 'Health check',
  description: 'Check that the multiplayer server is up. Returns a line with the server time.',
  input: healthCheckInput,
  output: healthCheckResult,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run: () =>
    Promise.resolve({ result: `Multiplayer server healthy at ${new Date().toISOString()}` }),
  text: (result) => result.result,
});
