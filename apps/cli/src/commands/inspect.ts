// `onnx-audit inspect MODEL`: what a model takes and gives, what it is made of, whether it ends in
// Softmax (attacks and metrics then use the logits before it) and whether every op on it can be
// differentiated, naming the nodes that cannot.
import { Command } from 'commander';

import { formatInspection, inspectModel, readModel } from '@onnx-audit/onnx';

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('show a model\'s inputs, outputs, opsets, ops, parameters, classes and gradient support')
    .argument('<model>', 'an .onnx file (external data is read from beside it)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  onnx-audit inspect model.onnx\n  onnx-audit inspect model.onnx --json')
    .action(async (path: string, options: { json?: boolean }) => {
      const report = inspectModel(await readModel(path));
      console.log(options.json ? JSON.stringify(report, null, 2) : formatInspection(report));
    });
}
