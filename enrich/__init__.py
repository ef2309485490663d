"""Pure enrichment: DocumentReference + NlpResult -> aws-cm extensions, generated resources, index rows."""
