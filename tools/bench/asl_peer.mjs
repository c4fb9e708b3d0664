// Runs an ASL definition with aws-local-stepfunctions and prints its output as JSON.
//   node asl_peer.mjs DEFINITION.json [INPUT_JSON]
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const definition = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const input = process.argv[3] ? JSON.parse(process.argv[3]) : {};
const sm = new StateMachine(definition, { validationOptions: { checkPaths: false } });
const execution = sm.run(input);
const output = await execution.result;
process.stdout.write(JSON.stringify(output) + '\n');
