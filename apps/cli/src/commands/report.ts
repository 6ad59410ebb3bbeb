// `onnx-audit report`: renders a saved results.json again as the HTML report, without
// recomputing anything (after an upgrade of the report, or to restyle an old audit).
import { readFile } from 'node:fs/promises';

import { Command } from 'commander';

import { writeFileAtomic } from '@onnx-audit/onnx';
import { type AuditResults, renderReport, RESULTS_SCHEMA } from '@onnx-audit/report';

import { UserError } from '../errors.js';

export function reportCommand(): Command {
  return new Command('report')
    .description('render the HTML report of a results.json written by `onnx-audit audit`')
    .argument('<results>', 'the results.json')
    .requiredOption('--out <file>', 'where to write the report (.html)')
    .option('--json', 'print { "out": FILE } instead of a line')
    .addHelpText('after', '\nExample:\n  onnx-audit report audit/results.json --out audit/report.html')
    .action(async (file: string, o: { out: string; json?: boolean }) => {
      let results: AuditResults;
      try {
        results = JSON.parse(await readFile(file, 'utf8')) as AuditResults;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
        throw new UserError(`${file}: not JSON; pass the results.json an audit wrote`);
      }
      if (results?.schema !== RESULTS_SCHEMA) throw new UserError(`${file}: not onnx-audit results (schema ${JSON.stringify(results?.schema ?? null)}, expected "${RESULTS_SCHEMA}"); pass the results.json an audit wrote`);
      await writeFileAtomic(o.out, new TextEncoder().encode(await renderReport(results)));
      console.log(o.json ? JSON.stringify({ out: o.out }) : `wrote ${o.out}`);
    });
}
