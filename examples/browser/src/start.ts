// `pnpm --filter @x/browser-demo start`: serves the built page and prints where to open it.
import { parseArgs } from 'node:util';
import { startStaticServer } from './serve.js';

const USAGE = `usage: xinfer-browser-demo [--port N] [--host ADDRESS] [--no-isolation]

  --port N          TCP port (default 8080; 0 picks a free one)
  --host ADDRESS    interface to bind (default 127.0.0.1)
  --no-isolation    leave out the COOP/COEP headers: the page is not cross-origin isolated, so the
                    CPU executor runs on one thread (to compare)`;

function main(): Promise<void> | undefined {
  let values: { port?: string; host?: string; 'no-isolation'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'no-isolation': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer from 0 to 65535, got ${values.port}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const isolated = !values['no-isolation'];
  return startStaticServer({ isolated, port, host: values.host }).then((server) => {
    const url = server.url.replace('//0.0.0.0:', '//localhost:').replace('//[::]:', '//localhost:');
    console.log(`xinfer browser demo: open ${url}`);
    console.log(
      isolated
        ? '  cross-origin isolated (COOP/COEP sent): the CPU executor runs on Web Workers'
        : '  not cross-origin isolated (--no-isolation): the CPU executor runs on one thread',
    );
    console.log(`  e.g. ${url}?executor=cpu&threads=4 or ${url}?executor=webgpu; Ctrl-C stops`);
    const stop = () => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main()?.catch((error: unknown) => {
  console.error(`xinfer browser demo: ${(error as Error).message ?? error}`);
  process.exitCode = 1;
});
