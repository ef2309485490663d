"""Batch re-processing (``docref-nlp reprocess``): sources, sinks, checkpoint, executors, cost."""
