/** The operator CLI: `npx keyrotor <command>` (see `npx keyrotor --help`). */
import { main } from './cli/commands';

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (status) => {
    process.exitCode = status;
  },
  () => {
    process.exitCode = 1;
  },
);
