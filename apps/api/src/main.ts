import { randomBytes } from 'node:crypto';
import { startRuntime } from '@taskplane/core';
import { createApiServer } from './server';
import { startServices } from './services';

/** The API process: GraphQL over HTTP and WebSocket, REST, health and metrics on one port. */
const runtime = await startRuntime('api', process.env, 'producer');
const { config, logger } = runtime;
let bootstrapToken = config.auth.bootstrap_token;
if (config.mode === 'development' && !bootstrapToken) {
  bootstrapToken = `tp_dev_${randomBytes(18).toString('base64url')}`;
  logger.warn(
    { token: bootstrapToken },
    'development mode: generated a bootstrap admin token (set auth.bootstrap_token to fix it)',
  );
}
const services = await startServices(
  runtime,
  config.mode === 'development' || config.auth.bootstrap_token ? bootstrapToken : null,
);
const server = createApiServer(services, logger);
const url = await server.listen(config.api.port, config.api.host);
runtime.onShutdown(async () => {
  await server.close();
  await services.stop();
});
logger.info({ url: `${url}/graphql`, mode: config.mode }, 'api listening');
